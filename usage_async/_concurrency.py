"""Concurrency that cursor paging cannot give: time-window sharding and multi-stream fan-out.

Sharding splits what is left of a range into windows of exactly one page each, starting at a
seam the server itself reported (the end of the last bucket of the first page), fetches up to
``concurrency`` of them at once and hands them back in time order. The stream checks every
seam as it consumes the windows (``_streams``), so no alignment is assumed here. At most
``concurrency`` windows are buffered; closing the iterator cancels what is in flight.

``fan_out`` runs many streams at once and interleaves their items; ``FanOut`` is what it
returns: iterate it, ``await fan.aclose()`` it, or use it as ``async with``.

Core layer: imports the standard library, attrs and the core below the streams only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import attrs

from ._exceptions import InvalidParameterError, UsageError
from ._protocol import Query

__all__ = ["Closable", "FanOut", "FanOutError", "fan_out", "plan_windows", "sharded"]

K = TypeVar("K")
T = TypeVar("T")
W = TypeVar("W")

Spawn = Callable[[Coroutine[Any, Any, T]], "asyncio.Task[T]"]


def plan_windows(query: Query, seam: int, upper: int, *, open_end: bool) -> list[Query]:
    """One-page windows of ``query`` from ``seam`` up to ``upper``, in time order.

    ``seam`` must be a bucket boundary the server reported (where its next bucket starts), so
    each window starts on the server's own grid. With ``open_end`` the last window has no
    ``end_time``: the server's clock ends it exactly as it would end the sequential walk.
    """
    step = query.page_size * query.width_seconds
    windows = []
    for edge in range(seam, upper, step):
        last = edge + step >= upper
        windows.append(
            attrs.evolve(
                query,
                start_time=edge,
                end_time=None if last and open_end else min(edge + step, upper),
                page=None,
                concurrency=None,
            )
        )
    return windows


async def sharded(
    windows: Iterable[W],
    fetch_window: Callable[[W], Coroutine[Any, Any, T]],
    concurrency: int,
    spawn: Spawn[T] = asyncio.ensure_future,
) -> AsyncGenerator[tuple[W, T]]:
    """Yield ``(window, fetch_window(window))`` in window order, up to ``concurrency`` at once.

    ``spawn`` starts each fetch as a task (the client passes one that tracks its tasks, so
    closing the client cancels them). Closing this iterator cancels and awaits what is in
    flight; an error in a fetch is raised when its window's turn comes.
    """
    upcoming = iter(windows)
    in_flight: deque[tuple[W, asyncio.Task[T]]] = deque()

    def launch_next() -> None:
        window = next(upcoming, None)
        if window is not None:
            in_flight.append((window, spawn(fetch_window(window))))

    try:
        for _ in range(concurrency):
            launch_next()
        while in_flight:
            window, task = in_flight[0]
            result = await task
            in_flight.popleft()
            launch_next()
            yield window, result
    finally:
        await _cancel_all(task for _, task in in_flight)


async def _cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    tasks = list(tasks)
    for task in tasks:
        if not task.done():
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


@attrs.define(eq=False)
class _Failure:
    key: Any
    error: BaseException


class Closable:
    """``async with x:`` closes ``x`` on the way out (``await x.aclose()``)."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class FanOut(Closable, Generic[K, T]):
    """``(key, item)`` pairs from many streams at once (see ``fan_out``).

    Iterate it once. ``await fan.aclose()`` (or leaving ``async with fan_out(...) as fan:``)
    cancels every running stream, closes them, and returns when none of its tasks is left.
    """

    def __init__(self, streams: Mapping[K, AsyncIterable[T]], concurrency: int) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidParameterError(
                f"concurrency must be a positive int, got {concurrency!r}", param="concurrency"
            )
        self._generator = _fan_out(dict(streams), concurrency)

    def __aiter__(self) -> AsyncIterator[tuple[K, T]]:
        return self

    async def __anext__(self) -> tuple[K, T]:
        return await anext(self._generator)

    async def aclose(self) -> None:
        """Stop every stream now; no request is sent after this returns."""
        await self._generator.aclose()


def fan_out(streams: Mapping[K, AsyncIterable[T]], *, concurrency: int = 8) -> FanOut[K, T]:
    """Yield ``(key, item)`` from many streams at once, at most ``concurrency`` running.

    Items of one stream keep their order; streams interleave as their data arrives. Whatever a
    stream raises (an error, or a cancellation that did not come from here) cancels the others
    and raises ``FanOutError`` with its key; ``KeyboardInterrupt`` and ``SystemExit`` pass
    through as they are. ``aclose()``, ``async with`` or ``break`` followed by closing stops
    every running stream.
    """
    return FanOut(streams, concurrency)


async def _fan_out(
    streams: dict[K, AsyncIterable[T]], concurrency: int
) -> AsyncGenerator[tuple[K, T]]:
    todo = iter(list(streams.items()))
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)

    async def worker() -> None:
        for key, stream in todo:
            iterator: AsyncIterator[T] | None = None
            try:
                iterator = aiter(stream)
                async for item in iterator:
                    await queue.put((key, item))
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we are being stopped: not the stream's failure
                await queue.put(_Failure(key, exc))  # a cancellation from elsewhere
                return
            except BaseException as exc:
                await queue.put(_Failure(key, exc))
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
            elif isinstance(message, _Failure):
                if isinstance(message.error, KeyboardInterrupt | SystemExit):
                    raise message.error
                raise FanOutError(message.key, message.error) from message.error
            else:
                yield message
    finally:
        await _cancel_all(workers)
