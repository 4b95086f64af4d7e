"""``sync()``: one run that brings a database up to the server's now.

For each table the run re-reads from its ``settled_until`` (the first run: from ``since``) to
the server's now, page by page. Each page is one transaction that deletes the page's bucket
range for this source and width, inserts what the API returns now (so a group that vanished
on revision vanishes here too) and moves ``settled_until`` to at most ``now - settle``,
floored to a bucket boundary, and never past the data written. The next run reads the
unsettled buckets again: dlt calls this window a lag, dbt a lookback.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy.ext.asyncio import AsyncEngine

from .._client import UsageClient
from .._directory import Directory
from .._endpoints import ENDPOINTS
from .._exceptions import APIError, InvalidParameterError, UsageError
from .._models import Bucket, Page
from .._protocol import positive_int, strings, to_unix
from .._time import floor_to, iso_utc, utc_datetime
from ._clock import server_now
from ._history import history_parts, span_text
from ._lock import writer_lock
from ._plan import (
    DEFAULT_SETTLE,
    Job,
    make_jobs,
    seconds_of,
    segments,
    settled_target,
)
from ._progress import NO_PROGRESS, SyncProgress, progress_of
from ._refresh import Counting, key_records, refresh_keys, refresh_projects_and_users
from ._schema import checked_prefix
from ._store import State, Store, open_engine

__all__ = [
    "DEFAULT_DIRECTORY_MAX_AGE",
    "DEFAULT_SINCE",
    "SyncError",
    "SyncReport",
    "TableReport",
    "directory_records",
    "sync",
    "write_directory",
]

DEFAULT_SINCE = _dt.timedelta(days=30)
"""Where a table's first run starts when no ``since`` is given."""

DEFAULT_DIRECTORY_MAX_AGE = _dt.timedelta(hours=24)
"""How old a project's API key list may get before a run lists it again."""

logger = logging.getLogger("usage_async")


@attrs.frozen
class TableReport:
    """What one run did to one table.

    ``rows`` were written for the re-read range ``[start, end)`` (``None`` when there was
    nothing to read); ``skipped`` counts results the API sent that could not be typed (an
    unknown ``object``, a cost without an amount: each logged, none written);
    ``settled_until`` is where the next run starts; ``error`` says why the table stopped
    short, if it did (what was committed before stays).
    """

    table: str
    endpoint: str
    bucket_width: str
    rows: int = 0
    skipped: int = 0
    pages: int = 0
    start: _dt.datetime | None = None
    end: _dt.datetime | None = None
    settled_until: _dt.datetime | None = None
    error: str | None = None


@attrs.frozen
class SyncReport:
    """What one ``sync`` run did: per table, and in all.

    ``requests`` counts the run's requests: the clock's, every usage page and every page
    of the directory's lists (a retried request counts once; one that failed a table not),
    ``duration`` is wall-clock seconds, ``server_now`` the server's clock the run read to.
    """

    source: str
    database: str
    server_now: _dt.datetime
    tables: tuple[TableReport, ...]
    requests: int
    duration: float

    @property
    def rows(self) -> dict[str, int]:
        """Rows written, by table."""
        return {t.table: t.rows for t in self.tables}

    @property
    def failed(self) -> dict[str, str]:
        """Tables that stopped short, with the reason."""
        return {t.table: t.error for t in self.tables if t.error is not None}

    def summary(self) -> str:
        """One line for a log: rows, tables, requests, time, and what failed."""
        written = sum(t.rows for t in self.tables)
        line = (
            f"sync {self.source}: {written:,} rows into {len(self.tables)} tables of "
            f"{self.database}, {self.requests} requests, {self.duration:.1f} s, "
            f"current to {iso_utc(int(self.server_now.timestamp()))}"
        )
        skipped = sum(t.skipped for t in self.tables)
        if skipped:
            line += f"; {skipped:,} results skipped (could not be typed; logged)"
        if self.failed:
            line += "; FAILED: " + "; ".join(f"{t}: {e}" for t, e in self.failed.items())
        return line


class SyncError(UsageError):
    """Some tables of a sync failed; what the others committed stays committed.

    ``report`` is the run's report (``report.failed`` names the tables); ``errors`` holds the
    exception of each failed table, and the first is also ``__cause__``.
    """

    def __init__(self, report: SyncReport, errors: Mapping[str, BaseException]) -> None:
        names = ", ".join(errors)
        first = next(iter(errors.values()))
        super().__init__(f"sync of {names} failed: {type(first).__name__}: {first}")
        self.report = report
        self.errors = dict(errors)


