"""Late data: usage settles after its hour closes, costs arrive late and are revised upward,
every page of one walk sees one state, and the data's invariants hold at any instant."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import usage_async as ua
from usage_async.emulator import Emulator, LateData, serve, serve_forever

from .conftest import (
    DAY,
    KEY,
    MIDNIGHT,
    NOW,
    Clock,
    LiveEmulator,
    pinned_clock,
    serve_in_thread,
    walk,
)
from .test_invariants import (
    GPT_4O_MINI,
    MINI_PRICES,
    PACED,
    PROPERTY,
    USAGE,
    metric_totals,
    per_bucket,
    window,
)

HOUR = 3600
LATE = LateData(usage_settles_after=2 * HOUR, costs_delay=3 * HOUR, costs_settles_after=6 * HOUR)
BUSY = MIDNIGHT - DAY + 14 * HOUR  # 2026-02-28T14:00Z, a busy afternoon hour


@pytest.fixture
async def late(clock: Clock) -> AsyncIterator[Emulator]:
    async with serve(port=0, api_key=KEY, now=clock, late=LATE) as emulator:
        yield emulator


@pytest.fixture
async def final(clock: Clock) -> AsyncIterator[Emulator]:
    """The same organization without late data, on the same clock: the final numbers."""
    async with serve(port=0, api_key=KEY, now=clock) as emulator:
        yield emulator


async def buckets(
    http: aiohttp.ClientSession,
    emu: Emulator,
    endpoint: str,
    query: list[tuple[str, str]],
    clock: Clock | None = None,
) -> list[dict[str, Any]]:
    """Every bucket of a query; with ``clock``, a day passes between pages."""

    def a_day_later() -> None:
        if clock is not None:
            clock.now += DAY

    return await walk(http, emu, endpoint, query, a_day_later)


def totals(rows: list[dict[str, Any]], endpoint: str, key: str | None = None) -> dict[Any, Any]:
    """Metric totals per value of ``key`` (one entry when ``key`` is None)."""
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key] if key else None].append(row)
    return {k: metric_totals(v, endpoint) for k, v in grouped.items()}


def at_most(smaller: dict[str, Decimal], larger: dict[str, Decimal]) -> bool:
    return all(value <= larger.get(name, 0) for name, value in smaller.items())


# --- Usage settles -------------------------------------------------------------------------------


async def test_a_closed_hour_only_grows_and_settles_at_the_final_numbers(
    late: Emulator, final: Emulator, clock: Clock, http: aiohttp.ClientSession
) -> None:
    hour = [("start_time", str(BUSY)), ("end_time", str(BUSY + HOUR)), ("bucket_width", "1h")]
    minutes = [*hour[:2], ("bucket_width", "1m")]
    grouped = [*hour, ("group_by", "model")]
    clock.now = BUSY + HOUR + LATE.usage_settles_after
    settled = {"hour": await buckets(http, final, "completions", grouped)}
    settled["minutes"] = await buckets(http, final, "completions", minutes)
    last: dict[str, Any] | None = None
    for moment in range(BUSY + 20 * 60, BUSY + HOUR + LATE.usage_settles_after + 1, 20 * 60):
        clock.now = moment
        rows = (await buckets(http, late, "completions", grouped))[0]["results"]
        now = {
            "hour": totals(rows, "completions", "model"),
            "minutes": per_bucket(await buckets(http, late, "completions", minutes), "completions"),
        }
        if last is not None:
            for model, before in last["hour"].items():
                assert at_most(before, now["hour"][model]), (moment, model)
            # While the hour is open its range ends at now: compare the minutes both have.
            for before, after in zip(last["minutes"], now["minutes"], strict=False):
                assert at_most(before, after), moment
        if moment == BUSY + HOUR:
            final_hour = totals(settled["hour"][0]["results"], "completions", "model")
            shown = sum(t["num_model_requests"] for t in now["hour"].values())
            whole = sum(t["num_model_requests"] for t in final_hour.values())
            assert whole / 2 < shown < whole, "an hour just closed shows most, not all, of it"
        last = now
    assert last is not None
    assert last["hour"] == totals(settled["hour"][0]["results"], "completions", "model")
    assert last["minutes"] == per_bucket(settled["minutes"], "completions")


async def test_the_open_hour_shows_less_than_has_happened(
    late: Emulator, final: Emulator, clock: Clock, http: aiohttp.ClientSession
) -> None:
    clock.now = BUSY + 40 * 60
    query = [("start_time", str(BUSY)), ("bucket_width", "1h")]
    (shown,) = per_bucket(await buckets(http, late, "embeddings", query), "embeddings")
    (happened,) = per_bucket(await buckets(http, final, "embeddings", query), "embeddings")
    assert 0 < shown["input_tokens"] < happened["input_tokens"]


async def test_vector_store_bytes_are_a_measured_level_never_revised(
    late: Emulator, final: Emulator, clock: Clock, http: aiohttp.ClientSession
) -> None:
    clock.now = BUSY + HOUR + 60
    query = [("start_time", str(BUSY)), ("bucket_width", "1h"), ("group_by", "project_id")]
    assert await buckets(http, late, "vector_stores", query) == await buckets(
        http, final, "vector_stores", query
    )


# --- Costs arrive late -----------------------------------------------------------------------


async def test_a_costs_day_is_absent_until_its_delay_then_grows_to_the_final_costs(
    late: Emulator, final: Emulator, clock: Clock, http: aiohttp.ClientSession
) -> None:
    day = MIDNIGHT - DAY  # its costs appear at MIDNIGHT + 3h and are final at MIDNIGHT + 9h
    query = [("start_time", str(day)), ("end_time", str(MIDNIGHT)), ("group_by", "line_item")]
    clock.now = MIDNIGHT + LATE.costs_delay + LATE.costs_settles_after
    expected = (await buckets(http, final, "costs", query))[0]["results"]
    assert expected

    clock.now = MIDNIGHT + LATE.costs_delay - 1
    assert (await buckets(http, late, "costs", query))[0]["results"] == []
    assert (await buckets(http, late, "costs", query[:2]))[0]["results"] == []

    previous: dict[Any, dict[str, Decimal]] = {}
    for elapsed in range(0, LATE.costs_settles_after + 1, HOUR):
        clock.now = MIDNIGHT + LATE.costs_delay + elapsed
        rows = (await buckets(http, late, "costs", query))[0]["results"]
        shown = totals(rows, "costs", "line_item")
        assert shown, "the day's costs have arrived"
        for line, before in previous.items():
            assert at_most(before, shown[line]), (elapsed, line)
        for kind, price in MINI_PRICES.items():
            row = next(r for r in rows if r["line_item"] == f"{GPT_4O_MINI}, {kind}")
            assert Decimal(repr(row["amount"]["value"])) == row["quantity"] * price
        if elapsed == 0:
            assert totals(rows, "costs") != totals(expected, "costs"), "first figures are low"
        previous = shown
    assert rows == expected


# --- One walk, one state; the cache never serves a page still being revised ---------------------


@pytest.mark.parametrize("endpoint", ["completions", "costs"])
async def test_every_page_of_a_walk_sees_the_state_of_its_first_page(
    late: Emulator, clock: Clock, http: aiohttp.ClientSession, endpoint: str
) -> None:
    # Yesterday's last hours (costs: yesterday's costs) are still being revised at ``first``.
    width, limit, first = ("1d", "1", 4 * HOUR) if endpoint == "costs" else ("1h", "2", HOUR)
    query = [
        ("start_time", str(MIDNIGHT - 2 * DAY)),
        ("end_time", str(MIDNIGHT)),
        ("bucket_width", width),
        ("limit", limit),
        ("group_by", "project_id"),
    ]
    clock.now = MIDNIGHT + first
    still = await buckets(http, late, endpoint, query)
    walked = await buckets(http, late, endpoint, query, clock=clock)
    assert clock.now > MIDNIGHT + first + LATE.costs_settles_after, "it all settled meanwhile"
    assert walked == still
    assert await buckets(http, late, endpoint, query) != still, "a new walk sees the final data"


async def test_a_closed_range_still_being_revised_is_never_served_from_a_stale_cache(
    late: Emulator, clock: Clock, http: aiohttp.ClientSession
) -> None:
    query = [("start_time", str(BUSY)), ("end_time", str(BUSY + HOUR)), ("bucket_width", "1m")]
    seen = []
    for minutes in (0, 30, 60, 90):
        clock.now = BUSY + HOUR + minutes * 60
        seen.append(per_bucket(await buckets(http, late, "completions", query), "completions"))
    assert len({repr(s) for s in seen}) == 4, "each instant shows its own revision"
    hits = late.stats.cache_hits
    clock.now = BUSY + HOUR + LATE.usage_settles_after
    settled = await buckets(http, late, "completions", query)
    clock.now += DAY
    assert await buckets(http, late, "completions", query) == settled
    assert late.stats.cache_hits == hits + 1, "a settled range is cached however late it is asked"


# --- The invariants hold at any fixed instant ----------------------------------------------


@pytest.fixture(scope="module")
def late_live() -> Iterator[LiveEmulator]:
    # Pinned at NOW: the last six hours of usage and the last two days of costs are unsettled.
    yield from serve_in_thread(
        api_key=KEY,
        now=pinned_clock,
        late=LateData(
            usage_settles_after=6 * HOUR, costs_delay=3 * HOUR, costs_settles_after=36 * HOUR
        ),
    )


recent = st.integers(min_value=NOW - 2 * DAY, max_value=NOW - HOUR)


@given(endpoint=st.sampled_from([*USAGE, "costs"]), start=recent, data=st.data())
@PROPERTY
def test_with_late_data_grouping_never_changes_a_bucket_total(
    late_live: LiveEmulator, endpoint: str, start: int, data: st.DataObject
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    width = "1d" if spec.whole_days else data.draw(st.sampled_from(["1m", "1h"]))
    group_by = data.draw(st.lists(st.sampled_from(spec.group_by), min_size=1, unique=True))
    query = window(start, width, 3 if width != "1m" else 180)
    plain = late_live.buckets(endpoint, query)
    grouped = late_live.buckets(endpoint, [*query, *(("group_by[]", g) for g in group_by)])
    assert per_bucket(grouped, endpoint) == per_bucket(plain, endpoint)


@given(endpoint=st.sampled_from(PACED), start=recent, fine=st.sampled_from(["1m", "1h"]))
@PROPERTY
def test_with_late_data_fine_buckets_add_up_and_count_a_request_for_every_metric(
    late_live: LiveEmulator, endpoint: str, start: int, fine: str
) -> None:
    coarse, per = ("1h", 60) if fine == "1m" else ("1d", 24)
    whole = per_bucket(late_live.buckets(endpoint, window(start, coarse, 1)), endpoint)[0]
    parts = late_live.buckets(endpoint, window(start, fine, per))
    summed: dict[str, Decimal] = defaultdict(Decimal)
    for part in per_bucket(parts, endpoint):
        for name, value in part.items():
            summed[name] += value
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in whole.items() if v}
    assert all(row["num_model_requests"] > 0 for b in parts for row in b["results"])


async def test_serve_forever_takes_late_data_too(http: aiohttp.ClientSession) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    # Costs ten days late: whatever the machine's clock says, the last five days have none.
    server = asyncio.create_task(
        serve_forever(
            port=0, api_key=KEY, late=LateData(costs_delay=10 * DAY), ready=started.put_nowait
        )
    )
    try:
        base_url = await asyncio.wait_for(started.get(), timeout=30)
        start = int(time.time()) - 5 * DAY
        async with http.get(
            base_url + "/organization/costs", params={"start_time": start}
        ) as reply:
            assert reply.status == 200
            page = await reply.json()
        assert len(page["data"]) >= 5
        assert all(b["results"] == [] for b in page["data"])
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
