"""The daily views a sync keeps, ``cost_by_project_day`` and ``tokens_by_model_day``: on SQLite
and on PostgreSQL they sum exactly to their tables (money digit for digit, never through a
float), name projects from the directory without losing a project it does not know, read
one bucket width, and follow the table's grouping and the prefix. And the name columns the
API leaves empty are not kept in the costs table, nor left behind in an old one."""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import Emulator
from usage_async.focus import focus_number
from usage_async.sync import _schema, _store, open_engine

from .conftest import DAY, NOW, client_for, snapshot, table_rows
from .revising_server import serve_revising

SINCE = NOW - 4 * DAY
EXACT = decimal.Context(prec=decimal.MAX_PREC)  # sums in the default context round
TOKENS = ("input_tokens", "output_tokens", "input_cached_tokens", "num_model_requests")


def day_of(value: Any) -> str:
    """A bucket's start or a view's day as ``YYYY-MM-DD``, whatever the database gave."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def sums(rows: Iterable[dict[str, Any]], keys: tuple[str, ...], values: tuple[str, ...]) -> Any:
    """Exact sums of ``values`` by ``keys`` (the day from ``start_time``); None stays None
    where every value of a group is None, as SQL's SUM."""
    out: dict[tuple[Any, ...], dict[str, Decimal | None]] = {}
    for row in rows:
        key = tuple(day_of(row["start_time"]) if k == "day" else row.get(k) for k in keys)
        total = out.setdefault(key, dict.fromkeys(values))
        for name in values:
            if row[name] is not None:
                total[name] = EXACT.add(total[name] or Decimal(0), Decimal(str(row[name])))
    return out


def viewed(rows: Iterable[dict[str, Any]], keys: tuple[str, ...], values: tuple[str, ...]) -> Any:
    """A view's rows in the shape of ``sums``; each key must be there once."""
    out: dict[tuple[Any, ...], dict[str, Decimal | None]] = {}
    for row in rows:
        key = tuple(day_of(row["day"]) if k == "day" else row[k] for k in keys)
        assert key not in out, f"{key} is in the view twice"
        out[key] = {n: None if row[n] is None else Decimal(str(row[n])) for n in values}
    return out


async def names(database: str, prefix: str = "") -> dict[tuple[str, str], str]:
    return {
        (p["source"], p["id"]): p["name"] for p in await table_rows(database, f"{prefix}projects")
    }


async def test_the_daily_views_sum_exactly_to_their_tables_with_the_directorys_names(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["completions", "costs"])
    # A project the directory no longer knows still counts, with no name.
    engine = open_engine(database)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("DELETE FROM projects WHERE id = (SELECT min(id) FROM projects)")
        )
    await engine.dispose()
    named = await names(database)
    assert named

    costs = await table_rows(database, "costs")
    keys = ("day", "source", "project_id", "line_item", "currency")
    expected = sums(costs, keys, ("amount",))
    rows = await table_rows(database, "cost_by_project_day")
    assert list(rows[0]) == [
        "day", "source", "project_id", "project_name", "line_item", "currency", "amount"
    ]  # fmt: skip
    assert viewed(rows, keys, ("amount",)) == expected
    assert {(r["project_id"], r["project_name"]) for r in rows} == {
        (r["project_id"], named.get((r["source"], r["project_id"]))) for r in costs
    }
    assert None in {r["project_name"] for r in rows}  # the project deleted above

    completions = await table_rows(database, "completions")
    keys = ("day", "source", "project_id", "model")
    rows = await table_rows(database, "tokens_by_model_day")
    assert list(rows[0]) == ["day", "source", "project_id", "project_name", "model", *TOKENS]
    # Hourly buckets, daily rows: a day is the sum of its hours.
    assert len({r["start_time"] for r in completions}) > 12 * len({r["day"] for r in rows})
    assert viewed(rows, keys, TOKENS) == sums(completions, keys, TOKENS)
    assert all(isinstance(r[name], int) for r in rows for name in TOKENS if r[name] is not None)


async def test_the_day_is_a_date_on_postgresql_and_iso_text_on_sqlite(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["completions", "costs"])
    for view in ("cost_by_project_day", "tokens_by_model_day"):
        days = {r["day"] for r in await table_rows(database, view)}
        if database.startswith("sqlite"):
            assert all(isinstance(d, str) and len(d) == 10 for d in days), days
        else:
            assert all(type(d) is dt.date for d in days), days
        first = dt.datetime.fromtimestamp(SINCE - SINCE % DAY, dt.UTC).date()
        assert sorted(day_of(d) for d in days) == [
            (first + dt.timedelta(days=n)).isoformat() for n in range(5)
        ]


# Amounts a float sum gets wrong, of every sign and of 36 decimal places.
AMOUNTS = (
    "0.1",
    "0.2",
    "-0.000000000000000000000000000000000001",
    "12345678901.123456789012345678901234",
    "-5",
    "0.000000000000000000000000000000000009",
    "-0.7",
)