def directory_records(directory: Directory) -> dict[str, list[dict[str, Any]]]:
    """The rows of the ``projects``, ``users`` and ``api_keys`` tables from a directory."""
    return {
        "projects": [attrs.asdict(p) for p in directory.projects.values()],
        "users": [attrs.asdict(u) for u in directory.users.values()],
        "api_keys": key_records(directory.api_keys.values()),
    }


async def write_directory(
    database: str | AsyncEngine,
    *,
    source: str = "default",
    prefix: str = "",
    projects: Iterable[Any] = (),
    users: Iterable[Any] = (),
    api_keys: Iterable[Any] = (),
) -> dict[str, int]:
    """Upsert directory records into the ``projects``, ``users`` and ``api_keys`` tables.

    Records are objects or mappings with the columns' names: projects ``id, name, status,
    archived_at, created_at`` (times as Unix seconds or aware datetimes), users ``id, email,
    name, role``, keys ``id, name, project_id, owner_type, owner_id, owner_name``. Records
    that disappear later are kept, so old usage still joins to a name. Returns rows written by
    table.
    """
    engine, owned = _engine(database)
    try:
        store = Store(engine, checked_prefix(prefix))
        return await store.write_directory(
            source, projects=projects, users=users, api_keys=api_keys
        )
    finally:
        if owned:
            await engine.dispose()


def _engine(database: str | AsyncEngine) -> tuple[AsyncEngine, bool]:
    if isinstance(database, AsyncEngine):
        return database, False
    if not isinstance(database, str):
        raise InvalidParameterError(
            f"database must be a URL string or an AsyncEngine, got {type(database).__name__}",
            param="database",
        )
    return open_engine(database), True


def _settles(
    settle: int | float | _dt.timedelta | Mapping[str, int | float | _dt.timedelta] | None,
) -> tuple[int, dict[str, int]]:
    if settle is None:
        return DEFAULT_SETTLE, {}
    if isinstance(settle, Mapping):
        default = settle.get("default", DEFAULT_SETTLE)
        by_name = {k: seconds_of(v, "settle") for k, v in settle.items() if k != "default"}
        for name in by_name:
            if name not in ENDPOINTS:
                raise InvalidParameterError(
                    f"settle names an unknown endpoint {name!r}", param="settle"
                )
        return seconds_of(default, "settle"), by_name
    return seconds_of(settle, "settle"), {}


def _check_group_by(group_by: Sequence[str] | Mapping[str, Sequence[str]] | None) -> None:
    offered = {f for e in ENDPOINTS.values() for f in e.group_by}
    lists: Iterable[Any]
    if group_by is None:
        return
    if isinstance(group_by, Mapping):
        for name in group_by:
            if name not in ENDPOINTS:
                raise InvalidParameterError(
                    f"group_by names an unknown endpoint {name!r}", param="group_by"
                )
        lists = group_by.values()
    else:
        lists = [group_by]
    for fields in lists:
        items = fields.split(",") if isinstance(fields, str) else list(fields)
        for field in items:
            if field.strip() not in offered:
                raise InvalidParameterError(
                    f"no endpoint can be grouped by {field!r}; the fields are "
                    f"{', '.join(sorted(offered))}",
                    param="group_by",
                )


