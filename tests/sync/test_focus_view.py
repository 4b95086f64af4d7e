"""The ``focus`` view a sync keeps beside its ``costs`` table: on SQLite and on PostgreSQL its
rows are ``focus_rows``' rows for the same costs, cell for cell, and its billed totals are
the sum of the table's amounts, digit for digit."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator
from usage_async.focus import FOCUS_COLUMNS, focus_number
from usage_async.sync import GroupingChangedError, open_engine

from .conftest import DAY, NOW, client_for, plain, table_rows
from .revising_server import serve_revising

SINCE = NOW - 40 * DAY  # 2026-01-29: three billing months
FIRST_DAY = SINCE - SINCE % DAY
COSTS = ua.ENDPOINTS["costs"]
KINDS = {column.name: column.type for column in FOCUS_COLUMNS}
SYNC_PAGE = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text()


EXACT = decimal.Context(prec=decimal.MAX_PREC)  # sums in the default context round


def cell(name: str, value: Any) -> Any:
    """A view's or an export's value as a user compares them: times as ISO-8601 UTC text,
    numbers as FOCUS number text (every digit, no trailing zeros)."""
    if value is None:
        return None
    if KINDS[name] == "DateTime":
        return plain(value) if isinstance(value, dt.datetime) else value
    if KINDS[name] == "Decimal":
        return focus_number(Decimal(str(value)))
    return value


def add(sums: dict[Any, Decimal], key: Any, value: Any) -> None:
    sums[key] = EXACT.add(sums.get(key, Decimal(0)), Decimal(str(value)))


def comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(cell(c.name, row[c.name]) for c in FOCUS_COLUMNS) for row in rows), key=repr
    )


async def view_rows(database: str, view: str = "focus") -> list[dict[str, Any]]:
    rows = await table_rows(database, view)
    assert rows, "the view is empty"
    assert list(rows[0]) == [column.name for column in FOCUS_COLUMNS]
    return rows


async def test_the_view_gives_the_exported_rows_and_totals(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
        export = ua.focus_rows(
            client.costs(start_time=FIRST_DAY, end_time=NOW, group_by=list(COSTS.group_by)),
            directory=await client.directory(),
        )
        written = [row async for row in export]
    viewed = await view_rows(database)
    assert comparable(viewed) == comparable(written)
    # SubAccountName comes from the directory table the sync keeps: it is there.
    assert {r["SubAccountName"] for r in viewed} >= {p.name for p in ORGANIZATION.projects[:2]}
    assert {r["BillingAccountId"] for r in viewed} == {ORGANIZATION.id}

    # Billed cost per (billing account, period, currency) is the costs table's amounts, to
    # the last digit: summed by the database where it sums exactly, here where it does not.
    amounts: dict[tuple[str, str, str], Decimal] = {}
    for row in await table_rows(database, "costs"):
        month = plain(row["start_time"])[:7] + "-01T00:00:00Z"
        add(amounts, (row["organization_id"], month, row["currency"].upper()), row["amount"])
    billed: dict[tuple[str, str, str], Decimal] = {}
    for row in viewed:
        key = (row["BillingAccountId"], cell("BillingPeriodStart", row["BillingPeriodStart"]))
        add(billed, (*key, row["BillingCurrency"]), row["BilledCost"])
    assert len(billed) == 3  # January, February, March
    # Digit for digit: compared as text, which a lost digit changes.
    texts = {k: focus_number(v) for k, v in amounts.items()}
    assert {k: focus_number(v) for k, v in billed.items()} == texts
    assert {tuple(k): focus_number(v) for k, v in export.summary.billed.items()} == texts
    if database.startswith("postgresql"):
        engine = open_engine(database)
        async with engine.connect() as conn:
            in_sql = await conn.execute(
                sa.text(
                    'SELECT "BillingAccountId", "BillingPeriodStart", "BillingCurrency", '
                    'SUM("BilledCost") FROM focus GROUP BY 1, 2, 3'
                )
            )
            summed = {(a, plain(p), c): total for a, p, c, total in in_sql}
        await engine.dispose()
        assert {k: focus_number(v) for k, v in summed.items()} == texts


async def test_the_view_follows_the_grouping_the_costs_table_has(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(
            client, database, since=SINCE, endpoints=["costs"], group_by=["line_item"], prefix="x_"
        )
        export = ua.focus_rows(
            client.costs(start_time=FIRST_DAY, end_time=NOW, group_by=["line_item"]),
            directory=await client.directory(),
        )
        written = [row async for row in export]
    viewed = await view_rows(database, "x_focus")
    assert comparable(viewed) == comparable(written)
    assert {r["SubAccountId"] for r in viewed} == {None}  # not grouped by project


async def test_units_and_fields_the_emulator_never_sends_come_out_as_exported(
    database: str,
) -> None:
    now = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
    today = now - now % DAY

    def cost(value: str, **fields: Any) -> dict[str, Any]:
        return {"object": "organization.costs.result", "amount": {"value": value}, **fields}

    # The revising server's own rows carry no organization: the view takes the one the
    # source was synced as, the client's, as focus_rows does.
    async with serve_revising(now) as server, client_for(server, organization="org-1") as client:
        server.costs[(today - DAY, "proj_a")] = Decimal("0.000004500000000000000000000000000000000")
        server.stray_costs = [
            cost("1.25", quantity="2.5", quantity_unit="gibibyte_hours", organization_id="org-1"),
            cost("2", quantity=3, quantity_unit="widget_units", organization_id="org-1"),
            cost("0.5", quantity=1, quantity_unit="  odd__unit\tname ", organization_id="org-1"),
            cost("0.75", quantity=7, organization_id="org-1"),  # a quantity without a unit
            cost("0.1", quantity_unit="tokens", organization_id="org-1"),  # a unit without one
            cost(
                "9.99",
                currency="eur",
                line_item="",
                project_id="proj_named",
                organization_id="org-2",
                organization_name="Second Org",
            ),
        ]
        server.stray_costs[-1]["amount"]["currency"] = "eur"
        await ua.sync(
            client,
            database,
            since=today - 3 * DAY,
            endpoints=["costs"],
            group_by=["project_id"],
            directory=False,
        )
        written = [
            row
            async for row in ua.focus_rows(
                client.costs(start_time=today - 3 * DAY, end_time=now, group_by=["project_id"])
            )
        ]
    viewed = await view_rows(database)
    assert comparable(viewed) == comparable(written)
    assert {r["BillingAccountId"] for r in viewed} == {"org-1", "org-2"}
    units = {(r["x_QuantityUnit"], r["ConsumedUnit"]) for r in viewed}
    assert ("gibibyte_hours", "GiB-Hours") in units
    assert ("widget_units", "Widget Units") in units
    assert ("  odd__unit\tname ", "Odd Unit Name") in units
    named = {
        (r["SubAccountName"], r["BillingAccountName"], r["BillingCurrency"], r["ChargeDescription"])
        for r in viewed
        if r["BillingAccountId"] == "org-2"
    }
    # Names come from the directory (here none was read), not from the costs table.
    assert named == {(None, "Second Org", "EUR", None)}


async def test_each_source_bills_its_own_organization_and_none_is_made_up(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    now = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
    day = now - now % DAY - DAY
    options: dict[str, Any] = {"since": day, "endpoints": ["costs"], "directory": False}
    async with serve_revising(now) as server:
        server.costs[(day, "proj_a")] = Decimal("1.5")
        async with client_for(server, organization="org-acme") as client:
            await ua.sync(client, database, source="acme", **options)
        async with client_for(server) as client:  # no organization known
            await ua.sync(client, database, source="globex", **options)
            await ua.sync(client, database, source="acme", **options)  # keeps org-acme
    accounts = sorted((r["BillingAccountId"] or "") for r in await view_rows(database))
    assert accounts == ["", "org-acme"]  # one cost per source


async def test_there_is_no_view_without_a_costs_table_and_it_is_replaced_each_run(
    emulator: Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["embeddings"])
        engine = open_engine(sqlite_database)
        async with engine.connect() as conn:
            views = await conn.run_sync(lambda c: sa.inspect(c).get_view_names())
        assert views == []
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["costs"])
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP VIEW focus"))
            await conn.execute(sa.text("CREATE VIEW focus AS SELECT 1 AS stale"))
        # A run of other endpoints still puts the view back as the costs table needs it.
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["embeddings"])
        await engine.dispose()
    assert len(await view_rows(sqlite_database)) == len(await table_rows(sqlite_database, "costs"))


async def test_a_run_that_changes_nothing_leaves_the_view_to_its_readers(
    emulator: Emulator, database: str
) -> None:
    """Replacing a view locks it exclusively on PostgreSQL: a dashboard mid-query stalled the
    run (and the run every dashboard), every --every period. Unchanged, the view is kept."""
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
        if database.startswith("sqlite"):
            path = database.removeprefix("sqlite:///")
            before = schema_version(path)
            await ua.sync(client, database, endpoints=["costs"])
            assert schema_version(path) == before  # SQLite counts every schema change
        else:
            engine = open_engine(database)
            async with engine.begin() as conn:  # a run that waits for a lock fails instead
                name = engine.url.database
                await conn.execute(sa.text(f"ALTER DATABASE {name} SET lock_timeout = '2s'"))
            async with engine.connect() as dashboard:
                # A dashboard's query, its transaction still open: it holds a lock on the view.
                await dashboard.execute(sa.text("SELECT count(*) FROM focus"))
                await ua.sync(client, database, endpoints=["costs"])
                await dashboard.rollback()
            await engine.dispose()
    assert len(await view_rows(database)) == len(await table_rows(database, "costs"))


def schema_version(path: str) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        version: int = conn.execute("PRAGMA schema_version").fetchone()[0]
        return version


def readme_query(dialect: str) -> str:
    section = SYNC_PAGE.split("\n## The focus view\n")[1].split("\n## ")[0]
    queries = [q for q in re.findall(r"```sql\n(.*?)```", section, re.DOTALL) if "focus" in q]
    [query] = [q for q in queries if ("::date" in q) == (dialect == "postgresql")]
    return query


async def test_the_readmes_focus_queries_run_and_add_up_to_the_costs(
    emulator: Emulator, database: str
) -> None:
    dialect = database.split(":")[0]
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
    engine = open_engine(database)
    async with engine.connect() as conn:
        result = [tuple(row) for row in await conn.execute(sa.text(readme_query(dialect)))]
    await engine.dispose()
    costs = await table_rows(database, "costs")
    total = sum(Decimal(str(r["amount"])) for r in costs)
    if dialect == "postgresql":
        names = {p.name for p in ORGANIZATION.projects}
        assert {project for _, project, _, _ in result} & names
        assert sum(billed for *_, billed in result) == total  # NUMERIC: exact
        assert len({month for month, *_ in result}) == 3
    else:
        assert {month for month, _, _ in result} == {"2026-01", "2026-02", "2026-03"}
        assert abs(Decimal(sum(billed for *_, billed in result)) - total) < Decimal("1e-6")


async def test_a_regrouped_costs_table_is_rebuilt_by_the_statements_the_refusal_gives(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
        with pytest.raises(GroupingChangedError) as refused:
            await ua.sync(client, database, endpoints=["costs"], group_by=["line_item"])
        statements = re.findall(r"DROP [A-Z ]+ \w+;", str(refused.value))
        assert statements == [
            "DROP VIEW IF EXISTS focus;",
            "DROP VIEW IF EXISTS cost_by_project_day;",
            "DROP TABLE costs;",
        ]
        engine = open_engine(database)
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
        await engine.dispose()
        await ua.sync(client, database, since=SINCE, endpoints=["costs"], group_by=["line_item"])
    viewed = await view_rows(database)
    assert len(viewed) == len(await table_rows(database, "costs"))
    assert {r["SubAccountId"] for r in viewed} == {None}
