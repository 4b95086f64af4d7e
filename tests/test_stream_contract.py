"""The stream contract on every path: every bucket of ``[start_time, end_time)`` exactly once, in
order, and nothing sent after close — against servers that align buckets differently from our
emulator, whose clocks are not ours, and that break the rules.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import usage_async as ua

from .conftest import KEY, client_tasks
from .samples import bucket, page
from .servers import GridServer, Served, serve_app

__all__ = ["serve_app"]  # the fixture, imported for the tests below

DAY = 86400
HOUR = 3600
NOW = 1_772_368_496  # the servers' clock: 2026-03-01T12:34:56Z, far from this machine's
Serve = Callable[[Any], Any]


def client_for(served: Served, **kwargs: Any) -> ua.UsageClient:
    kwargs.setdefault("initial_backoff", 0.001)
    kwargs.setdefault("max_backoff", 0.002)
    return ua.UsageClient(KEY, base_url=served.base_url, **kwargs)


async def walk(stream: ua.BucketStream[Any]) -> list[tuple[int, int, int]]:
    return [(b.start_time, b.end_time, b.results[0].input_tokens) async for b in stream]


def assert_contiguous(buckets: list[tuple[int, int, int]]) -> None:
    for (_, end, _), (start, _, _) in itertools.pairwise(buckets):
        assert start == end, f"gap or overlap at {end} -> {start}"


# --- Window seams against servers that align differently ---------------------------------------


@pytest.mark.parametrize("alignment", ["exact", "floor", "partial-first"])
@pytest.mark.parametrize(
    ("width", "start", "end"),
    [
        ("1h", NOW - 5 * DAY - 1234, NOW - DAY - 77),  # mid-hour start and end
        ("1d", NOW - 40 * DAY - 5 * HOUR, NOW - 3 * DAY),  # mid-day start
        ("1h", NOW - 3 * DAY - 1234, None),  # open: ends at the server's now
    ],
)
async def test_windowed_equals_sequential_whatever_the_servers_alignment(
    serve_app: Serve, alignment: Any, width: str, start: int, end: int | None
) -> None:
    server = GridServer(alignment=alignment, now=lambda: NOW)
    served = await serve_app(server.handle)
    async with client_for(served) as client:
        params: dict[str, Any] = {"start_time": start, "end_time": end, "bucket_width": width}
        sequential = await walk(client.completions(**params))
        server.requests.clear()
        windowed = await walk(client.completions(**params, concurrency=4))
    assert windowed == sequential
    assert_contiguous(windowed)
    assert len(windowed) > 3 * 7  # enough buckets for several windows
    assert len(server.requests) > 2  # it did go by window


async def test_a_seam_that_does_not_hold_falls_back_to_the_cursor_with_no_duplicate(
    serve_app: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that answers the range's own query exactly but floors every other start to
    the grid: each window would repeat part of a bucket. The stream notices at the first seam
    and goes on by the range's cursor; the result is still the sequential one."""
    sequential_server = GridServer(alignment="exact", now=lambda: NOW)
    floored = GridServer(alignment="floor", now=lambda: NOW)

    async def handle(request: web.Request) -> web.Response:
        own_query = request.query["start_time"] == str(start)
        return await (sequential_server if own_query else floored).handle(request)

    start = NOW - 5 * DAY - 1234
    served = await serve_app(handle)
    async with client_for(served) as client:
        params: dict[str, Any] = {"start_time": start, "end_time": NOW - DAY, "bucket_width": "1h"}
        with caplog.at_level(logging.WARNING, logger="usage_async"):
            windowed = await walk(client.completions(**params, concurrency=4))
        expected = await walk(client.completions(**params))
    assert windowed == expected
    assert_contiguous(windowed)
    assert "going on page by page" in caplog.text  # the fallback did happen


async def test_an_open_windowed_range_is_planned_to_the_servers_clock_not_ours(
    serve_app: Serve,
) -> None:
    server = GridServer(now=lambda: NOW)  # months before this machine's clock
    served = await serve_app(server.handle)
    async with client_for(served) as client:
        params: dict[str, Any] = {"start_time": NOW - 7 * DAY, "bucket_width": "1h"}
        sequential = await walk(client.completions(**params))
        sequential_requests = len(server.requests)
        server.requests.clear()
        windowed = await walk(client.completions(**params, concurrency=4))
    assert windowed == sequential
    assert sequential_requests == 7
    assert len(server.requests) <= sequential_requests + 1