class _Writes:
    """Writes that finish once started: cancelling the run waits for them, never cuts one."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future[None]] = set()

    async def run(self, write: Awaitable[None]) -> None:
        task = asyncio.ensure_future(write)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        await asyncio.shield(task)

    async def drain(self) -> None:
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


async def sync(
    client: UsageClient,
    database: str | AsyncEngine = "sqlite:///usage.db",
    *,
    since: int | _dt.datetime | _dt.timedelta | None = None,
    endpoints: str | Sequence[str] | None = None,
    bucket_width: str = "1h",
    group_by: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    settle: int | _dt.timedelta | Mapping[str, int | _dt.timedelta] | None = None,
    source: str = "default",
    prefix: str = "",
    concurrency: int = 4,
    directory: Directory | bool = True,
    progress: SyncProgress | bool | None = None,
    wait: bool = True,
    on_notice: Callable[[str], None] | None = None,
    directory_max_age: int | _dt.timedelta = DEFAULT_DIRECTORY_MAX_AGE,
) -> SyncReport:
    """Bring the tables of ``database`` up to the server's now; return what was done.

    Args:
        client: The client to read with (not closed here).
        database: A SQLAlchemy URL (``sqlite:///usage.db``, ``postgresql://user@host/db``;
            the asyncio driver is chosen for you) or an ``AsyncEngine`` (not disposed here).
        since: Where a table's first run starts: Unix seconds, an aware datetime, or a
            ``timedelta`` before the server's now (default 30 days). Floored to a bucket
            boundary. Tables that have a state continue from it instead; a ``since`` before
            where a table's reading began adds the older range, once.
        endpoints: Endpoint names, or one comma-separated string (default: all twelve).
        bucket_width: ``"1h"`` or ``"1d"`` (``"1m"`` works too) for usage; costs are daily.
        group_by: Fields to group by; a field an endpoint does not offer is left out for it.
            A mapping gives them per endpoint. Default: every field each endpoint offers.
        settle: How long buckets stay open to revision and are read again (default 2 days):
            seconds or a ``timedelta``, or a mapping by endpoint name (``"default"`` for the
            rest).
        source: The label of this organization's rows, so several share the tables.
        prefix: Put the tables under this name prefix (``acme_completions``...).
        concurrency: One-page time windows fetched at once per table.
        directory: What refreshes the ``projects``, ``users`` and ``api_keys`` tables: by
            default the run reads the projects and users lists itself, and the API keys of
            the projects that need it (see ``directory_max_age``); a directory it cannot read
            at all is logged and skipped: usage still syncs. Pass a ``ua.Directory`` to use
            one you have, or ``False`` to leave the tables alone.
        directory_max_age: A project's API keys are listed again (a request per project)
            when keys unknown to the ``api_keys`` table appear in its rows, or when its list
            is older than this: seconds or a ``timedelta`` (default 24 hours).
        progress: Told each table's expected buckets and each commit (``track`` and
            ``advance``, see ``SyncProgress``); the command line draws bars with it. ``True``
            logs each commit on the ``usage_async`` logger (INFO).
        wait: One run writes a source at a time (a lock per database, prefix and source,
            held for the whole run): wait for another run that holds it (default), or raise
            ``SyncBusyError`` at once (``False``).
        on_notice: Told, one line each, what an operator should know of the run: whom it
            waits for, history it adds before a table's first bucket (default: logged as
            warnings on the ``usage_async`` logger).

    Raises:
        InvalidParameterError: A bad argument, before anything is read or written.
        GroupingChangedError: A table holds another grouping, or buckets of another width
            (``BucketWidthChangedError``); nothing was changed.
        SyncBusyError: Another run holds the source and ``wait`` is false; nothing was
            written.
        SyncError: Some tables failed (the exception carries the report); the others, and
            every page committed before the failure, stay written.
    """
    began = time.perf_counter()
    if not isinstance(client, UsageClient):
        raise InvalidParameterError("client must be a UsageClient", param="client")
    if not isinstance(source, str) or not source:
        raise InvalidParameterError("source must be a non-empty string", param="source")
    prefix = checked_prefix(prefix)
    jobs = _jobs(endpoints, bucket_width, group_by, settle)
    since_delta, since_at = _since(since)
    positive_int(concurrency, "concurrency")
    max_age = seconds_of(directory_max_age, "directory_max_age")

    engine, owned = _engine(database)
    tell = on_notice or _log_notice
    asked = _Asked(
        client, source, jobs, since_delta, since_at, since is not None, directory, max_age,
        concurrency, tell,
    )  # fmt: skip
    try:
        store = Store(engine, prefix)
        # The API answers before anything is written: a wrong key, a dead base URL or a 403
        # leaves no database file, no lock file and no table behind.
        clock = await _clock(asked, await store.states(source))
        lock = writer_lock(engine, prefix, source, wait=wait, on_wait=tell)
        async with lock as waited:
            if waited:  # the other run wrote meanwhile: read to the server's now after it
                again = await _clock(asked, {})
                clock = attrs.evolve(again, requests=clock.requests + again.requests)
            outcomes, directory_requests = await _locked_run(
                asked, store, clock, progress_of(progress)
            )
    finally:
        if owned:
            await engine.dispose()
    report = SyncReport(
        source=source,
        database=engine.url.render_as_string(hide_password=True),
        server_now=utc_datetime(clock.now),
        tables=tuple(report for report, _ in outcomes),
        requests=clock.requests + directory_requests + sum(report.pages for report, _ in outcomes),
        duration=time.perf_counter() - began,
    )
    errors = {report.table: error for report, error in outcomes if error is not None}
    if errors:
        raise SyncError(report, errors)
    return report


@attrs.frozen
class _Asked:
    """What one ``sync`` call asks for, checked."""

    client: UsageClient
    source: str
    jobs: Sequence[Job]
    since_delta: int | None
    since_at: int | None
    history: bool  # since was given: a table's history may grow backwards to it
    directory: Directory | bool
    directory_max_age: int
    concurrency: int
    tell: Callable[[str], None]


def _log_notice(line: str) -> None:
    logger.warning("sync: %s", line)


@attrs.frozen
class _Clock:
    """Where a run reads to: the server's now; where a table with no state starts; the
    requests it took to read the clock."""

    now: int
    first: int
    requests: int


async def _clock(asked: _Asked, states: Mapping[tuple[str, str], State]) -> _Clock:
    """The server's now, where a table with no state starts, and the requests it took.

    The server's clock is read off the first endpoint of ``asked.jobs`` the key may read, at
    the earliest point a table of ``states`` continues from (or ``since``), which the server
    has passed whatever its clock says.
    """
    anchors = [state.settled_until for state in states.values()]
    if asked.since_at is not None:
        anchors.append(asked.since_at)
    anchor = min(anchors) if anchors else int(time.time()) - (asked.since_delta or 0)
    names = list(dict.fromkeys(job.endpoint.name for job in asked.jobs))
    now, requests = await server_now(asked.client, anchor, names)
    first = asked.since_at if asked.since_at is not None else now - (asked.since_delta or 0)
    return _Clock(now, first, requests)


async def _locked_run(
    asked: _Asked, store: Store, clock: _Clock, bars: SyncProgress
) -> tuple[list[tuple[TableReport, BaseException | None]], int]:
    """The run, once it holds its source's lock: each table's outcome, and the directory's
    requests. Every write has finished when it returns."""
    writes = _Writes()
    client, source = asked.client, asked.source
    counting = Counting(client)
    try:
        states = await store.prepare(source, asked.jobs, client.organization)
        # States an older version wrote say not where their reading began: their rows tell.
        unrecorded = [
            job
            for job in asked.jobs
            if (state := states.get((job.endpoint.name, job.width))) and state.read_from is None
        ]
        firsts = (
            await store.first_buckets(source, unrecorded) if asked.history and unrecorded else {}
        )
        listed = await _refresh_directory(counting, store, source, asked.directory)
        run = _Run(client, store, source, clock.now, clock.first, asked.concurrency, writes, bars)
        run.history = firsts if asked.history else None
        run.tell = asked.tell
        outcomes = await asyncio.gather(
            *(run.table(job, states.get((job.endpoint.name, job.width))) for job in asked.jobs)
        )
        if listed:
            await _refresh_keys(counting, store, source, run.seen, clock, asked.directory_max_age)
    finally:
        await writes.drain()
    return list(outcomes), counting.requests


def _jobs(
    endpoints: str | Sequence[str] | None,
    bucket_width: str,
    group_by: Sequence[str] | Mapping[str, Sequence[str]] | None,
    settle: int | _dt.timedelta | Mapping[str, int | _dt.timedelta] | None,
) -> list[Job]:
    """The tables ``sync``'s arguments ask for; raises ``InvalidParameterError``."""
    if endpoints is not None and not endpoints:
        raise InvalidParameterError("endpoints is empty", param="endpoints")
    names = (
        list(ENDPOINTS)
        if endpoints is None
        else list(strings(endpoints, "endpoints", tuple(ENDPOINTS), "endpoint"))
    )
    _check_group_by(group_by)
    default_settle, settle_by_name = _settles(settle)
    return make_jobs(
        [ENDPOINTS[n] for n in names], bucket_width, group_by, settle_by_name, default_settle
    )


