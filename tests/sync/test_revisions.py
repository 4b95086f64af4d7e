"""Late data: numbers that change after a bucket closed, and groups that vanish.

A run re-reads every bucket younger than ``settle`` and replaces it whole; older buckets are
final and not read again (that is what settling means). Served by a tiny server whose
numbers the test changes between two runs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import usage_async as ua

from .conftest import DAY, client_for, iso, plain, table_rows
from .revising_server import serve_revising

HOUR = 3600
NOW = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
TODAY = NOW - NOW % DAY
SINCE = TODAY - 6 * DAY


async def usage_table(database: str) -> dict[tuple[str, str, str], int]:
    return {
        (plain(r["start_time"]), r["model"], r["project_id"]): r["input_tokens"]
        for r in await table_rows(database, "completions")
    }


async def costs_table(database: str) -> dict[tuple[str, str], Decimal]:
    return {
        (plain(r["start_time"]), r["project_id"]): Decimal(str(r["amount"]))
        for r in await table_rows(database, "costs")
    }


async def test_revised_numbers_and_vanished_groups_in_the_settle_window_are_replaced(
    database: str,
) -> None:
    old_hour = TODAY - 4 * DAY + 5 * HOUR  # settled after the first run
    recent_hour = NOW - 3 * HOUR - NOW % HOUR  # inside the two-day settle window
    async with serve_revising(NOW) as server, client_for(server) as client:
        server.usage.update(
            {
                (old_hour, "gpt-4o", "proj_a"): 100,
                (recent_hour, "gpt-4o", "proj_a"): 10,
                (recent_hour, "o3", "proj_b"): 20,
            }
        )
        server.costs.update(
            {
                (TODAY - 4 * DAY, "proj_a"): Decimal("1.50"),
                (TODAY - DAY, "proj_a"): Decimal("0.000004500000000000000000000000000000000"),
                (TODAY - DAY, "proj_b"): Decimal("2.25"),
            }
        )
        options = {
            "since": SINCE,
            "endpoints": ["completions", "costs"],
            "group_by": ["model", "project_id"],
        }
        await ua.sync(client, database, **options)
        assert await usage_table(database) == {
            (iso(old_hour), "gpt-4o", "proj_a"): 100,
            (iso(recent_hour), "gpt-4o", "proj_a"): 10,
            (iso(recent_hour), "o3", "proj_b"): 20,
        }
        assert await costs_table(database) == {
            (iso(TODAY - 4 * DAY), "proj_a"): Decimal("1.5"),
            (iso(TODAY - DAY), "proj_a"): Decimal("0.0000045"),
            (iso(TODAY - DAY), "proj_b"): Decimal("2.25"),
        }

        # The API revises: a recent number grows, a recent group vanishes, a cost arrives
        # late, and an old, settled bucket changes too.
        server.usage[(recent_hour, "gpt-4o", "proj_a")] = 15
        del server.usage[(recent_hour, "o3", "proj_b")]
        del server.costs[(TODAY - DAY, "proj_b")]
        server.costs[(TODAY, "proj_b")] = Decimal("0.10")
        server.usage[(old_hour, "gpt-4o", "proj_a")] = 999
        server.now = NOW + HOUR
        await ua.sync(client, database, **options)

    assert await usage_table(database) == {
        (iso(old_hour), "gpt-4o", "proj_a"): 100,  # settled: not read again
        (iso(recent_hour), "gpt-4o", "proj_a"): 15,
    }
    assert await costs_table(database) == {
        (iso(TODAY - 4 * DAY), "proj_a"): Decimal("1.5"),
        (iso(TODAY - DAY), "proj_a"): Decimal("0.0000045"),
        (iso(TODAY), "proj_b"): Decimal("0.1"),
    }


async def test_a_partial_last_bucket_is_replaced_by_the_whole_bucket_on_the_next_run(
    sqlite_database: str,
) -> None:
    hour = NOW - NOW % HOUR
    async with serve_revising(NOW) as server, client_for(server) as client:
        server.usage[(hour, "gpt-4o", "proj_a")] = 7
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["completions"])
        rows = await table_rows(sqlite_database, "completions")
        assert [(r["start_time"], r["end_time"]) for r in rows] == [(iso(hour), iso(NOW))]
        server.now = hour + 2 * HOUR
        await ua.sync(client, sqlite_database, endpoints=["completions"])
    rows = await table_rows(sqlite_database, "completions")
    assert [(r["start_time"], r["end_time"]) for r in rows] == [(iso(hour), iso(hour + HOUR))]