async def test_stream_reports_the_servers_clock(serve_app: Serve) -> None:
    served = await serve_app(GridServer(now=lambda: NOW).handle)
    async with client_for(served) as client:
        stream = client.completions(start_time=NOW - 2 * DAY)
        await stream.collect()
    assert stream.server_time == NOW


# --- The range is enforced by the client ---------------------------------------------------


async def test_buckets_past_the_requested_end_are_never_yielded(serve_app: Serve) -> None:
    """The request leaves a future end_time out; a server whose clock runs 30 days ahead then
    answers past it. The stream stops at the end it was asked for and fetches no more."""
    import time

    local_now = int(time.time())
    ahead = GridServer(now=lambda: local_now + 30 * DAY)
    served = await serve_app(ahead.handle)
    start = local_now - local_now % DAY - DAY
    async with client_for(served) as client:
        stream = client.completions(start_time=start, end_time=start + 3 * DAY)
        buckets = await walk(stream)
    assert [b[0] for b in buckets] == [start, start + DAY, start + 2 * DAY]
    assert "end_time" not in ahead.requests[0]  # it was in the future here
    assert len(ahead.requests) == 1  # the page that went past the end was the last one read
    assert stream.done


@pytest.mark.parametrize(
    "buckets",
    [
        [bucket(1000 * DAY), bucket(1000 * DAY)],  # the same bucket twice
        [bucket(1001 * DAY), bucket(1000 * DAY)],  # out of order
        [bucket(1000 * DAY, width=2 * DAY), bucket(1001 * DAY)],  # overlapping
    ],
)
async def test_overlapping_or_out_of_order_buckets_are_a_pagination_error(
    serve_app: Serve, buckets: list[dict[str, Any]]
) -> None:
    async def handle(_: web.Request) -> web.Response:
        return web.json_response(page(buckets))

    served = await serve_app(handle)
    async with client_for(served) as client:
        with pytest.raises(ua.PaginationError, match="out of order"):
            await client.completions(start_time=1000 * DAY).collect()


async def test_a_server_that_pages_without_advancing_is_stopped_after_a_bounded_count(
    serve_app: Serve,
) -> None:
    """has_more with fresh cursors and empty pages, for ever: a one-bucket range gets a
    handful of requests, not thousands."""
    count = 0

    async def handle(_: web.Request) -> web.Response:
        nonlocal count
        count += 1
        return web.json_response(page([], next_page=f"fresh_{count}"))

    served = await serve_app(handle)
    async with client_for(served) as client:
        with pytest.raises(ua.PaginationError, match="kept paging: 4 requests"):
            await client.completions(start_time=1000 * DAY, end_time=1001 * DAY).collect()
    assert count == 4  # one bucket, one more if floored, one empty last page, one spare


# --- Close is final ----------------------------------------------------------------------------


def slow_grid(delay: float) -> Any:
    server = GridServer(now=lambda: NOW)

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return await server.handle(request)

    return handle


async def test_closing_the_client_under_a_windowed_stream_stops_its_windows_for_good(
    serve_app: Serve,
) -> None:
    """Windows queued behind the in-flight cap must not go on after close(), nor open a new
    session to do it, even while the stream's iterator is still held (not yet finalized)."""
    served = await serve_app(slow_grid(0.02))
    before = client_tasks()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with client_for(served, max_in_flight=2) as client:
            iterator = aiter(
                client.completions(start_time=NOW - 60 * DAY, bucket_width="1d", concurrency=8)
            )
            await anext(iterator)
        count = len(served.requests)
        await asyncio.sleep(0.3)
        assert len(served.requests) == count  # nothing was sent after close
        assert client_tasks() <= before | {asyncio.current_task()}
        with pytest.raises(ua.ClientClosedError):
            await anext(iterator)
        del iterator
        gc.collect()
        await asyncio.sleep(0.05)
    assert not [w for w in caught if "Unclosed" in str(w.message)]