def _since(since: int | _dt.datetime | _dt.timedelta | None) -> tuple[int | None, int | None]:
    """``sync``'s ``since`` as (seconds before the server's now, None) or (None, an instant)."""
    if since is None or isinstance(since, _dt.timedelta):
        return seconds_of(since if since is not None else DEFAULT_SINCE, "since"), None
    return None, to_unix(since, "since")


async def _refresh_directory(
    counting: Counting, store: Store, source: str, directory: Directory | bool
) -> bool:
    """Write the directory ``sync`` was given, or read its projects and users (``True``);
    whether the API keys are to be listed by need after the tables (see ``_refresh``)."""
    if directory is True:
        return await refresh_projects_and_users(counting, store, source)
    if isinstance(directory, Directory):
        await store.write_directory(source, **directory_records(directory), create=False)
    return False


async def _refresh_keys(
    counting: Counting,
    store: Store,
    source: str,
    seen: Iterable[tuple[str | None, str]],
    clock: _Clock,
    max_age: int,
) -> None:
    """List the API keys the run needs names for (see ``_refresh``); a failure is logged,
    since the usage is written."""
    try:
        await refresh_keys(counting, store, source, seen, clock.now - max_age, clock.now)
    except APIError as exc:
        logger.warning("sync %s: the API keys could not be read (%s)", source, exc)


