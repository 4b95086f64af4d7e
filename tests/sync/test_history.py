"""History grows backwards: a ``since`` before a table's first bucket reads and adds just the
older range, in the same transactional way (a run that dies halfway leaves no gap), says so
in one line, and leaves the state where it was."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import Emulator
from usage_async.sync import open_engine

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
from .revising_server import serve_revising

HOUR = 3600
ENDPOINTS = ["completions", "costs"]


def hour_of(seconds: int) -> int:
    return seconds - seconds % HOUR


async def test_an_earlier_since_adds_just_the_older_range_and_says_so(
    emulator: Emulator, database: str
) -> None:
    told: list[str] = []
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=dt.timedelta(days=3), endpoints=ENDPOINTS)
        state = await table_rows(database, "sync_state")
        firsts = {
            t: min(plain(r["start_time"]) for r in await table_rows(database, t)) for t in ENDPOINTS
        }
        report = await ua.sync(
            client, database, since=dt.timedelta(days=10), endpoints=ENDPOINTS,
            on_notice=told.append,
        )  # fmt: skip
        await ua.sync(client, database, since=NOW - 10 * DAY, endpoints=ENDPOINTS, prefix="clean_")
    start = hour_of(NOW - 10 * DAY)
    assert told == [
        f"completions: adding {iso(start)}..{firsts['completions']} before the first bucket",
        f"costs: adding {iso(start - start % DAY)[:10]}..{firsts['costs'][:10]} before the "
        "first bucket",
    ]
    tables = await snapshot(database)
    for name in (*ENDPOINTS, "focus", "projects"):
        if name in tables:
            assert tables[name] == tables[f"clean_{name}"], name
    # The state is the one the first run left (the clock stands still here), but that the
    # reading now begins at the earlier since.
    began = {"completions": start, "costs": start - start % DAY}
    moved = [{**row, "read_from": iso(began[row["endpoint"]])} for row in state]
    assert [
        {**row, "read_from": plain(row["read_from"])}
        for row in await table_rows(database, "sync_state", "ORDER BY endpoint")
    ] == sorted(moved, key=lambda row: row["endpoint"])
    # Only the older range and the unsettled buckets were read: not the whole table again.
    rows = await table_rows(database, "completions")
    settled = plain(state[[r["endpoint"] for r in state].index("completions")]["settled_until"])
    older = [r for r in rows if plain(r["start_time"]) < firsts["completions"]]
    fresh = [r for r in rows if plain(r["start_time"]) >= settled]
    assert older
    assert report.rows["completions"] == len(older) + len(fresh) < len(rows)


async def test_a_since_the_table_already_reaches_adds_nothing(
    emulator: Emulator, sqlite_database: str
) -> None:
    told: list[str] = []
    async with client_for(emulator) as client:
        await ua.sync(client, sqlite_database, since=dt.timedelta(days=5), endpoints=ENDPOINTS)
        before = await snapshot(sqlite_database)
        await ua.sync(
            client, sqlite_database, since=dt.timedelta(days=4), endpoints=ENDPOINTS,
            on_notice=told.append,
        )  # fmt: skip
        await ua.sync(client, sqlite_database, endpoints=ENDPOINTS, on_notice=told.append)
    assert told == []
    assert await snapshot(sqlite_database) == before


async def test_a_run_that_dies_in_the_older_range_leaves_no_gap_and_the_next_one_finishes(
    database: str,
) -> None:
    async with serve_revising(NOW) as server, client_for(server) as client:
        for hour in range(hour_of(NOW - 20 * DAY), NOW, HOUR):
            server.usage[(hour, "gpt-4o", "proj_a")] = hour // HOUR % 97 + 1
        options = {"endpoints": ["completions"], "group_by": ["model"], "directory": False}
        await ua.sync(client, database, since=dt.timedelta(days=2), **options)
        server.refuse_before = NOW - 12 * DAY  # the run dies 10 days back
        with pytest.raises(ua.SyncError):
            await ua.sync(client, database, since=dt.timedelta(days=20), **options)
        hours = sorted(plain(r["start_time"]) for r in await table_rows(database, "completions"))
        assert hours[0] < iso(NOW - 3 * DAY)  # some of the older range was added...
        assert hours == [iso(h) for h in range(hour_of(NOW) - (len(hours) - 1) * HOUR, NOW, HOUR)]
        server.refuse_before = None  # ...with no gap, and the next run adds the rest
        await ua.sync(client, database, since=dt.timedelta(days=20), **options)
        expected = await api_rows(
            client, "completions", start_time=hour_of(NOW - 20 * DAY), end_time=NOW,
            bucket_width="1h", group_by=["model"],
        )  # fmt: skip
    assert await table_as_api_rows(database, "completions") == expected
    assert len(expected) == len(range(hour_of(NOW - 20 * DAY), NOW, HOUR))  # every hour


async def test_the_empty_range_before_the_first_row_is_read_once_not_on_every_run(
    database: str,
) -> None:
    # Completions used only in the last two days, costs never: the first run read the ten
    # days of since and found little. The next runs with the same since (a cron line, or
    # --every) read only what is not settled, and say nothing of history.
    told: list[str] = []
    async with serve_revising(NOW) as server, client_for(server) as client:
        for hour in range(hour_of(NOW - 2 * DAY), NOW, HOUR):
            server.usage[(hour, "gpt-4o", "proj_a")] = 5
        options: dict[str, Any] = {
            "endpoints": ENDPOINTS, "group_by": ["model"], "directory": False,
            "on_notice": told.append,
        }  # fmt: skip
        await ua.sync(client, database, since=dt.timedelta(days=10), **options)
        first_run = len(server.requests)
        await ua.sync(client, database, since=dt.timedelta(days=10), **options)
        await ua.sync(client, database, since=NOW - 10 * DAY, **options)
        again = server.requests[first_run:]
        # An earlier since still adds the older range, and only that.
        await ua.sync(client, database, since=dt.timedelta(days=12), **options)
        older = server.requests[first_run + len(again) :]
    assert told == [
        f"completions: adding {iso(hour_of(NOW - 12 * DAY))}..{iso(hour_of(NOW - 10 * DAY))} "
        "before the first bucket",
        f"costs: adding {iso(NOW - 12 * DAY)[:10]}..{iso(NOW - 10 * DAY)[:10]} before the "
        "first bucket",
    ]
    # What the runs read, the server's clock (one bucket, at since: passed) aside.
    read = [int(query["start_time"]) for _, query in again if query["limit"] != "1"]
    assert read
    assert min(read) >= NOW - 3 * DAY
    assert min(int(query["start_time"]) for _, query in older) < NOW - 10 * DAY


async def test_a_state_an_older_version_wrote_learns_where_its_reading_began_once(
    database: str,
) -> None:
    # An older version's sync_state has no read_from: the next run adds the column, judges
    # by the first row instead (once more reading the empty range before it), and records
    # where the reading began, so the run after reads nothing of history.
    told: list[str] = []
    async with serve_revising(NOW) as server, client_for(server) as client:
        for hour in range(hour_of(NOW - 2 * DAY), NOW, HOUR):
            server.usage[(hour, "gpt-4o", "proj_a")] = 5
        options: dict[str, Any] = {
            "endpoints": ["completions"], "group_by": ["model"], "directory": False,
            "since": dt.timedelta(days=10), "on_notice": told.append,
        }  # fmt: skip
        await ua.sync(client, database, **options)
        engine = open_engine(database)
        try:
            async with engine.begin() as conn:
                await conn.exec_driver_sql("ALTER TABLE sync_state DROP COLUMN read_from")
        finally:
            await engine.dispose()
        await ua.sync(client, database, **options)
        await ua.sync(client, database, **options)
    first = hour_of(NOW - 2 * DAY)
    assert told == [
        f"completions: adding {iso(hour_of(NOW - 10 * DAY))}..{iso(first)} before the first bucket"
    ]
    (state,) = await table_rows(database, "sync_state")
    assert plain(state["read_from"]) == iso(hour_of(NOW - 10 * DAY))