async def test_a_request_queued_behind_the_cap_ends_with_client_closed_at_close(
    serve_app: Serve,
) -> None:
    served = await serve_app(slow_grid(30))
    client = client_for(served, max_in_flight=1)
    holder = asyncio.ensure_future(client.completions(start_time=NOW - DAY).collect())
    queued = asyncio.ensure_future(client.completions(start_time=NOW - 2 * DAY).collect())
    await asyncio.sleep(0.2)
    assert len(served.requests) == 1  # the second waits for the slot
    async with asyncio.timeout(5):
        await client.close()
        for task in (holder, queued):
            with pytest.raises(ua.ClientClosedError):
                await task
    assert len(served.requests) == 1


async def test_requests_in_flight_or_in_back_off_end_at_once_unretried_at_close(
    serve_app: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    async def throttled(_: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"message": "slow down", "type": "x", "param": None, "code": None}},
            status=429,
            headers={"retry-after": "60"},
        )

    slow = await serve_app(slow_grid(30))
    busy = await serve_app(throttled)
    in_flight_client = client_for(slow)
    backing_off_client = client_for(busy)
    in_flight = asyncio.ensure_future(in_flight_client.completions(start_time=NOW - DAY).collect())
    backing_off = asyncio.ensure_future(backing_off_client.completions(start_time=NOW).collect())
    await asyncio.sleep(0.2)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="usage_async"):
        async with asyncio.timeout(5):
            await asyncio.gather(in_flight_client.close(), backing_off_client.close())
            for task in (in_flight, backing_off):
                with pytest.raises(ua.ClientClosedError):
                    await task
    assert "retrying" not in caplog.text
    assert (len(slow.requests), len(busy.requests)) == (1, 1)


async def test_a_closed_transport_never_opens_a_session_again() -> None:
    client = ua.UsageClient(KEY)
    await client.close()
    with pytest.raises(ua.ClientClosedError):
        await client._transport.get("https://api.example.test/v1/x", [], {}, 1.0)
    assert client._transport._session is None


async def test_a_borrowed_session_closed_by_its_owner_is_a_usage_error(serve_app: Serve) -> None:
    served = await serve_app(GridServer(now=lambda: NOW).handle)
    session = aiohttp.ClientSession()
    client = client_for(served, session=session)
    await session.close()
    with pytest.raises(ua.ClientClosedError, match="closed by its owner"):
        await client.completions(start_time=NOW - DAY).collect()


# --- Streams close deterministically -----------------------------------------------------------


@pytest.mark.parametrize("concurrency", [None, 4])
async def test_a_stream_used_as_a_context_manager_stops_everything_on_exit(
    serve_app: Serve, concurrency: int | None
) -> None:
    served = await serve_app(slow_grid(0.01))
    before = client_tasks()
    async with client_for(served) as client:
        async with client.completions(
            start_time=NOW - 60 * DAY, bucket_width="1d", concurrency=concurrency
        ) as stream:
            async for _ in stream:
                break
        count = len(served.requests)
        assert client_tasks() <= before
        await asyncio.sleep(0.1)
        assert len(served.requests) == count
        with pytest.raises(ua.ClientClosedError, match="stream is closed"):
            await stream.collect()


async def test_aclose_stops_a_windowed_stream_and_its_windows(serve_app: Serve) -> None:
    served = await serve_app(slow_grid(0.05))
    before = client_tasks()
    async with client_for(served) as client:
        stream = client.completions(start_time=NOW - 90 * DAY, bucket_width="1d", concurrency=4)
        iterator = aiter(stream)
        await anext(iterator)  # the first page is in; windows are now in flight
        await stream.aclose()
        count = len(served.requests)
        assert client_tasks() <= before | {asyncio.current_task()}
        await asyncio.sleep(0.2)
        assert len(served.requests) == count


async def test_closing_a_fan_out_of_streams_stops_every_stream(serve_app: Serve) -> None:
    served = await serve_app(slow_grid(0.02))
    before = client_tasks()
    async with client_for(served) as client:
        streams = {
            p: client.completions(start_time=NOW - 60 * DAY, bucket_width="1d", concurrency=2)
            for p in ("a", "b", "c")
        }
        async with ua.fan_out(streams, concurrency=3) as pairs:
            async for _ in pairs:
                break
        count = len(served.requests)
        await asyncio.sleep(0.1)
        assert len(served.requests) == count
        assert client_tasks() <= before


