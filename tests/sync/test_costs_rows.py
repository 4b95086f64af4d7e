"""What the costs table keeps: the organization the API names on each row, every digit of the
money, and nothing for a result that cannot be typed (counted and logged instead)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator
from usage_async.sync import open_engine

from .conftest import DAY, NOW, client_for, iso, plain, table_rows
from .revising_server import serve_revising

SINCE = NOW - 5 * DAY


async def test_costs_rows_keep_the_organization_the_api_names(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
    rows = await table_rows(database, "costs")
    assert rows
    assert {r["organization_id"] for r in rows} == {ORGANIZATION.id}
    assert {r["organization_name"] for r in rows} == {ORGANIZATION.name}


async def test_a_costs_table_from_before_gains_the_columns_and_one_run_fills_them(
    emulator: Emulator, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
        engine = open_engine(database)
        async with engine.begin() as conn:  # the table as the previous version made it
            await conn.execute(sa.text("DROP VIEW focus"))
            for column in ("organization_id", "organization_name"):
                await conn.execute(sa.text(f"ALTER TABLE costs DROP COLUMN {column}"))
        await engine.dispose()
        # A warning, so the command line says it: this run takes as long as the first.
        with caplog.at_level(logging.WARNING, logger="usage_async"):
            await ua.sync(client, database, since=SINCE, endpoints=["costs"])
    rows = await table_rows(database, "costs")
    settled = NOW - 2 * DAY
    settled -= settled % DAY
    assert [r for r in rows if plain(r["start_time"]) < iso(settled)]  # settled before
    assert {r["organization_id"] for r in rows} == {ORGANIZATION.id}  # and filled now
    assert {r["organization_name"] for r in rows} == {ORGANIZATION.name}
    assert "costs gained the columns organization_id, organization_name" in caplog.text
    [state] = await table_rows(database, "sync_state")
    assert plain(state["settled_until"]) == iso(settled)  # and settled again


async def test_results_that_cannot_be_typed_are_counted_logged_and_not_written(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
    today = now - now % DAY
    async with serve_revising(now) as server, client_for(server) as client:
        server.costs[(today - DAY, "proj_a")] = Decimal("0.000004500000000000000000000000000000000")
        server.stray_costs = [
            {"object": "organization.costs.result", "line_item": "no amount"},
            {"object": "organization.costs.adjustment", "amount": {"value": "-1.00"}},
        ]
        with caplog.at_level(logging.WARNING, logger="usage_async"):
            report = await ua.sync(
                client,
                database,
                since=today - 3 * DAY,
                endpoints=["costs"],
                group_by=["project_id"],
                directory=False,
            )
    rows = await table_rows(database, "costs")
    assert [(r["project_id"], Decimal(str(r["amount"]))) for r in rows] == [
        ("proj_a", Decimal("0.0000045"))
    ]
    [table] = report.tables
    buckets = 4  # three whole days and today so far
    assert table.skipped == 2 * buckets
    assert "8 results skipped" in report.summary()
    assert caplog.text.count("skipping a result in costs") == 2 * buckets
    assert "a cost with no amount" in caplog.text
    assert "organization.costs.adjustment" in caplog.text


async def test_money_keeps_every_digit_in_the_table_the_view_and_the_export(database: str) -> None:
    """An amount of 35 significant digits (Decimal's default context keeps 28) reads back as
    the API's text from the costs table, the focus view and ``focus_rows``."""
    sent = "1234567890.1234567890123456789012345"
    now = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
    day = now - now % DAY - DAY
    async with serve_revising(now) as server, client_for(server) as client:
        server.costs[(day, "proj_a")] = Decimal(sent)
        await ua.sync(
            client, database, since=day, endpoints=["costs"], group_by=["project_id"],
            directory=False,
        )  # fmt: skip
        export = ua.focus_rows(
            client.costs(start_time=day, group_by=["project_id"]), billing_account_id="org-1"
        )
        [exported] = [row async for row in export]
    [stored] = await table_rows(database, "costs")
    [viewed] = await table_rows(database, "focus")
    assert str(stored["amount"]) == sent
    assert str(viewed["BilledCost"]) == sent
    assert str(exported["BilledCost"]) == sent
    assert ua.focus.focus_number(exported["BilledCost"]) == sent
    assert [str(total) for total in export.summary.billed.values()] == [sent]