@attrs.define
class _Run:
    """One run's shared context, and the reading and writing of one table."""

    client: UsageClient
    store: Store
    source: str
    now: int
    first: int
    concurrency: int
    writes: _Writes
    bars: SyncProgress = NO_PROGRESS
    # When since was given (else None): a since before where a table's reading began adds
    # the older range first. Holds the first bucket (None: no rows) of the tables whose
    # state an older version wrote, which does not say where that was.
    history: Mapping[str, int | None] | None = None
    tell: Callable[[str], None] = _log_notice
    # The (project, API key) pairs of the rows written: the keys the directory must name.
    seen: set[tuple[str | None, str]] = attrs.field(factory=set)

    async def table(
        self, job: Job, state: State | None
    ) -> tuple[TableReport, BaseException | None]:
        """Read and write one table; a failure is returned with what was done before it."""
        report = TableReport(
            table=self.store.schema.table_name(job.endpoint.name),
            endpoint=job.endpoint.name,
            bucket_width=job.width,
        )
        try:
            async for so_far in self._table(job, state, report):
                report = so_far  # a failure keeps what was committed before it
        except Exception as exc:
            return attrs.evolve(report, error=f"{type(exc).__name__}: {exc}"), exc
        return report, None

    async def _table(
        self, job: Job, state: State | None, report: TableReport
    ) -> AsyncIterator[TableReport]:
        """Read and write one table, yielding its report after each page."""
        width = job.width_seconds
        start = state.settled_until if state is not None else floor_to(self.first, width)
        start = job.endpoint.bucket_origin(start)  # costs: UTC midnight
        if start >= self.now:
            yield attrs.evolve(report, settled_until=utc_datetime(start))
            return
        table = self.store.schema.usage[job.endpoint.name]
        reading = _Reading(
            job=job,
            table=table.name,
            label=f"{self.source} {table.name}" if self.source != "default" else table.name,
            start=start,
            target=settled_target(job, start, self.now),
            synced=state.synced_until if state is not None else start,
            cursor=start,
            read_from=start if state is None else None,
        )
        older = self._older_range(job, state)
        history = -(-(older[1] - older[0]) // width) if older else 0
        self.bars.track(reading.label, history + -(-(self.now - start) // width))
        if older is not None and state is not None:
            async for so_far in self._history(reading, state, older, report):
                report = so_far
                yield report
        parts = segments(job, start, self.now)
        for number, part in enumerate(parts):
            stream = self.client.stream(
                job.endpoint.name,
                start_time=part.start,
                end_time=part.end,
                bucket_width=job.width,
                group_by=list(part.group_by) or None,
                limit=job.endpoint.page_limit(job.width).maximum,
                concurrency=self.concurrency,
            )
            columns, shape = self.store.shaper(job, self.source, part.group_by)
            async for page in stream.row_pages(columns):
                final = number == len(parts) - 1 and stream.done
                report = await self._page(reading, page, shape, final, report)
                yield report

    def _older_range(self, job: Job, state: State | None) -> tuple[int, int] | None:
        """The range before where the table's reading began that ``since`` asks for, if any
        (empty buckets read once are not read again: the state says where reading began)."""
        if self.history is None or state is None:
            return None
        began = state.read_from
        if began is None:  # an older version's state: its first bucket, if it has rows
            began = self.history.get(job.endpoint.name)
        if began is None:  # nor rows: whatever was read before is empty
            began = state.settled_until
        start = job.endpoint.bucket_origin(floor_to(self.first, job.width_seconds))
        return (start, began) if start < began else None

    async def _history(
        self, reading: _Reading, state: State, older: tuple[int, int], report: TableReport
    ) -> AsyncIterator[TableReport]:
        """Add ``older`` before the table's first bucket (see ``_history``), saying so."""
        self.tell(f"{reading.label}: adding {span_text(*older)} before the first bucket")
        parts = history_parts(
            self.client, self.store, self.source, reading.job, state, *older, self.writes.run
        )
        async for part in parts:
            self._see(reading.job, part.rows)
            report = attrs.evolve(
                report,
                rows=report.rows + len(part.rows),
                skipped=report.skipped + self._skipped(reading.table, part.buckets),
                pages=report.pages + part.pages,
                start=utc_datetime(part.start),
            )
            self.bars.advance(reading.label, len(part.buckets), len(part.rows))
            yield report

    async def _page(
        self,
        reading: _Reading,
        page: Page[tuple[Any, ...]],
        shape: Callable[[Bucket[tuple[Any, ...]]], list[tuple[Any, ...]]],
        final: bool,
        report: TableReport,
    ) -> TableReport:
        """Write one page of the table (``final``: its last) with the state it moves to, in
        one transaction; return the table's report after it."""
        covered = page.data[-1].end_time if page.data else reading.cursor
        if not page.data and not final:
            return attrs.evolve(report, pages=report.pages + 1)
        rows = [row for bucket in page.data for row in shape(bucket)]
        self._see(reading.job, rows)
        skipped = self._skipped(reading.table, page.data)
        # Never past the data written: the state is in the same transaction.
        settled = reading.target if final else max(reading.start, min(reading.target, covered))
        reading.synced = self.now if final else max(reading.synced, covered)
        await self.writes.run(
            self.store.replace(
                reading.job,
                self.source,
                reading.cursor,
                None if final else covered,
                rows,
                settled,
                reading.synced,
                reading.read_from,
            )
        )
        reading.cursor = covered
        report = attrs.evolve(
            report,
            rows=report.rows + len(rows),
            skipped=report.skipped + skipped,
            pages=report.pages + 1,
            start=utc_datetime(reading.start),
            end=utc_datetime(max(covered, self.now) if final else covered),
            settled_until=utc_datetime(settled),
        )
        self.bars.advance(reading.label, len(page.data), len(rows))
        return report

    def _see(self, job: Job, rows: Sequence[tuple[Any, ...]]) -> None:
        """Note the API keys of ``rows`` (of ``job``'s table), with their projects."""
        names = self.store.schema.usage[job.endpoint.name].columns.keys()
        if "api_key_id" not in names:
            return
        key = names.index("api_key_id")
        project = names.index("project_id") if "project_id" in names else None
        for row in rows:
            if row[key] is not None:
                self.seen.add((row[project] if project is not None else None, row[key]))

    def _skipped(self, table: str, buckets: Sequence[Bucket[Any]]) -> int:
        """Log the results of ``buckets`` that could not be typed (not written); count them."""
        count = 0
        for bucket in buckets:
            for untyped in bucket.unknown:
                logger.warning(
                    "sync %s: skipping a result in %s, bucket starting %s: %s (%r)",
                    self.source,
                    table,
                    iso_utc(bucket.start_time),
                    untyped.reason,
                    untyped.object,
                )
                count += 1
        return count


@attrs.define
class _Reading:
    """Where the reading of one table is: what it reads, and how far it has written."""

    job: Job
    table: str
    label: str  # the progress reporter's name of the table
    start: int  # where this run reads from
    target: int  # where settled_until goes once the run has read to the server's now
    synced: int  # how far the data written reaches
    cursor: int  # where the next page's rows start
    read_from: int | None  # a first run's start, for its state; None keeps the state's
