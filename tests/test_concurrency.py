"""Time-window sharding and fan-out: order, equality with sequential, cancellation, errors."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

import usage_async as ua
from usage_async._concurrency import plan_windows, sharded
from usage_async._protocol import validate

DAY = 86400
START = 1_764_547_200  # 2025-12-01T00:00:00Z


def query(endpoint: str = "completions", **params: Any) -> Any:
    return validate(ua.ENDPOINTS[endpoint], {"start_time": START, **params})


def test_windows_are_whole_pages_from_the_seam_and_cover_the_rest_of_the_range() -> None:
    q = query(end_time=START + 30 * DAY + 3600, bucket_width="1h", concurrency=8)
    seam = START + DAY  # where the server's first page ended
    windows = plan_windows(q, seam, q.end_time, open_end=False)
    step = 24 * 3600  # default 1h page: 24 buckets
    assert len(windows) == 30
    assert windows[0].start_time == seam
    assert windows[-1].end_time == START + 30 * DAY + 3600
    for before, after in itertools.pairwise(windows):
        assert before.end_time == after.start_time
        assert before.end_time - before.start_time == step
    assert all(w.concurrency is None and w.page is None for w in windows)


def test_windows_follow_the_limit() -> None:
    q = validate(
        ua.ENDPOINTS["completions"],
        {"start_time": START, "end_time": START + 10 * 3600, "bucket_width": "1h", "limit": 3},
    )
    windows = plan_windows(q, START + 3 * 3600, START + 10 * 3600, open_end=False)
    assert [(w.start_time - START) // 3600 for w in windows] == [3, 6, 9]
    assert windows[-1].end_time == START + 10 * 3600


def test_an_open_range_is_planned_up_to_the_servers_now_and_its_last_window_left_open() -> None:
    q = query(concurrency=4)
    windows = plan_windows(q, START + 7 * DAY, START + 20 * DAY + 5, open_end=True)
    assert [w.start_time for w in windows] == [START + 7 * DAY, START + 14 * DAY]
    assert [w.end_time for w in windows] == [START + 14 * DAY, None]


def test_nothing_left_after_the_seam_plans_no_window() -> None:
    q = query(end_time=START + 7 * DAY, concurrency=4)
    assert plan_windows(q, START + 7 * DAY, START + 7 * DAY, open_end=False) == []


async def test_sharded_results_come_back_in_window_order_whatever_order_they_finish() -> None:
    windows = list(range(12))
    delays = [0.03, 0.0, 0.02, 0.01] * 3

    async def fetch(window: int) -> int:
        await asyncio.sleep(delays[window])
        return window * 10

    got = [pair async for pair in sharded(windows, fetch, 4)]
    assert got == [(w, w * 10) for w in windows]


async def test_sharded_keeps_at_most_k_windows_in_flight() -> None:
    running = 0
    peak = 0

    async def fetch(window: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return window

    assert len([p async for p in sharded(range(20), fetch, 3)]) == 20
    assert peak == 3


async def test_closing_a_sharded_iterator_cancels_what_is_in_flight() -> None:
    cancelled = 0

    async def fetch(window: int) -> int:
        nonlocal cancelled
        try:
            if window:
                await asyncio.sleep(30)
            return window
        except asyncio.CancelledError:
            cancelled += 1
            raise

    before = asyncio.all_tasks()
    async with contextlib.aclosing(sharded(range(10), fetch, 4)) as pairs:
        async for _ in pairs:
            break
    assert cancelled == 3
    assert asyncio.all_tasks() == before


async def test_a_failing_window_raises_and_cancels_the_others() -> None:
    async def fetch(window: int) -> int:
        if window == 1:
            raise ua.InternalServerError("boom", status_code=500)
        await asyncio.sleep(0 if window == 0 else 30)
        return window

    before = asyncio.all_tasks()
    with pytest.raises(ua.InternalServerError):
        _ = [p async for p in sharded(range(10), fetch, 4)]
    assert asyncio.all_tasks() == before


async def numbers(tag: str, count: int, delay: float = 0.0) -> AsyncIterator[str]:
    for i in range(count):
        await asyncio.sleep(delay)
        yield f"{tag}{i}"


async def test_fan_out_yields_every_item_of_every_stream_keeping_each_streams_order() -> None:
    streams = {k: numbers(k, 5, 0.001 * (i % 3)) for i, k in enumerate("abcdefghij")}
    got = [pair async for pair in ua.fan_out(streams, concurrency=3)]
    assert sorted(got) == sorted((k, f"{k}{i}") for k in "abcdefghij" for i in range(5))
    for key in "abcdefghij":
        assert [item for k, item in got if k == key] == [f"{key}{i}" for i in range(5)]


async def test_fan_out_runs_at_most_concurrency_streams_at_once() -> None:
    running = 0
    peak = 0

    async def tracked(key: str) -> AsyncIterator[str]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            for i in range(3):
                await asyncio.sleep(0.001)
                yield f"{key}{i}"
        finally:
            running -= 1

    streams = {str(i): tracked(str(i)) for i in range(12)}
    assert len([x async for x in ua.fan_out(streams, concurrency=4)]) == 36
    assert peak == 4


async def test_fan_out_raises_the_failing_key_and_cancels_the_others() -> None:
    finished = []

    async def slow(key: str) -> AsyncIterator[str]:
        try:
            await asyncio.sleep(30)
            yield key
        finally:
            finished.append(key)

    async def failing() -> AsyncIterator[str]:
        yield "first"
        raise ua.NotFoundError("no such project", status_code=404)

    before = asyncio.all_tasks()
    streams = {"proj_a": slow("proj_a"), "proj_bad": failing(), "proj_c": slow("proj_c")}
    with pytest.raises(ua.FanOutError) as info:
        _ = [x async for x in ua.fan_out(streams, concurrency=3)]
    assert info.value.key == "proj_bad"
    assert isinstance(info.value.error, ua.NotFoundError)
    assert info.value.__cause__ is info.value.error
    assert "proj_bad" in str(info.value)
    assert sorted(finished) == ["proj_a", "proj_c"]
    assert asyncio.all_tasks() == before


async def test_breaking_out_of_fan_out_cancels_every_stream() -> None:
    before = asyncio.all_tasks()
    streams = {k: numbers(k, 1000, 0.001) for k in "abc"}
    async with contextlib.aclosing(ua.fan_out(streams, concurrency=3)) as pairs:
        async for _ in pairs:
            break
    assert asyncio.all_tasks() == before


async def test_fan_out_refuses_a_bad_concurrency() -> None:
    with pytest.raises(ua.InvalidParameterError):
        _ = [x async for x in ua.fan_out({}, concurrency=0)]
    assert [x async for x in ua.fan_out({}, concurrency=2)] == []


async def test_a_stream_that_cannot_be_iterated_fails_fan_out_instead_of_hanging() -> None:
    streams: dict[str, Any] = {"good": numbers("g", 3), "oops": [1, 2]}
    async with asyncio.timeout(5):  # a hang detector
        with pytest.raises(ua.FanOutError) as info:
            _ = [x async for x in ua.fan_out(streams, concurrency=2)]
    assert info.value.key == "oops"
    assert isinstance(info.value.error, TypeError)


async def test_fan_out_works_as_a_context_manager_and_closes_every_stream() -> None:
    before = asyncio.all_tasks()
    streams = {k: numbers(k, 1000, 0.001) for k in "abc"}
    async with ua.fan_out(streams, concurrency=3) as pairs:
        async for _ in pairs:
            break
    assert asyncio.all_tasks() == before


async def test_a_stream_cancelled_from_elsewhere_ends_fan_out_instead_of_hanging() -> None:
    """A CancelledError that did not come from fan_out (a future someone else cancelled) is
    that stream's failure: the consumer must hear of it, not wait for ever."""

    async def waits_on_a_cancelled_future() -> AsyncIterator[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.cancel()
        yield await future

    streams = {"fine": numbers("f", 3, 0.01), "doomed": waits_on_a_cancelled_future()}
    async with asyncio.timeout(5):  # a hang detector
        with pytest.raises(ua.FanOutError) as info:
            _ = [x async for x in ua.fan_out(streams, concurrency=2)]
    assert info.value.key == "doomed"
    assert isinstance(info.value.error, asyncio.CancelledError)


async def test_keyboard_interrupt_in_a_stream_passes_through_fan_out() -> None:
    async def interrupted() -> AsyncIterator[str]:
        yield "x"
        raise KeyboardInterrupt

    async with asyncio.timeout(5):
        with pytest.raises(KeyboardInterrupt):
            _ = [x async for x in ua.fan_out({"k": interrupted()}, concurrency=1)]
