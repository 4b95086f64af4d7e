"""Late data, against the emulator's ``LateData``: usage revised for hours after its bucket
closes, costs that appear hours after their day and are revised again.

Pin the clock, sync, move the clock on, sync again: with ``settle`` covering the revision
window the database equals one fresh pull of the final data; with ``settle=0`` it keeps the
numbers it read before they were final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import Emulator, LateData, serve

from .conftest import DAY, NOW, client_for, snapshot

LATE = LateData(usage_settles_after=2 * 3600, costs_delay=2 * 3600, costs_settles_after=6 * 3600)
ENDPOINTS = ["completions", "costs"]
SINCE = NOW - 3 * DAY


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


async def run(emu: Emulator, database: str, settle: Any, prefix: str) -> ua.SyncReport:
    async with client_for(emu) as client:
        return await ua.sync(
            client,
            database,
            since=SINCE,
            endpoints=ENDPOINTS,
            settle=settle,
            prefix=prefix,
            directory=False,
        )


@pytest.mark.parametrize(("settle", "equal"), [(dt.timedelta(days=2), True), (0, False)])
async def test_a_settle_window_covering_the_revisions_gives_the_final_data(
    late_emulator: Emulator, clock: Clock, database: str, settle: Any, equal: bool
) -> None:
    await run(late_emulator, database, settle, "kept_")
    clock.now = NOW + DAY  # every bucket read before is final now
    await run(late_emulator, database, settle, "kept_")
    await run(late_emulator, database, settle, "fresh_")  # one pull, at the new now
    kept = await snapshot(database, prefix="kept_")
    fresh = await snapshot(database, prefix="fresh_")
    data = ["kept_completions", "kept_costs"]
    assert all(kept[name] for name in data)
    same = all(kept[name] == fresh[name.replace("kept_", "fresh_")] for name in data)
    assert same is equal


async def test_revised_numbers_only_grow_into_the_final_ones(
    late_emulator: Emulator, clock: Clock, database: str
) -> None:
    """The first read of the last hours is short of the final numbers; the next run, with the
    default settle, replaces them; and costs of the last day appear only later."""
    await run(late_emulator, database, None, "p_")
    first = await snapshot(database, prefix="p_")
    clock.now = NOW + DAY
    await run(late_emulator, database, None, "p_")
    second = await snapshot(database, prefix="p_")
    assert first["p_completions"] != second["p_completions"]
    assert len(second["p_costs"]) > len(first["p_costs"])