@pytest.mark.parametrize("amounts", [AMOUNTS, AMOUNTS[2:3], ("-0.1", "0.1"), ("-2", "0.25")])
async def test_money_sums_exactly_where_floats_would_not(
    database: str, amounts: tuple[str, ...]
) -> None:
    now = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
    today = now - now % DAY
    async with serve_revising(now) as server, client_for(server) as client:
        # Several costs of one project in every bucket: one row of the view sums them all.
        server.stray_costs = [
            {
                "object": "organization.costs.result",
                "amount": {"value": amount, "currency": "usd"},
                "project_id": "proj_a",
            }
            for amount in amounts
        ]
        await ua.sync(
            client, database, since=today - 2 * DAY, endpoints=["costs"],
            group_by=["project_id"], directory=False,
        )  # fmt: skip
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, Decimal(amount))
    rows = await table_rows(database, "cost_by_project_day")
    assert len(rows) == 3  # two whole days and today so far
    for row in rows:
        assert Decimal(str(row["amount"])) == total
        if database.startswith("sqlite"):  # the table's own text for money
            assert row["amount"] == focus_number(total)


async def test_a_view_follows_the_tables_grouping_prefix_and_width(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(
            client, database, since=SINCE, endpoints=["completions"], group_by=["model"],
            prefix="x_",
        )  # fmt: skip
    completions = await table_rows(database, "x_completions")
    # A row of another width, as an older version could leave beside the hourly ones.
    engine = open_engine(database)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO x_completions (source, bucket_width, start_time, end_time, model, "
                "input_tokens, output_tokens, num_model_requests) SELECT source, '1d', "
                "start_time, end_time, model, input_tokens, output_tokens, num_model_requests "
                "FROM x_completions"
            )
        )
    await engine.dispose()
    rows = await table_rows(database, "x_tokens_by_model_day")
    assert {(r["project_id"], r["project_name"]) for r in rows} == {(None, None)}
    keys = ("day", "source", "model")
    assert viewed(rows, keys, TOKENS) == sums(completions, keys, TOKENS)
    tables = await snapshot(database)
    assert "tokens_by_model_day" not in tables
    assert "x_cost_by_project_day" not in tables  # no costs table, no view of it


async def test_costs_keep_no_name_column_the_api_leaves_empty_not_even_an_old_table(
    emulator: Emulator, database: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    async with client_for(emulator) as client:
        with monkeypatch.context() as before:  # the costs table as the previous version made it
            before.setattr(_schema, "NOT_STORED", frozenset())
            before.setattr(_store, "NOT_STORED", frozenset())
            meanings = {"project_name": "name", "user_email": "email"}
            before.setattr(_schema, "FIELD_MEANINGS", {**_schema.FIELD_MEANINGS, **meanings})
            await ua.sync(client, database, since=SINCE, endpoints=["costs"], prefix="old_")
        old = await table_rows(database, "old_costs")
        assert {"project_name", "user_email"} <= set(old[0])
        with caplog.at_level(logging.WARNING, logger="usage_async"):
            await ua.sync(client, database, since=SINCE, endpoints=["costs"], prefix="old_")
        await ua.sync(client, database, since=SINCE, endpoints=["costs"], prefix="new_")
    assert "old_costs: dropped the columns project_name, user_email" in caplog.text
    for prefix in ("old_", "new_"):
        rows = await table_rows(database, f"{prefix}costs")
        assert not {"project_name", "user_email"} & set(rows[0]), prefix
        assert len(await table_rows(database, f"{prefix}focus")) == len(rows)
    assert len(rows) == len(old)


def recipes() -> list[str]:
    """The SQL of the sync page's recipes that run on SQLite and PostgreSQL (not DuckDB's)."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text()
    section = page.split("\n## SQL recipes\n")[1].split("\n## ")[0]
    return [q for q in re.findall(r"```sql\n(.*?)```", section, re.DOTALL) if "ATTACH" not in q]


async def test_the_pages_sql_recipes_run_on_both_databases_and_add_up(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["completions", "costs"])
    queries = recipes()
    assert len(queries) == 3
    assert all("bucket_width" in q or "_day" in q for q in queries)  # no trap for the reader
    engine = open_engine(database)
    async with engine.connect() as conn:
        results = [[tuple(row) for row in await conn.execute(sa.text(q))] for q in queries]
    await engine.dispose()
    by_project, by_model, busiest = results
    costs = sum(Decimal(str(r["amount"])) for r in await table_rows(database, "costs"))
    total = sum(Decimal(str(usd)) for *_, usd in by_project)
    assert abs(total - costs) < Decimal("1e-6")  # SQLite's SUM of text goes through floats
    if not database.startswith("sqlite"):
        assert total == costs
    completions = await table_rows(database, "completions")
    assert sum(row[2] for row in by_model) == sum(r["input_tokens"] for r in completions)
    assert len(busiest) == 5