# --- TLS ---------------------------------------------------------------------------------------


async def test_https_to_a_plain_port_fails_at_once_saying_tls(serve_app: Serve) -> None:
    served = await serve_app(GridServer().handle)
    url = served.base_url.replace("http://", "https://")
    async with ua.UsageClient(KEY, base_url=url, initial_backoff=0.5) as client:
        async with asyncio.timeout(3):  # five retries would take longer than this
            with pytest.raises(ua.APIConnectionError, match="TLS") as info:
                await client.completions(start_time=NOW - DAY).collect()
    assert not info.value.retryable
    assert served.requests == []


# --- Closing from another task, and what the consumer hears ---------------------------------


def one_page_then(handler: Any) -> Any:
    """Answers a range's first page from the grid (seven daily buckets, more to come), then
    every other request with ``handler``."""
    grid = GridServer(now=lambda: NOW)

    async def handle(request: web.Request) -> web.StreamResponse:
        if "page" not in request.query and len(grid.requests) == 0:
            return await grid.handle(request)
        response: web.StreamResponse = await handler(request)
        return response

    return handle


async def hang(_: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.json_response({})


@pytest.mark.parametrize("concurrency", [None, 4])
async def test_aclose_from_another_task_ends_the_consumer_with_client_closed(
    serve_app: Serve, concurrency: int | None
) -> None:
    """The consumer is between buckets (busy with one) when another task closes the stream:
    its next step says the stream was closed — it must not end quietly as if complete."""
    served = await serve_app(GridServer(now=lambda: NOW).handle)
    async with client_for(served) as client:
        stream = client.completions(
            start_time=NOW - 60 * DAY, bucket_width="1d", concurrency=concurrency
        )
        got: list[int] = []
        holding = asyncio.Event()

        async def consume() -> None:
            async for bucket in stream:
                got.append(bucket.start_time)
                holding.set()
                await asyncio.sleep(0.05)  # a slow consumer, writing the bucket somewhere

        consumer = asyncio.ensure_future(consume())
        await holding.wait()
        await stream.aclose()
        with pytest.raises(ua.ClientClosedError):
            await consumer
    assert 0 < len(got) < 60
    assert not stream.done


@pytest.mark.parametrize(
    "handler",
    [
        hang,  # a request in flight
        lambda _: asyncio.sleep(
            0,
            web.json_response(  # a request sleeping in a back-off
                {"error": {"message": "slow down", "type": "x", "param": None, "code": None}},
                status=429,
                headers={"retry-after": "60"},
            ),
        ),
    ],
    ids=["in-flight", "in-back-off"],
)
async def test_aclose_ends_a_request_running_in_the_consumers_own_task(
    serve_app: Serve, handler: Any
) -> None:
    served = await serve_app(handler)
    async with client_for(served) as client:
        stream = client.completions(start_time=NOW - DAY)
        consumer = asyncio.ensure_future(stream.collect())
        await asyncio.sleep(0.2)
        count = len(served.requests)
        async with asyncio.timeout(5):
            await stream.aclose()
            with pytest.raises(ua.ClientClosedError):
                await consumer
        assert not consumer.cancelled()
        await asyncio.sleep(0.1)
    assert len(served.requests) == count == 1


@pytest.mark.parametrize("how", ["client.close", "stream.aclose"])
async def test_closing_under_a_windowed_stream_says_closed_not_cancelled(
    serve_app: Serve, how: str
) -> None:
    """Windows in flight when the stream or its client closes: the consumer awaiting them
    hears ClientClosedError, and its own task is not left cancelled."""
    hanging = 0
    four_windows = asyncio.Event()

    async def count_and_hang(request: web.Request) -> web.Response:
        nonlocal hanging
        hanging += 1
        if hanging == 4:
            four_windows.set()
        return await hang(request)

    served = await serve_app(one_page_then(count_and_hang))
    client = client_for(served)
    stream = client.completions(start_time=NOW - 60 * DAY, bucket_width="1d", concurrency=4)
    consumer = asyncio.ensure_future(stream.collect())
    await four_windows.wait()  # the first page is in; four windows hang
    async with asyncio.timeout(5):
        await (client.close() if how == "client.close" else stream.aclose())
        with pytest.raises(ua.ClientClosedError):
            await consumer
    assert not consumer.cancelled()
    await client.close()


async def test_a_shared_limiter_never_waits_out_another_clients_back_off(
    serve_app: Serve,
) -> None:
    """Two organizations share one in-flight slot. Organization A is told to wait (429,
    retry-after 1 s): B's request must not queue behind A's wait while holding the slot."""
    order: list[str] = []
    throttled = asyncio.Event()

    async def org_a(request: web.Request) -> web.Response:
        if not throttled.is_set():
            throttled.set()
            order.append("a throttled")
            return web.json_response(
                {"error": {"message": "slow down", "type": "x", "param": None, "code": None}},
                status=429,
                headers={"retry-after": "1"},
            )
        order.append("a retried")
        return web.json_response(page([bucket(1000 * DAY)]))

    async def org_b(request: web.Request) -> web.Response:
        order.append("b served")
        return web.json_response(page([bucket(1000 * DAY)]))

    a_served = await serve_app(org_a)
    b_served = await serve_app(org_b)
    limiter = asyncio.Semaphore(1)
    async with (
        client_for(a_served, limiter=limiter) as a,
        client_for(b_served, limiter=limiter) as b,
    ):
        a_pull = asyncio.ensure_future(a.completions(start_time=1000 * DAY).collect())
        await throttled.wait()
        # A's retry is now waiting out its second; B takes the slot meanwhile.
        second = asyncio.ensure_future(a.completions(start_time=1000 * DAY).collect())
        await asyncio.sleep(0.05)
        await b.completions(start_time=1000 * DAY).collect()
        await a_pull
        await second
    assert order.index("b served") < order.index("a retried")


# --- The end of the range --------------------------------------------------------------------


async def test_the_last_bucket_of_the_range_finishes_the_stream_without_another_request(
    serve_app: Serve,
) -> None:
    """A server that still says has_more after the page holding the range's last bucket (it
    runs past end_time): a consumer that stops right after that bucket has a finished stream,
    whose checkpoint resumes to nothing — not to a request that starts where the range ends."""
    server = GridServer(now=lambda: NOW, ignore_end=True)
    served = await serve_app(server.handle)
    start = NOW - NOW % DAY - 30 * DAY
    async with client_for(served) as client:
        for concurrency in (None, 4):
            server.requests.clear()
            stream = client.completions(
                start_time=start, end_time=start + 7 * DAY, concurrency=concurrency
            )
            got = []
            async for bucket in stream:  # seven daily buckets a page: the range's first page
                got.append(bucket)
                if len(got) == 7:
                    break
            assert stream.done
            assert len(server.requests) == 1
            assert await client.resume(stream.checkpoint()).collect() == []
            assert len(server.requests) == 1
            whole = await client.completions(
                start_time=start, end_time=start + 7 * DAY, concurrency=concurrency
            ).collect()
            assert [b.start_time for b in whole] == [b.start_time for b in got]
            assert len(server.requests) == 2  # the whole range took one request too


# --- The key, however the server echoes it ---------------------------------------------------

LONG_KEY = "sk-admin-" + "Qx7" * 50 + "end"


def slices(secret: str, size: int = 12) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("cut", [None, 60])
async def test_no_part_of_a_long_key_reaches_an_error_or_a_log(
    serve_app: Serve, caplog: pytest.LogCaptureFixture, status: int, cut: int | None
) -> None:
    async def echo(request: web.Request) -> web.Response:
        seen = request.headers["Authorization"].removeprefix("Bearer ")
        return web.Response(status=status, text=f"<html>bad key {seen[:cut]} here</html>")

    served = await serve_app(echo)
    async with ua.UsageClient(
        LONG_KEY, base_url=served.base_url, max_retries=1, initial_backoff=0.001
    ) as client:
        with (
            caplog.at_level(logging.DEBUG, logger="usage_async"),
            pytest.raises(ua.APIError) as info,
        ):
            await client.completions(start_time=NOW - DAY).collect()
    shown = f"{info.value} {info.value!r} {info.value.args} {caplog.text}"
    assert "bad key" in shown
    assert not [piece for piece in slices(LONG_KEY) if piece in shown]
