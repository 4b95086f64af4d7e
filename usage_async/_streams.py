"""Streams: the lazy, closable, resumable iterators every endpoint method returns.

``BucketStream`` walks the buckets of one usage or costs query. Its contract, enforced here
whatever the server does: every bucket of ``[start_time, end_time)`` exactly once, in time
order; nothing sent after the stream or its client is closed; a server that breaks the rules
gets ``PaginationError`` after a bounded number of requests, never an endless loop.

Two ways to walk:

* **by cursor** (the default): one page at a time, following ``next_page``;
* **by window** (``concurrency=k``): the first page is fetched alone; the rest of the range is
  cut into one-page windows starting where the server's first page ended, and up to ``k``
  windows are fetched at once. Each window must start where the previous one ended (or one
  whole bucket width further on, an empty stretch the server left out); if a seam does not
  check out, the windows are dropped and the walk goes on by cursor from the first page,
  skipping what was already yielded. No alignment is assumed.

Open ranges are planned to the server's clock (its ``Date`` header), never to ours.

Either walk decodes into result objects, or, for ``row_buckets``/``row_pages``, into tuples of
row values (``_row_columns``): the walk itself is the same code either way, handed a ``row`` of
paths that only the page decoding looks at.

Core layer: imports the standard library, attrs and the core below it; never ``_client``
(streams are written against ``_paging.PageSource``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Sequence,
)
from typing import Any, Generic, Protocol, TypeVar, cast

import attrs

from ._checkpoint import Checkpoint, Mode, decode_checkpoint, encode_checkpoint
from ._closing import Interrupts
from ._concurrency import Closable, plan_windows, sharded
from ._endpoints import ENDPOINTS, LIST_ENDPOINTS
from ._exceptions import ClientClosedError, InvalidParameterError, PaginationError
from ._models import Bucket, Page
from ._paging import ListPage, PageSource, RowPaths
from ._protocol import (
    OPEN_RANGE_SLACK,
    CursorGuard,
    ListQuery,
    Query,
    RangeGuard,
    effective_query,
    page_budget,
    validate,
    validate_list,
)
from ._row_columns import column_paths, row_fields

__all__ = ["BucketStream", "ListPage", "ListStream", "resume"]

logger = logging.getLogger("usage_async")

R = TypeVar("R")
T = TypeVar("T")
P = TypeVar("P", bound="_Paged")


class _Paged(Protocol):
    """What the pager needs of a page, whatever its cursor style."""

    @property
    def has_more(self) -> bool: ...

    @property
    def next_page(self) -> str | None: ...

    @property
    def request_id(self) -> str | None: ...


class _Lifecycle(Closable):
    """What every stream shares: the generators it handed out, its tasks, and closing them."""

    def __init__(self, client: PageSource) -> None:
        self._client = client
        self._closed = False
        # The generators handed out, each with the task that iterates it. Weak: a generator
        # that finished, or that its consumer dropped, is forgotten.
        self._live: weakref.WeakKeyDictionary[AsyncGenerator[Any], _Consumer] = (
            weakref.WeakKeyDictionary()
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._interrupts = Interrupts("this stream")

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def client(self) -> PageSource:
        """What this stream sends its requests through: the ``UsageClient`` that made it
        (any ``PageSource``)."""
        return self._client

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this stream is closed; create a new one to fetch again")
        self._client.ensure_open()

    def _track(self, body: Callable[[_Consumer], AsyncGenerator[T]]) -> AsyncGenerator[T]:
        self._check_open()
        consumer = _Consumer()
        generator = body(consumer)
        self._live[generator] = consumer
        return generator

    def _spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task of this stream's, cancelled when the stream or its client closes."""
        task = self._client.spawn(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _walk(
        self,
        fetch: Callable[[str | None], Awaitable[P]],
        cursor: str | None,
        budget_of: Callable[[P], int] | None = None,
    ) -> AsyncGenerator[tuple[P, str | None, str | None]]:
        """Follow cursors from ``cursor``: each page with the cursor that fetched it and the
        cursor after it (``None`` after the last page).

        One pager for both cursor styles — usage pages (``page``/``next_page``) and directory
        lists (``after``/``last_id``): ``fetch`` sends the cursor in its own parameter. A
        repeated cursor, or ``has_more`` without one, raises ``PaginationError``; so does
        going past ``budget_of(first page)`` requests.
        """
        guard = CursorGuard(cursor)
        budget: int | None = None
        requests = 0
        while True:
            requests += 1
            if budget is not None and requests > budget:
                raise PaginationError(
                    f"the server kept paging: {budget} requests, more than every bucket of "
                    f"the range needs, without reaching its end"
                )
            self._check_open()
            with self._interrupts.guard():
                page = await fetch(cursor)
            if budget is None and budget_of is not None:
                budget = budget_of(page)
            following = guard.advance(page.has_more, page.next_page, page.request_id)
            yield page, cursor, following
            if following is None:
                return
            cursor = following

    async def aclose(self) -> None:
        """Stop the stream now: end its requests, cancel its windows, close its iterators.

        A request of the stream in flight (in whichever task iterates it) ends at once with
        ``ClientClosedError``; so does the next step of an iteration another task holds.
        After this returns no request of this stream is sent and no task of it is left;
        iterating it again raises ``ClientClosedError``. Closing twice is harmless.
        """
        self._closed = True
        tasks = list(self._tasks)
        self._interrupts.interrupt(also=tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        current = asyncio.current_task()
        for generator, consumer in list(self._live.items()):
            # This task's own iterations close now; another task's ends at its next step
            # with ClientClosedError (closing it here would end it quietly, as if complete).
            if consumer.task in (None, current) and not getattr(generator, "ag_running", False):
                await generator.aclose()


class _Consumer:
    """The task iterating one generator of a stream (``None`` until it starts)."""

    __slots__ = ("task",)

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None

    def started(self) -> None:
        self.task = asyncio.current_task()


@attrs.frozen
class _Step(Generic[R]):
    """One page of a walk, with what a checkpoint needs to come back to it."""

    page: Page[R]
    cursor: str | None  # the cursor that fetched it (cursor walks)
    next_cursor: str | None  # the cursor after it (cursor walks)
    final: bool  # the last page of the range


class BucketStream(_Lifecycle, Generic[R]):
    """A lazy, re-iterable, closable stream of one endpoint's buckets.

    ``async for bucket in stream`` walks every bucket of the range, fetching a page only when
    the previous one is used up. ``stream.pages()`` walks pages; ``await stream.collect()``
    returns every bucket. Each iteration starts again from the call's arguments (a resumed
    stream, from its checkpoint). Use ``async with client.costs(...) as stream:`` or
    ``await stream.aclose()`` to stop it deterministically.

    ``checkpoint()`` gives a string from which ``client.resume(...)`` continues, in this or
    another process, with no gap and no duplicate. ``server_time`` is the server's clock at
    the first response of the current iteration; ``done`` says whether the range was
    finished; ``next_page`` is the cursor after the last page whose buckets were all yielded
    (by-cursor walks only).
    """

    # The position (see ``_rewind``), moved on as buckets are yielded.
    _mode: Mode
    _cursor: str | None
    _after: int | None
    _next_page: str | None
    _done: bool
    _sent: Query | None
    server_time: int | None

    def __init__(
        self,
        client: PageSource,
        query: Query,
        *,
        sent: Query | None = None,
        mode: Mode = "cursor",
        cursor: str | None = None,
        after: int | None = None,
        done: bool = False,
    ) -> None:
        super().__init__(client)
        self.query = query
        if sent is None and cursor is None:
            cursor = query.page  # page=...: start from the caller's cursor
        # A resumed stream's fixed start: the query as it was first sent, and the position.
        self._resume_sent = sent
        self._resume: tuple[Mode, str | None, int | None, bool] = (mode, cursor, after, done)
        self._rewind()

    @property
    def next_page(self) -> str | None:
        return self._next_page

    @property
    def done(self) -> bool:
        """True once every bucket of the range has been yielded."""
        return self._done

    @property
    def first_start(self) -> int:
        """Where this stream's first bucket starts (Unix seconds): the query's origin, or for
        a stream resumed from a checkpoint the end of the last bucket yielded before it."""
        after = self._resume[2]
        return self.query.origin if after is None else after

    @property
    def endpoint(self) -> str:
        return self.query.endpoint.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.query.kwargs().items())
        return f"<BucketStream {self.endpoint}({args})>"

    def __aiter__(self) -> AsyncIterator[Bucket[R]]:
        return self._track(self._buckets)

    def pages(self) -> AsyncIterator[Page[R]]:
        """Every page of the range, in order, each fully decoded.

        A page holds only buckets of the range not yielded before (a resumed stream skips
        the rest). With ``concurrency`` > 1 these are the pages of each time window.
        """
        return self._track(self._pages)

    async def collect(self) -> list[Bucket[R]]:
        """Every bucket of the range, as a list (the whole range in memory: prefer iterating)."""
        return [bucket async for bucket in self]

    def row_buckets(
        self, columns: Sequence[str] | None = None
    ) -> AsyncGenerator[Bucket[tuple[Any, ...]]]:
        """Every bucket of the range, as iterating the stream gives them, each result a tuple
        of the row values ``columns`` names, read straight from the wire.

        ``columns`` are row columns after the times (``ua.row_fields(...)[2:]``; default:
        the stream's own, ``row_fields(result type, group_by)[2:]``); a name column the
        result does not carry is ``None``. No result object is built, and nothing else
        differs from iterating the stream: every field is type-checked (``DecodeError``
        names it), money stays exact, results that cannot be typed are in
        ``bucket.unknown``, and the range guard, windows, checkpoints and closing are the
        same. ``ua.row_dicts(bucket, fields)`` makes dict rows of them. Raises
        ``InvalidParameterError`` for a column the rows of this endpoint do not have.
        """
        paths = self._row_paths(columns)
        buckets = self._track(functools.partial(self._buckets, row=paths))
        return cast(AsyncGenerator[Bucket[tuple[Any, ...]]], buckets)

    def row_pages(
        self, columns: Sequence[str] | None = None
    ) -> AsyncGenerator[Page[tuple[Any, ...]]]:
        """Every page of the range, as ``pages()`` gives them, each result a tuple of the row
        values ``columns`` names (see ``row_buckets``)."""
        paths = self._row_paths(columns)
        pages = self._track(functools.partial(self._pages, row=paths))
        return cast(AsyncGenerator[Page[tuple[Any, ...]]], pages)

    def _row_paths(self, columns: Sequence[str] | None) -> RowPaths:
        result_type: type = self.query.endpoint.result_type
        if columns is None:
            columns = row_fields(result_type, self.query.group_by)[2:]
        elif isinstance(columns, str):
            raise InvalidParameterError(
                "columns must be a sequence of column names, not one string", param="columns"
            )
        return column_paths(result_type, columns)

    def checkpoint(self) -> str:
        """Where this stream stands, as a string ``client.resume()`` continues from.

        It records the query exactly as sent and the position after the last bucket
        yielded. Take it at any moment: between buckets, after an error, after ``break``.
        """
        sent = self._sent
        return encode_checkpoint(
            Checkpoint(
                kind="buckets",
                endpoint=self.endpoint,
                requested=self.query.kwargs(),
                params=None if sent is None else sent.kwargs(),
                mode=self._mode,
                cursor=self._cursor,
                after=self._after,
                done=self._done,
            )
        )

    # --- Walking -------------------------------------------------------------------------------

    async def _buckets(
        self, consumer: _Consumer, row: RowPaths | None = None
    ) -> AsyncGenerator[Bucket[R]]:
        consumer.started()
        client = self._client
        async with contextlib.aclosing(self._admitted(row)) as steps:
            async for step, buckets in steps:
                last = len(buckets) - 1
                for i, bucket in enumerate(buckets):
                    # Before the yield: a consumer that stops after this bucket has it
                    # counted, so the checkpoint (and ``done``) already point past it.
                    self._advance(step, bucket.end_time, whole_page=i == last)
                    yield bucket
                    if self._closed or client.closed:  # closed while the consumer held it
                        self._check_open()
                if not buckets:
                    self._advance(step, None, whole_page=True)

    async def _pages(
        self, consumer: _Consumer, row: RowPaths | None = None
    ) -> AsyncGenerator[Page[R]]:
        consumer.started()
        async with contextlib.aclosing(self._admitted(row)) as steps:
            async for step, buckets in steps:
                end = buckets[-1].end_time if buckets else None
                self._advance(step, end, whole_page=True)
                yield attrs.evolve(step.page, data=tuple(buckets))
                self._check_open()

    def _advance(self, step: _Step[R], end: int | None, *, whole_page: bool) -> None:
        """Move the position past a bucket ending at ``end`` (or past a whole page)."""
        if end is not None:
            self._after = end
        if self._mode == "cursor":
            if whole_page:
                self._cursor = step.next_cursor
                self._next_page = step.next_cursor
            else:
                self._cursor = step.cursor
        if whole_page and step.final:
            self._done = True

    def _rewind(self) -> None:
        """Put the position back where every iteration starts (the checkpoint's, if resumed)."""
        mode, cursor, after, done = self._resume
        self._mode = mode
        self._cursor = cursor
        self._after = after
        self._next_page = cursor if mode == "cursor" else None
        self._done = done
        self._sent = self._resume_sent
        self.server_time = None

    def _start(self) -> Query:
        """Reset the position for a new iteration and decide the query to send."""
        self._rewind()
        if self._sent is None:
            # A future end_time is left out of the request (the API ends the range at its own
            # "now"); the range is still held to it, by the RangeGuard. The cursor is part of
            # the position, not of the query.
            sent = effective_query(self.query, int(time.time()))
            self._sent = attrs.evolve(sent, page=None)
        return self._sent

    async def _admitted(
        self, row: RowPaths | None
    ) -> AsyncGenerator[tuple[_Step[R], list[Bucket[R]]]]:
        """Each step of the walk with the buckets of it the range admits, in order; ``row``
        is how pages are decoded (``None``: into result objects)."""
        sent = self._start()
        end = self.query.end_time
        if self._done or (end is not None and self._after is not None and self._after >= end):
            self._done = True
            return
        guard = RangeGuard(sent.start_time, end)
        # Windows are cut from the start of a range (or the time a resumed one reached), never
        # from a cursor: a walk that starts from one goes on by cursor.
        windowed = (
            sent.concurrency is not None
            and sent.concurrency > 1
            and (self._mode == "time" or self._cursor is None)
        )
        if windowed:
            self._mode = "time"
            self._next_page = None
            if self._after is not None:  # resuming by time: start where the last bucket ended
                sent = attrs.evolve(sent, start_time=self._after)
            steps = self._windowed_steps(sent, row)
        else:
            steps = self._cursor_steps(sent, self._cursor, self._after, row)
        async with contextlib.aclosing(steps):
            async for step in steps:
                if self.server_time is None:
                    self.server_time = step.page.server_time
                buckets, complete = guard.admit(step.page.data, step.page.request_id)
                if complete:
                    step = attrs.evolve(step, final=True)
                yield step, buckets
                if complete:
                    return

    async def _cursor_steps(
        self,
        query: Query,
        cursor: str | None,
        drop_until: int | None = None,
        row: RowPaths | None = None,
    ) -> AsyncGenerator[_Step[R]]:
        """Pages by cursor from ``cursor``, without buckets ending at or before ``drop_until``.

        Gives up with ``PaginationError`` once the requests exceed what the range can hold.
        """

        async def fetch(at: str | None) -> Page[R]:
            page: Page[R] = await self._client.fetch_page(query, at, row)
            return page

        def budget_of(page: Page[R]) -> int:
            return _budget(query, page.server_time)

        async with contextlib.aclosing(self._walk(fetch, cursor, budget_of)) as walk:
            async for page, at, following in walk:
                if drop_until is not None:
                    page = attrs.evolve(page, data=_after(page.data, drop_until))
                yield _Step(page, at, following, final=following is None)

    async def _window(self, window: Query, row: RowPaths | None = None) -> list[Page[R]]:
        try:
            async with contextlib.aclosing(self._cursor_steps(window, None, None, row)) as steps:
                return [step.page async for step in steps]
        except asyncio.CancelledError:
            # Cancelled by closing (the stream or its client) between requests: the consumer
            # awaiting this window hears ClientClosedError, not a bare cancellation.
            if self._closed or self._client.closed:
                raise ClientClosedError("this stream was closed") from None
            raise

    async def _windowed_steps(
        self, sent: Query, row: RowPaths | None = None
    ) -> AsyncGenerator[_Step[R]]:
        """The first page alone, then one-page windows from where it ended, seams checked."""
        self._check_open()
        with self._interrupts.guard():
            first: Page[R] = await self._client.fetch_page(sent, None, row)
        following = CursorGuard().advance(first.has_more, first.next_page, first.request_id)
        yield _Step(first, None, following, final=following is None)
        if following is None:
            return
        expected = first.data[-1].end_time if first.data else None
        if expected is not None:
            server_now = first.server_time if first.server_time is not None else int(time.time())
            upper = sent.end_time if sent.end_time is not None else server_now
            windows = plan_windows(sent, expected, upper, open_end=sent.end_time is None)
            if len(windows) > 1:
                fetch = functools.partial(self._window, row=row)
                walk = sharded(windows, fetch, sent.concurrency or 1, self._spawn)
                async with contextlib.aclosing(walk):
                    async for window, pages in walk:
                        first_bucket = next((p.data[0] for p in pages if p.data), None)
                        if first_bucket is not None and not _seam_holds(
                            first_bucket.start_time, expected, sent.width_seconds
                        ):
                            logger.warning(
                                "%s: a window starting at %d began with a bucket at %d; going "
                                "on page by page from the first page's cursor instead",
                                sent.endpoint.name,
                                window.start_time,
                                first_bucket.start_time,
                            )
                            break
                        last_window = window is windows[-1]
                        for i, page in enumerate(pages):
                            yield _Step(page, None, None, final=last_window and i == len(pages) - 1)
                            if page.data:
                                expected = page.data[-1].end_time
                    else:
                        return
        # Too little left to split, or a seam that does not hold: by cursor, skipping what
        # was already yielded.
        async with contextlib.aclosing(
            self._cursor_steps(sent, following, drop_until=expected, row=row)
        ) as steps:
            async for step in steps:
                yield _Step(step.page, None, None, final=step.final)


def _seam_holds(first_start: int, expected: int, width: int) -> bool:
    """Whether a window's first bucket continues the walk: at the seam, or whole buckets on."""
    return first_start >= expected and (first_start - expected) % width == 0


def _after(buckets: tuple[Bucket[R], ...], t: int) -> tuple[Bucket[R], ...]:
    if not buckets or buckets[0].end_time > t:
        return buckets
    return tuple(b for b in buckets if b.end_time > t)


def _budget(query: Query, server_now: int | None) -> int:
    if query.end_time is not None:
        upper = query.end_time
    else:
        now = server_now if server_now is not None else int(time.time())
        upper = now + OPEN_RANGE_SLACK
    return page_budget(query.start_time, upper, query.width_seconds)


class ListStream(_Lifecycle, Generic[T]):
    """A lazy, re-iterable, closable stream of one directory list's items.

    ``async for item in stream`` follows ``after``/``last_id`` cursors a page at a time;
    ``await stream.collect()`` returns every item. ``checkpoint()`` records the id of the last
    item yielded, from which ``client.resume()`` continues.
    """

    def __init__(
        self, client: PageSource, query: ListQuery, *, after: str | None = None, done: bool = False
    ) -> None:
        super().__init__(client)
        self.query = query
        self._resume = (after if after is not None else query.after, done)
        self._after, self._done = self._resume

    @property
    def endpoint(self) -> str:
        return self.query.endpoint.name

    @property
    def done(self) -> bool:
        """True once every item of the list has been yielded."""
        return self._done

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.query.kwargs().items())
        return f"<ListStream {self.endpoint}({args})>"

    def __aiter__(self) -> AsyncIterator[T]:
        return self._track(self._items)

    async def collect(self) -> list[T]:
        """Every item of the list."""
        return [item async for item in self]

    def checkpoint(self) -> str:
        """Where this stream stands (the last item yielded), for ``client.resume()``."""
        params = self.query.kwargs()
        params.pop("after", None)
        return encode_checkpoint(
            Checkpoint(
                kind="list",
                endpoint=self.endpoint,
                requested=params,
                params=params,
                cursor=self._after,
                done=self._done,
            )
        )

    async def _items(self, consumer: _Consumer) -> AsyncGenerator[T]:
        consumer.started()
        self._after, self._done = self._resume
        if self._done:
            return
        query = self.query

        async def fetch(after: str | None) -> ListPage[T]:
            page: ListPage[T] = await self._client.fetch_list(query, after)
            return page

        async with contextlib.aclosing(self._walk(fetch, self._after)) as walk:
            async for page, _, following in walk:
                if following is not None and not page.data:
                    # A list's cursor is its last item's id: more to come after no item at
                    # all is a server paging without advancing.
                    raise PaginationError(
                        "the API sent an empty list page with has_more=true",
                        request_id=page.request_id,
                    )
                last = len(page.data) - 1
                for i, item in enumerate(page.data):
                    self._after = getattr(item, "id", self._after)
                    self._done = following is None and i == last
                    yield item
                    self._check_open()
                if following is None:
                    self._done = True


def resume(client: PageSource, text: str) -> BucketStream[Any] | ListStream[Any]:
    """The stream a checkpoint string describes (its parameters validated again)."""
    checkpoint = decode_checkpoint(text)
    if checkpoint.kind == "list":
        list_endpoint = LIST_ENDPOINTS.get(checkpoint.endpoint)
        if list_endpoint is None:
            raise _unknown(checkpoint.endpoint)
        query = validate_list(list_endpoint, checkpoint.requested)
        return ListStream(client, query, after=checkpoint.cursor, done=checkpoint.done)
    endpoint = ENDPOINTS.get(checkpoint.endpoint)
    if endpoint is None:
        raise _unknown(checkpoint.endpoint)
    requested = validate(endpoint, checkpoint.requested)
    sent = None if checkpoint.params is None else validate(endpoint, checkpoint.params)
    return BucketStream(
        client,
        requested,
        sent=sent,
        mode=checkpoint.mode,
        cursor=checkpoint.cursor,
        after=checkpoint.after,
        done=checkpoint.done,
    )


def _unknown(endpoint: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"the checkpoint names an unknown endpoint {endpoint!r}", param="checkpoint"
    )
