"""Concurrency that cursor paging cannot give: time-window sharding and multi-stream fan-out.

Sharding splits a range into windows of exactly one page each, aligned to the bucket width
(and, for costs, to UTC midnight), fetches up to ``concurrency`` of them at once and hands the
pages back in time order: the result is the sequential result, bucket for bucket. At most
``concurrency`` windows are buffered. Closing the iterator cancels what is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
)
from typing import Any, Generic, TypeVar

import attrs

from ._exceptions import InvalidParameterError, UsageError
from ._models import Page
from ._protocol import Query

__all__ = ["FanOutError", "fan_out", "plan_windows", "sharded_pages"]

K = TypeVar("K")
T = TypeVar("T")


def plan_windows(query: Query, now: int) -> list[Query]:
    """Split a query into one-page windows, in time order, up to ``end_time`` or ``now``.

    Returns ``[query]`` when it resumes from a cursor or fits one page. Windows start where
    the API's buckets do (``Query.origin``: ``start_time``, or UTC midnight for costs; the
    first window keeps the caller's start, which the API floors itself). A range without
    ``end_time`` is planned up to ``now`` and its last window is left open, so the server's
    own clock ends it exactly as it would end the sequential pull.
    """
    if query.page is not None:
        return [query]
    upper = query.end_time if query.end_time is not None else now
    step = query.page_size * query.width_seconds
    if upper - query.origin <= step:
        return [query]
    windows = []
    for edge in range(query.origin, upper, step):
        last = edge + step >= upper
        windows.append(
            attrs.evolve(
                query,
                start_time=max(edge, query.start_time),
                end_time=None if last and query.end_time is None else min(edge + step, upper),
                concurrency=None,
            )
        )
    return windows


async def sharded_pages(
    windows: list[Query],
    fetch_window: Callable[[Query], Awaitable[list[Page[Any]]]],
    concurrency: int,
) -> AsyncGenerator[tuple[Page[Any], bool]]:
    """Yield every window's pages in window order, fetching up to ``concurrency`` at once.

    Each page comes with a flag: true for the last page of the last window.
    """
    upcoming = iter(windows)
    in_flight: deque[asyncio.Task[list[Page[Any]]]] = deque()

    def launch_next() -> None:
        window = next(upcoming, None)
        if window is not None:
            in_flight.append(asyncio.ensure_future(fetch_window(window)))

    try:
        for _ in range(concurrency):
            launch_next()
        while in_flight:
            pages = await in_flight[0]
            in_flight.popleft()
            launch_next()
            final_window = not in_flight
            for i, page in enumerate(pages):
                yield page, final_window and i == len(pages) - 1
    finally:
        await _cancel_all(in_flight)


async def _cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    tasks = list(tasks)
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    # Wait for them to unwind so no connection or task outlives the iterator; their errors are
    # moot once the consumer has stopped or another window failed.
    await asyncio.gather(*tasks, return_exceptions=True)


class FanOutError(UsageError, Generic[K]):
    """One stream of a ``fan_out`` failed; the others were cancelled.

    ``key`` is the failing stream's key and ``error`` (also ``__cause__``) what it raised.
    """

    def __init__(self, key: K, error: BaseException) -> None:
        super().__init__(f"stream {key!r} failed: {type(error).__name__}: {error}")
        self.key = key
        self.error = error


_DONE = object()


async def fan_out(
    streams: Mapping[K, AsyncIterable[T]], *, concurrency: int = 8
) -> AsyncIterator[tuple[K, T]]:
    """Yield ``(key, item)`` from many streams at once, at most ``concurrency`` running.

    Items of one stream keep their order; streams interleave as their data arrives. A failing
    stream cancels the others and raises ``FanOutError`` with its key. Closing the iterator
    (``break`` out of ``async for``) cancels every running stream.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidParameterError(
            f"concurrency must be a positive int, got {concurrency!r}", param="concurrency"
        )
    todo = iter(list(streams.items()))
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)

    async def worker() -> None:
        for key, stream in todo:
            iterator: AsyncIterator[T] | None = None
            try:
                iterator = aiter(stream)
                async for item in iterator:
                    await queue.put((key, item))
            except Exception as exc:
                await queue.put(FanOutError(key, exc))
                return
            finally:
                aclose = getattr(iterator, "aclose", None)  # None if aiter() itself failed
                if aclose is not None:
                    with contextlib.suppress(Exception):
                        await aclose()
        await queue.put(_DONE)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(streams)))]
    try:
        running = len(workers)
        while running:
            message = await queue.get()
            if message is _DONE:
                running -= 1
            elif isinstance(message, FanOutError):
                raise message from message.error
            else:
                yield message
    finally:
        await _cancel_all(workers)
