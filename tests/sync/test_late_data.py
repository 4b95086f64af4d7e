"""Late data, against the emulator's ``LateData``: usage revised for hours after its bucket
closes, costs that appear hours after their day and are revised again.

Pin the clock, sync, move the clock on a day (every number is final by then), sync again,
and compare the tables row by row, digit for digit, with the final data pulled straight
from the API: with ``settle`` covering the revision window they are equal; with
``settle=0`` exactly the buckets that were still being revised at the first run keep the
numbers read then, short of the final ones, and every other row is final.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import Emulator, LateData, serve

from .conftest import DAY, NOW, api_rows, client_for, iso, table_as_api_rows

HOUR = 3600
LATE = LateData(usage_settles_after=2 * HOUR, costs_delay=2 * HOUR, costs_settles_after=6 * HOUR)
ENDPOINTS = ["completions", "costs"]
SINCE = NOW - 3 * DAY
LATER = NOW + DAY  # every bucket read at NOW is final by then

Row = tuple[tuple[str, Any], ...]


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def late_emulator(clock: Clock) -> AsyncIterator[Emulator]:
    async with serve(port=0, now=clock, late=LATE) as emu:
        yield emu


async def run(emu: Emulator, database: str, settle: Any) -> ua.SyncReport:
    async with client_for(emu) as client:
        return await ua.sync(
            client, database, since=SINCE, endpoints=ENDPOINTS, settle=settle, directory=False
        )


async def api_now(emu: Emulator, endpoint: str) -> list[Row]:
    """What the API serves for the synced range at ``LATER``, as table rows."""
    spec = ua.ENDPOINTS[endpoint]
    grid = DAY if spec.whole_days else HOUR
    async with client_for(emu) as client:
        return await api_rows(
            client,
            endpoint,
            start_time=SINCE - SINCE % grid,
            end_time=LATER,
            bucket_width="1d" if spec.whole_days else "1h",
            group_by=list(spec.group_by),
        )


def by_bucket(rows: list[Row]) -> dict[Any, list[Row]]:
    buckets: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        buckets[dict(row)["start_time"]].append(row)
    return dict(buckets)


def unsettled_usage_hours(as_of: int) -> set[str]:
    """The hours (as the tables print them) whose usage was still growing at ``as_of``:
    closed less than ``usage_settles_after`` ago, or in progress."""
    first = LATE.first_unsettled_hour(as_of) * HOUR
    return {iso(hour) for hour in range(first, as_of, HOUR)}


async def test_a_settle_window_covering_the_revisions_gives_the_final_data_row_by_row(
    late_emulator: Emulator, clock: Clock, database: str
) -> None:
    await run(late_emulator, database, dt.timedelta(days=2))
    clock.now = LATER
    await run(late_emulator, database, dt.timedelta(days=2))
    for endpoint in ENDPOINTS:
        final = await api_now(late_emulator, endpoint)
        assert final, endpoint
        assert await table_as_api_rows(database, endpoint) == final, endpoint


async def test_with_settle_0_exactly_the_buckets_under_revision_keep_their_first_numbers(
    late_emulator: Emulator, clock: Clock, database: str
) -> None:
    await run(late_emulator, database, 0)
    read_then = by_bucket(await table_as_api_rows(database, "completions"))
    clock.now = LATER
    await run(late_emulator, database, 0)
    kept = by_bucket(await table_as_api_rows(database, "completions"))
    final = by_bucket(await api_now(late_emulator, "completions"))
    # The hour in progress at NOW is read again (the run starts at its bucket); the hours
    # closed before it but not yet final are behind settled_until=NOW and are not.
    in_progress = unsettled_usage_hours(NOW + 1) - unsettled_usage_hours(NOW - NOW % HOUR)
    stale = unsettled_usage_hours(NOW) - in_progress
    assert len(stale) == 2  # 11:00 and 12:00 at 13:25, with two hours of revision
    assert set(kept) == set(final)
    for start, rows in final.items():
        if start in stale:
            assert kept[start] == read_then[start], start  # the numbers read at NOW
            assert kept[start] != rows, start  # which were not final
        else:
            assert kept[start] == rows, start


def metrics(row: Row) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in row if isinstance(v, int | Decimal) and k != "start_time"}


def keys(row: Row) -> Row:
    """What names a row across reads: its bucket's start and its grouping (the bucket in
    progress ends at the server's now, so its ``end_time`` moves)."""
    return tuple(
        (k, v)
        for k, v in row
        if k != "end_time" and (not isinstance(v, int | Decimal) or k == "start_time")
    )


async def test_revised_numbers_only_grow_into_the_final_ones(
    late_emulator: Emulator, clock: Clock, database: str
) -> None:
    """The first read of the last hours is short of the final numbers, never above them;
    the next run, with the default settle, replaces them with the final ones; the costs of
    the day in progress appear only later."""
    await run(late_emulator, database, None)
    first = {keys(row): metrics(row) for row in await table_as_api_rows(database, "completions")}
    first_costs = await table_as_api_rows(database, "costs")
    clock.now = LATER
    await run(late_emulator, database, None)
    final = {keys(row): metrics(row) for row in await api_now(late_emulator, "completions")}
    assert await table_as_api_rows(database, "completions") == await api_now(
        late_emulator, "completions"
    )
    short = 0
    for key, numbers in first.items():
        assert key in final, key  # a row once read stays a row
        assert numbers.keys() == final[key].keys()
        assert all(numbers[m] <= final[key][m] for m in numbers), key
        short += numbers != final[key]
    assert short > 0  # some numbers were revised after the first read
    revised_hours = {dict(key)["start_time"] for key in first if first[key] != final[key]}
    assert revised_hours <= unsettled_usage_hours(NOW)
    final_costs = await api_now(late_emulator, "costs")
    assert await table_as_api_rows(database, "costs") == final_costs
    today = iso(NOW - NOW % DAY)
    assert today not in by_bucket(first_costs)  # nothing of the day in progress at NOW
    assert today in by_bucket(final_costs)
