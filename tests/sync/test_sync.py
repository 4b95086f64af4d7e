"""``ua.sync`` against the emulator, into SQLite and into a real PostgreSQL.

The emulator's clock is pinned months away from the machine's: a sync must read to the
server's now, never to the local clock, and give exactly what a direct pull gives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Faults, serve
from usage_async.sync import GroupingChangedError, open_engine, write_directory

from .conftest import (
    DAY,
    NOW,
    api_rows,
    client_for,
    iso,
    plain,
    snapshot,
    table_as_api_rows,
    table_rows,
)

HOUR = 3600
SYNC_PAGE = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text()
SINCE = NOW - 5 * DAY
FIRST_HOUR = SINCE - SINCE % HOUR
FIRST_DAY = SINCE - SINCE % DAY


async def test_every_table_holds_exactly_what_a_direct_pull_to_the_servers_now_returns(
    emulator: ua.emulator.Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        report = await ua.sync(client, database, since=SINCE)
        assert report.server_now == dt.datetime.fromtimestamp(NOW, dt.UTC)
        assert set(report.rows) == set(ua.ENDPOINTS)
        for name, endpoint in ua.ENDPOINTS.items():
            width = "1d" if endpoint.whole_days else "1h"
            start = FIRST_DAY if endpoint.whole_days else FIRST_HOUR
            expected = await api_rows(
                client,
                name,
                start_time=start,
                end_time=NOW,
                bucket_width=width,
                group_by=list(endpoint.group_by),
            )
            assert expected, name
            assert await table_as_api_rows(database, name) == expected, name
            assert report.rows[name] == len(expected)


async def test_a_second_run_on_unchanged_data_leaves_every_table_identical(
    emulator: ua.emulator.Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE)
        first = await snapshot(database)
        report = await ua.sync(client, database, since=SINCE)
    assert await snapshot(database) == first
    # The second run re-read only the unsettled two days, not the five.
    assert report.tables[0].start == dt.datetime.fromtimestamp(
        (NOW - 2 * DAY) - (NOW - 2 * DAY) % HOUR, dt.UTC
    )


async def test_the_state_settles_two_days_behind_the_servers_now_on_bucket_boundaries(
    emulator: ua.emulator.Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["completions", "costs"])
    state = {row["endpoint"]: row for row in await table_rows(database, "sync_state")}
    settled = NOW - 2 * DAY
    assert plain(state["completions"]["settled_until"]) == iso(settled - settled % HOUR)
    assert plain(state["costs"]["settled_until"]) == iso(settled - settled % DAY)
    assert plain(state["completions"]["synced_until"]) == iso(NOW)
    assert state["completions"]["group_by"] == ",".join(ua.ENDPOINTS["completions"].group_by)
    assert state["costs"]["bucket_width"] == "1d"


async def test_settle_can_differ_per_endpoint(
    emulator: ua.emulator.Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(
            client,
            database,
            since=SINCE,
            endpoints=["completions", "costs"],
            settle={"default": dt.timedelta(hours=6), "costs": 3 * DAY},
        )
    state = {row["endpoint"]: row for row in await table_rows(database, "sync_state")}
    assert plain(state["completions"]["settled_until"]) == iso(NOW - 6 * HOUR - NOW % HOUR)
    settled = NOW - 3 * DAY
    assert plain(state["costs"]["settled_until"]) == iso(settled - settled % DAY)


async def test_429s_5xx_and_dropped_connections_change_nothing_in_the_tables(
    database: str, tmp_path: object
) -> None:
    async with serve(port=0, now=lambda: NOW) as clean, client_for(clean) as client:
        await ua.sync(client, database, since=SINCE, prefix="clean_", concurrency=6)
    faults = Faults(rate_limit=0.15, server_error=0.15, disconnect=0.05, seed=7, retry_after_ms=1)
    async with serve(port=0, now=lambda: NOW, faults=faults) as faulty:
        async with client_for(faulty, max_retries=10) as client:
            await ua.sync(client, database, since=SINCE, prefix="faulty_", concurrency=6)
        assert sum(faulty.stats.faults.values()) >= 5
    clean_tables = await snapshot(database, prefix="clean_")
    faulty_tables = await snapshot(database, prefix="faulty_")
    assert list(faulty_tables.values()) == list(clean_tables.values())


async def test_costs_grouped_by_key_are_read_without_the_key_before_2025_12_06(
    database: str,
) -> None:
    now = int(dt.datetime(2025, 12, 10, 8, tzinfo=dt.UTC).timestamp())
    since = int(dt.datetime(2025, 12, 1, tzinfo=dt.UTC).timestamp())
    cut = "2025-12-06T00:00:00Z"
    async with serve(port=0, now=lambda: now) as emu, client_for(emu) as client:
        await ua.sync(client, database, since=since, endpoints=["costs"])
        ungrouped = await ua.totals(client.costs(start_time=since, end_time=now))
    rows = await table_rows(database, "costs")
    early = [r for r in rows if plain(r["start_time"]) < cut]
    late = [r for r in rows if plain(r["start_time"]) >= cut]
    assert early
    assert late
    assert all(r["api_key_id"] is None for r in early)
    assert any(r["api_key_id"] is not None for r in late)
    total = sum(Decimal(str(r["amount"])) for r in rows)
    assert total == ungrouped[("usd",)]["amount"]


async def test_a_changed_grouping_is_refused_and_nothing_is_written(
    emulator: ua.emulator.Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["completions", "embeddings"])
        before = await snapshot(database)
        with pytest.raises(GroupingChangedError) as refused:
            await ua.sync(
                client, database, endpoints=["completions", "embeddings"], group_by=["model"]
            )
    message = str(refused.value)
    assert "completions is grouped by project_id" in message
    assert "DROP VIEW IF EXISTS tokens_by_model_day; DROP TABLE completions;" in message
    assert "--prefix" in message
    assert await snapshot(database) == before


async def test_a_dropped_table_is_rebuilt_from_since_with_the_new_grouping(
    emulator: ua.emulator.Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["embeddings"])
        engine = open_engine(database)
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE embeddings"))
        await engine.dispose()
        await ua.sync(client, database, since=SINCE, endpoints=["embeddings"], group_by=["model"])
        expected = await api_rows(
            client,
            "embeddings",
            start_time=FIRST_HOUR,
            end_time=NOW,
            bucket_width="1h",
            group_by=["model"],
        )
    assert await table_as_api_rows(database, "embeddings") == expected


async def test_fields_an_endpoint_does_not_offer_are_left_out_for_it(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(
            client,
            sqlite_database,
            since=SINCE,
            endpoints=["vector_stores", "images", "costs"],
            group_by=["model", "source", "line_item"],
        )
        with pytest.raises(ua.InvalidParameterError, match="modle"):
            await ua.sync(client, sqlite_database, group_by=["modle"])
    images = await table_rows(sqlite_database, "images", "LIMIT 1")
    assert {"model", "image_source", "source"} <= set(images[0])
    assert images[0]["source"] == "default"
    stores = await table_rows(sqlite_database, "vector_stores", "LIMIT 1")
    assert "project_id" not in stores[0]
    costs = await table_rows(sqlite_database, "costs", "LIMIT 1")
    assert "line_item" in costs[0]
    assert "project_id" not in costs[0]


async def test_a_run_takes_the_write_lock_once_for_the_schema_and_once_for_the_directory(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    engine = open_engine(sqlite_database)
    statements: list[str] = []

    def executed(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    async with client_for(emulator) as client:
        await ua.sync(client, engine, since=SINCE, endpoints=["costs"])
        sa.event.listen(engine.sync_engine, "before_cursor_execute", executed)
        await ua.sync(client, engine, endpoints=["costs"])
    await engine.dispose()
    # The pages' own transactions go through the driver; what SQLAlchemy runs is the
    # schema check and the directory's upsert: no second pass over the directory's tables.
    assert statements.count("BEGIN IMMEDIATE") == 2


async def test_endpoints_given_as_one_string_are_a_comma_separated_list(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        report = await ua.sync(
            client, sqlite_database, since=SINCE, endpoints="costs, embeddings", directory=False
        )
        with pytest.raises(ua.InvalidParameterError, match="'chat'") as refused:
            await ua.sync(client, sqlite_database, endpoints="costs,chat")
    assert [t.table for t in report.tables] == ["costs", "embeddings"]
    assert refused.value.param == "endpoints"


@pytest.mark.parametrize("prefix", ["Acme_", "acme-", "1acme_", "acme_ "])
async def test_a_prefix_sql_would_need_quotes_for_is_refused_before_anything_is_made(
    emulator: ua.emulator.Emulator, database: str, prefix: str
) -> None:
    async with client_for(emulator) as client:
        with pytest.raises(ua.InvalidParameterError, match="lower-case") as refused:
            await ua.sync(client, database, since=SINCE, endpoints=["costs"], prefix=prefix)
    assert refused.value.param == "prefix"
    assert await snapshot(database) == {}


async def test_daily_buckets_start_at_utc_midnight_in_tables_of_their_own(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["completions"])
        await ua.sync(
            client, sqlite_database, since=SINCE, endpoints=["completions"], bucket_width="1d",
            prefix="d_",
        )  # fmt: skip
        daily = await api_rows(
            client,
            "completions",
            start_time=FIRST_DAY,
            end_time=NOW,
            bucket_width="1d",
            group_by=list(ua.ENDPOINTS["completions"].group_by),
        )
    assert await table_as_api_rows(sqlite_database, "d_completions") == daily
    for prefix, width in (("", "1h"), ("d_", "1d")):
        state = await table_rows(sqlite_database, f"{prefix}sync_state")
        assert {r["bucket_width"] for r in state} == {width}
        rows = await table_rows(sqlite_database, f"{prefix}completions")
        assert {r["bucket_width"] for r in rows} == {width}


async def test_cancelling_a_sync_lets_the_transaction_in_progress_commit(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    engine = open_engine(sqlite_database)
    loop = asyncio.get_running_loop()
    run: asyncio.Future[ua.SyncReport] | None = None

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        # The first connection taken once the tables exist is for a page's write, which is
        # about to begin its transaction: cancel the run now.
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'p_sync_state'")
        (exists,) = cursor.fetchone()
        cursor.close()
        if run is not None and not run.cancelled() and exists:
            loop.call_soon_threadsafe(run.cancel)

    async with client_for(emulator) as client:
        run = asyncio.ensure_future(
            ua.sync(
                client,
                engine,
                since=SINCE,
                endpoints=["completions"],
                prefix="p_",
                directory=False,  # so the first write once the tables exist is a page's
            )
        )
        with pytest.raises(asyncio.CancelledError):
            await run
    await engine.dispose()
    # The page whose transaction had begun is committed, with the state that describes it.
    rows = await table_rows(sqlite_database, "p_completions")
    state = await table_rows(sqlite_database, "p_sync_state")
    assert rows
    assert len(state) == 1
    assert plain(state[0]["settled_until"]) <= max(plain(r["end_time"]) for r in rows)


async def test_directory_tables_give_names_to_a_cost_per_project_join(
    emulator: ua.emulator.Emulator, database: str
) -> None:

    projects = [
        {"id": p.id, "name": p.name, "status": "active", "created_at": 1_700_000_000}
        for p in ORGANIZATION.projects
    ]
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
    written = await write_directory(database, projects=projects, users=ORGANIZATION.users)
    assert written == {
        "projects": len(ORGANIZATION.projects),
        "users": len(ORGANIZATION.users),
        "api_keys": 0,
    }
    # A project that disappears from the directory keeps its name for old usage.
    await write_directory(database, projects=projects[:1])
    engine = open_engine(database)
    query = sa.text(
        "SELECT p.name, SUM(CAST(c.amount AS NUMERIC)) AS usd FROM costs c "
        "JOIN projects p ON p.source = c.source AND p.id = c.project_id GROUP BY p.name"
    )
    async with engine.connect() as conn:
        by_name = {row.name: row.usd for row in await conn.execute(query)}
    await engine.dispose()
    # Every project with costs is named, the one still in the directory and the others.
    name_of = {p.id: p.name for p in ORGANIZATION.projects}
    billed = {r["project_id"] for r in await table_rows(database, "costs")}
    assert set(by_name) == {name_of[p] for p in billed if p is not None}
    assert len(by_name) >= 3


def test_ua_sync_is_the_function_even_after_the_package_is_imported() -> None:
    code = (
        "import inspect, usage_async as ua\n"
        "from usage_async.sync import SyncReport\n"
        "import usage_async.cli._sync\n"
        "assert callable(ua.sync) and ua.SyncReport is SyncReport\n"
        "assert inspect.iscoroutine(c := ua.sync(None, 'sqlite://'))\n"
        "c.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


async def test_the_readmes_cost_per_project_query_runs_on_postgresql(
    emulator: ua.emulator.Emulator, postgresql_database: str
) -> None:
    from usage_async.emulator import ORGANIZATION

    database = postgresql_database
    section = SYNC_PAGE.split("\n## SQL recipes\n")[1]
    query = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)[0]
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
    await write_directory(database, projects=ORGANIZATION.projects)
    engine = open_engine(database)
    async with engine.connect() as conn:
        result = [tuple(row) for row in await conn.execute(sa.text(query))]
    await engine.dispose()
    names = {p.name for p in ORGANIZATION.projects}
    assert {project for _, project, _ in result} & names
    total = sum((usd for _, _, usd in result), Decimal(0))
    rows = await table_rows(database, "costs")
    assert total == sum(Decimal(str(r["amount"])) for r in rows)
    assert len({day for day, _, _ in result}) == 6


async def test_each_run_refreshes_the_directory_tables_from_the_api(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(
            client, sqlite_database, since=SINCE, endpoints=["completions"], progress=True
        )
    keys = await table_rows(sqlite_database, "api_keys")
    assert {k["id"] for k in keys} == {k.id for k in ORGANIZATION.api_keys}
    assert {k["owner_type"] for k in keys} == {"user", "service_account"}
    by_id = {k["id"]: k for k in keys}
    for key in ORGANIZATION.api_keys:
        assert by_id[key.id]["name"] == key.name
        assert by_id[key.id]["project_id"] == key.project_id
    assert {k["source"] for k in keys} == {"default"}
    users = await table_rows(sqlite_database, "users")
    assert {u["email"] for u in users} == {u.email for u in ORGANIZATION.users}
    projects = await table_rows(sqlite_database, "projects")
    assert {p["name"] for p in projects} == {p.name for p in ORGANIZATION.projects}
    assert {p["status"] for p in projects} == {"active", "archived"}


async def test_directory_false_leaves_the_directory_tables_alone(
    emulator: ua.emulator.Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["costs"], directory=False)
        served = emulator.stats.by_endpoint.copy()
    assert served["costs"] > 0
    assert not {"projects", "users"} & set(served)
    assert await table_rows(sqlite_database, "projects") == []
