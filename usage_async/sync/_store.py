"""The database side of a sync: engines, the schema check, and the one-transaction writes.

Every page is one transaction: its bucket range is deleted and inserted again, and the
state row that describes it moves in the same transaction, so the state is never ahead of
the data (Singer's rule) whatever instant the process dies at. The page's statements are
compiled once per table by SQLAlchemy and run by the database's backend through the driver
of a pooled connection: per page, going through SQLAlchemy's execution cost more than the
writing (benchmarks/RESULTS.md).

This module knows no database: what differs between them (types and bound values, the
upsert, the page's transaction, engine set-up, whether writes take turns, views) is asked
of the engine's ``Backend`` (``_registry``), and only the backend modules know a dialect.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import re
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .._endpoints import ENDPOINTS
from .._exceptions import InvalidParameterError, UsageError
from .._models import Bucket
from ._backend import READ_ONLY, PageWrite
from ._focus_view import create_focus_view
from ._plan import Job
from ._registry import backend_named, backend_of, extra_providing, url_examples
from ._schema import (
    BOOKKEEPING,
    NOT_STORED,
    ExactDecimal,
    Schema,
    grouping_columns,
    grouping_of,
    stored_fields,
)
from ._views import REPORT_VIEWS, ReportView, report_select

logger = logging.getLogger("usage_async")

__all__ = [
    "BucketWidthChangedError",
    "GroupingChangedError",
    "State",
    "Store",
    "database_exists",
    "database_url",
    "open_engine",
]


class GroupingChangedError(UsageError):
    """A table or its sync state holds another grouping than the one asked for.

    Nothing was changed. The message says how to rebuild (drop the table, or sync into
    other tables with another ``prefix``).
    """


class BucketWidthChangedError(GroupingChangedError):
    """A table holds buckets of another width than the one asked for (a table holds one:
    rows of two widths would be counted twice). Nothing was changed; the message says how
    to sync the other width (into other tables, with another ``prefix``)."""


_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/]*@")


def _password_hidden(url: str) -> str:
    """``url`` with its password (``scheme://user:PASSWORD@host``) as ``***``, as
    SQLAlchemy shows the URLs it could parse."""
    return _PASSWORD.sub(r"\1:***@", url)


def database_url(url: str | sa.URL) -> sa.URL:
    """The SQLAlchemy URL with its asyncio driver: ``sqlite:///`` becomes
    ``sqlite+aiosqlite:///`` and ``postgresql://`` becomes ``postgresql+asyncpg://`` (each
    backend's ``driver``), with libpq's ``sslmode`` given to asyncpg as ``ssl``.

    Raises ``InvalidParameterError`` for a URL of a database with no backend.
    """
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise InvalidParameterError(
            f"{_password_hidden(str(url))!r} is not a database URL; give {url_examples()}",
            param="database",
        ) from None
    return backend_named(parsed.get_backend_name()).driver_url(parsed)


def database_exists(database: str | sa.URL | AsyncEngine) -> bool:
    """Whether the database exists, found out without creating it (a SQLite file is not
    opened; a server's database is taken to exist: connecting never creates one).

    Raises ``InvalidParameterError`` as ``database_url`` does.
    """
    url = database.url if isinstance(database, AsyncEngine) else database_url(database)
    return backend_named(url.get_backend_name()).exists(url)


def open_engine(url: str | sa.URL) -> AsyncEngine:
    """An async engine for ``url`` (see ``database_url``), set up by its backend (SQLite
    for WAL).

    Raises ``InvalidParameterError`` naming the extra to install if its driver is missing.
    """
    parsed = database_url(url)
    try:
        engine = create_async_engine(parsed)
    except ModuleNotFoundError as missing:
        extra = extra_providing(missing.name or "")
        raise InvalidParameterError(
            f"{parsed.drivername} needs {missing.name}: pip install 'usage-async[{extra}]'",
            param="database",
        ) from None
    backend_of(engine.dialect).configure(engine)
    return engine


# One lock per engine: schema changes take it on every database, and page writes too where
# the backend has one writer at a time (``Backend.one_writer``).
_LOCKS: weakref.WeakKeyDictionary[sa.Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock_of(engine: AsyncEngine) -> asyncio.Lock:
    lock = _LOCKS.get(engine.sync_engine)
    if lock is None:
        lock = _LOCKS[engine.sync_engine] = asyncio.Lock()
    return lock


@attrs.frozen
class State:
    """The state row of one source x endpoint x width."""

    group_by: tuple[str, ...]
    settled_until: int
    synced_until: int
    read_from: int | None = None  # None: a state an older version wrote, which kept none


def _seconds(moment: _dt.datetime) -> int:
    return int(moment.timestamp())


def _seconds_or_none(moment: _dt.datetime | None) -> int | None:
    return None if moment is None else _seconds(moment)


class Store:
    """The tables of one database under one prefix, and the writes a sync makes."""

    def __init__(self, engine: AsyncEngine, prefix: str = "") -> None:
        """Raises ``InvalidParameterError`` if ``engine``'s database has no backend."""
        self.engine = engine
        self.backend = backend_of(engine.dialect)
        self.schema = Schema(prefix)
        self._lock = _lock_of(engine)
        self._statements: dict[str, _PageStatements] = {}

    async def states(self, source: str) -> dict[tuple[str, str], State]:
        """The source's state by (endpoint, width) as it is, creating nothing: none for a
        database or a state table that is not there (a SQLite file is not even opened)."""
        if not self.backend.exists(self.engine.url):
            return {}
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            columns = await conn.run_sync(self._state_columns)
            if not columns:
                return {}
            return await self._read_states(conn, source, columns)

    def _state_columns(self, conn: Connection) -> set[str]:
        """The columns the state table has (an older version's may lack some); none if
        there is no state table."""
        inspector = sa.inspect(conn)
        if not inspector.has_table(self.schema.state.name):
            return set()
        return {column["name"] for column in inspector.get_columns(self.schema.state.name)}

    async def _read_states(
        self, conn: AsyncConnection, source: str, columns: Collection[str] | None = None
    ) -> dict[tuple[str, str], State]:
        """The source's states, from the state table's ``columns`` (default: all)."""
        state = self.schema.state
        rows = await conn.execute(
            sa.select(*(c for c in state.columns if columns is None or c.name in columns)).where(
                state.c.source == source
            )
        )
        return {
            (row.endpoint, row.bucket_width): State(
                tuple(f for f in row.group_by.split(",") if f),
                _seconds(row.settled_until),
                _seconds(row.synced_until),
                _seconds_or_none(getattr(row, "read_from", None)),
            )
            for row in rows
        }

    async def first_buckets(self, source: str, jobs: Sequence[Job]) -> dict[str, int | None]:
        """The start of the first bucket of ``source`` in the table of each of ``jobs`` (at
        its width), by endpoint; ``None`` for a table with no row of it."""
        firsts: dict[str, int | None] = {}
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            for job in jobs:
                table = self.schema.usage[job.endpoint.name]
                first = await conn.scalar(
                    sa.select(sa.func.min(table.c.start_time)).where(
                        table.c.source == source, table.c.bucket_width == job.width
                    )
                )
                firsts[job.endpoint.name] = None if first is None else _seconds(first)
        return firsts

    async def prepare(
        self, source: str, jobs: Sequence[Job], organization: str | None = None
    ) -> dict[tuple[str, str], State]:
        """Create what is missing and check what exists; return the source's state by
        (endpoint, width).

        A table grouped otherwise than its job raises ``GroupingChangedError`` and nothing
        is changed. A table that does not exist yet is created and any state left for it is
        dropped (the state of a dropped table describes no data). Columns a newer version of
        this library added are added to existing tables, whose state moves back to their
        first bucket so that the run fills them. ``organization`` (the
        client's) is kept as the source's billing account, for the ``focus`` view's rows
        that name none; ``None`` keeps what an earlier run kept.
        """
        for job in jobs:
            self.schema.usage_table(job.endpoint, job.group_by)
        async with self._lock, self.engine.begin() as conn:
            await conn.run_sync(self.backend.lock_schema, self.schema.prefix)
            await conn.run_sync(self._create_and_check, jobs)
            states = await self._read_states(conn, source)
            for job in jobs:  # raised in the transaction: it rolls back whole
                state = states.get((job.endpoint.name, job.width))
                if state is not None and state.group_by != job.group_by:
                    name = self.schema.table_name(job.endpoint.name)
                    raise GroupingChangedError(
                        _refusal([(name, state.group_by, job.group_by)], self.schema)
                    )
            # A null organization_id keeps the one kept before.
            upsert = self.backend.upsert(self.schema.sources, null_keeps={"organization_id"})
            await conn.execute(upsert, {"source": source, "organization_id": organization})
        return states

    def _create_and_check(self, conn: Connection, jobs: Sequence[Job]) -> None:
        inspector = sa.inspect(conn)
        existing = set(inspector.get_table_names())
        state = self.schema.state
        for table in (state, self.schema.sources, *self.schema.directory.values()):
            if table.name not in existing:
                table.create(conn, checkfirst=True)
            else:
                self._add_columns(conn, table, inspector)
        conflicts = []
        other_widths: list[tuple[str, list[str], str]] = []
        changed = set()  # tables made or altered here
        unstored: list[tuple[sa.Table, list[str]]] = []
        for job in jobs:
            table = self.schema.usage[job.endpoint.name]
            if table.name not in existing:
                table.create(conn, checkfirst=True)
                conn.execute(state.delete().where(state.c.endpoint == job.endpoint.name))
                changed.add(job.endpoint.name)
                continue
            columns = [c["name"] for c in inspector.get_columns(table.name)]
            have = grouping_of(job.endpoint, columns)
            want = grouping_columns(job.endpoint, job.group_by)
            if have != want:
                conflicts.append((table.name, have, want))
                continue
            widths = self._widths_of(conn, table, job.endpoint.name)
            if widths - {job.width}:
                other_widths.append((table.name, sorted(widths), job.width))
                continue
            added = self._add_columns(conn, table, inspector)
            if added:
                changed.add(job.endpoint.name)
                self._read_again(conn, table, job.endpoint.name, [c.name for c in added])
            stale = [name for name in columns if name in NOT_STORED]
            if stale:
                unstored.append((table, stale))
        if conflicts:
            raise GroupingChangedError(_refusal(conflicts, self.schema))
        if other_widths:
            raise BucketWidthChangedError(_width_refusal(other_widths, self.schema))
        self._refresh_views(conn, jobs, changed)
        # After the views: the ones made before read these columns, and a column a view
        # reads cannot be dropped.
        for table, stale in unstored:
            self._drop_unstored(conn, table, stale)

    def _add_columns(
        self, conn: Connection, table: sa.Table, inspector: sa.Inspector
    ) -> list[sa.Column[Any]]:
        """Add the columns of ``table`` that its existing table lacks (a newer version's);
        return them."""
        have = {c["name"] for c in inspector.get_columns(table.name)}
        added = [column for column in table.columns if column.name not in have]
        preparer = conn.dialect.identifier_preparer
        for column in added:
            conn.exec_driver_sql(
                f"ALTER TABLE {preparer.format_table(table)} "
                f"ADD COLUMN {preparer.format_column(column)} {column.type.compile(conn.dialect)}"
            )
        return added

    def _widths_of(self, conn: Connection, table: sa.Table, endpoint: str) -> set[str]:
        """The bucket widths an existing table holds: its states' (every source's), or for
        a table with no state, its rows' (a full read, of a table no run keeps)."""
        widths = self._state_widths(conn, endpoint)
        if not widths:
            widths = set(conn.execute(sa.select(table.c.bucket_width).distinct()).scalars())
        return widths

    def _state_widths(self, conn: Connection, endpoint: str) -> set[str]:
        """The bucket widths the states of ``endpoint`` (every source's) name."""
        state = self.schema.state
        query = sa.select(state.c.bucket_width).where(state.c.endpoint == endpoint).distinct()
        return set(conn.execute(query).scalars())

    def _drop_unstored(self, conn: Connection, table: sa.Table, stale: Sequence[str]) -> None:
        """Drop the columns an earlier version kept that the API never fills (``NOT_STORED``):
        a column that is always null is a trap for the SQL people write."""
        preparer = conn.dialect.identifier_preparer
        for name in stale:
            conn.exec_driver_sql(
                f"ALTER TABLE {preparer.format_table(table)} DROP COLUMN {preparer.quote(name)}"
            )
        logger.warning(
            "%s: dropped the columns %s, which the API leaves empty (names are in the "
            "directory tables and the views)",
            table.name,
            ", ".join(stale),
        )

    def _read_again(
        self, conn: Connection, table: sa.Table, endpoint: str, added: Sequence[str]
    ) -> None:
        """Move the states of ``table`` back to its first bucket (per source and width), in
        the transaction that added the ``added`` columns: the rows already settled have them
        null, and this run reads them again, once, and fills them."""
        state = self.schema.state
        first = (
            sa.select(sa.func.min(table.c.start_time))
            .where(table.c.source == state.c.source, table.c.bucket_width == state.c.bucket_width)
            .scalar_subquery()
        )
        earlier = sa.case((first < state.c.settled_until, first), else_=state.c.settled_until)
        conn.execute(
            state.update().where(state.c.endpoint == endpoint).values(settled_until=earlier)
        )
        logger.warning(
            "%s gained the columns %s: its settled rows have them null, so this run reads "
            "the table again from its first bucket to fill them",
            table.name,
            ", ".join(added),
        )

    def _refresh_views(self, conn: Connection, jobs: Sequence[Job], changed: set[str]) -> None:
        """Create each view whose table exists, from the columns the table has now (a table
        made by another run or another grouping included), or replace it when its table
        changed here (``changed``) or the view is not the one this version makes; otherwise
        leave it alone (see ``create_focus_view``)."""
        inspector = sa.inspect(conn)  # a new one: tables and columns changed since
        tables = set(inspector.get_table_names())
        views: list[tuple[str, str, ReportView | None]] = [("costs", self.schema.focus_view, None)]
        views += [(v.endpoint, self.schema.view_name(v.name), v) for v in REPORT_VIEWS]
        for endpoint, name, view in views:
            table_name = self.schema.table_name(endpoint)
            if table_name not in tables:
                continue
            if name in tables:
                logger.warning("not creating the view %s: a table has that name", name)
                continue
            table = Schema(self.schema.prefix).usage_table(
                ENDPOINTS[endpoint], ENDPOINTS[endpoint].group_by
            )
            columns = {c["name"] for c in inspector.get_columns(table_name)} - NOT_STORED
            force = endpoint in changed
            if view is None:
                create_focus_view(
                    conn, name, table, self.schema.projects, self.schema.sources, columns,
                    force=force,
                )  # fmt: skip
                continue
            width = self._table_width(conn, endpoint, jobs)
            select = report_select(view, self.backend, table, self.schema.projects, columns, width)
            self.backend.create_view(conn, name, select, force=force)

    def _table_width(self, conn: Connection, endpoint: str, jobs: Sequence[Job]) -> str:
        """The bucket width of the table of ``endpoint``: this run's, else its state's."""
        for job in jobs:
            if job.endpoint.name == endpoint:
                return job.width
        widths = self._state_widths(conn, endpoint)
        return min(widths, default=ENDPOINTS[endpoint].default_width)

    async def replace(
        self,
        job: Job,
        source: str,
        start: int,
        end: int | None,
        rows: Sequence[tuple[Any, ...]],
        settled_until: int,
        synced_until: int,
        read_from: int | None = None,
    ) -> None:
        """In one transaction: replace the rows of ``[start, end)`` (``end=None``: everything
        from ``start`` on) of this source and width by ``rows`` (made by ``shaper``), and
        move the state (``read_from=None`` keeps the state's own). A failure rolls the page
        back whole."""
        table = self.schema.usage[job.endpoint.name]
        sql = self._page_statements(table)
        moment = self.backend.moment
        state = {
            "source": source,
            "endpoint": job.endpoint.name,
            "bucket_width": job.width,
            "group_by": ",".join(job.group_by),
            "settled_until": moment(settled_until),
            "synced_until": moment(synced_until),
            "read_from": None if read_from is None else moment(read_from),
        }
        bounds: tuple[Any, ...] = (source, job.width, moment(start))
        delete = sql.delete_from
        if end is not None:
            bounds, delete = (*bounds, moment(end)), sql.delete_range
        page = PageWrite(
            table=table.name,
            columns=sql.columns,
            delete=delete,
            bounds=bounds,
            insert=sql.insert,
            rows=rows,
            state=sql.state,
            state_values=tuple(state[k] for k in sql.state_order),
        )
        # The page's transaction is driven through the driver itself, on a pooled connection:
        # the same statements, a fraction of the cost per page of going through SQLAlchemy.
        async with self._one_writer(), self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await self.backend.write_page(raw.driver_connection, page)

    def _page_statements(self, table: sa.Table) -> _PageStatements:
        """The SQL of a page's transaction on ``table``, compiled once for this database.

        Executed with the driver's values (what ``shaper`` makes): building and compiling
        Core statements on every page cost more than the writes of small pages.
        """
        made = self._statements.get(table.name)
        if made is not None:
            return made
        dialect = self.engine.dialect
        c = table.c
        where = (
            (c.source == sa.bindparam("source"))
            & (c.bucket_width == sa.bindparam("width"))
            & (c.start_time >= sa.bindparam("start"))
        )

        def compiled(statement: Any, order: Sequence[str]) -> str:
            done = statement.compile(dialect=dialect)
            assert list(done.positiontup) == list(order), (done.positiontup, order)
            return str(done)

        columns = tuple(column.name for column in table.columns)
        state = self.schema.state
        made = self._statements[table.name] = _PageStatements(
            delete_from=compiled(table.delete().where(where), ["source", "width", "start"]),
            delete_range=compiled(
                table.delete().where(where & (c.start_time < sa.bindparam("end"))),
                ["source", "width", "start", "end"],
            ),
            insert=compiled(table.insert(), columns),
            # Only the first run and an older range say where the reading began.
            state=compiled(
                self.backend.upsert(state, null_keeps={"read_from"}),
                [column.name for column in state.columns],
            ),
            state_order=tuple(column.name for column in state.columns),
            columns=columns,
        )
        return made

    def shaper(
        self, job: Job, source: str, group_by: Sequence[str]
    ) -> tuple[list[str], Callable[[Bucket[tuple[Any, ...]]], list[tuple[Any, ...]]]]:
        """The row columns to read for the table of ``job``, and a function from a bucket of
        those rows (``stream.row_pages(columns)``) to the table's rows: tuples in column
        order with values as this database's driver takes them (times once per bucket edge,
        and money, as the backend's ``moment`` and ``money`` make them).

        ``group_by`` is what the bucket was read with; the table's other grouping columns
        are null (costs by key before 2025-12-06).
        """
        table = self.schema.usage[job.endpoint.name]
        columns = stored_fields(job.endpoint, job.group_by)
        asked = set(group_by)
        exact = _nullable(self.backend.money)
        fixes: list[tuple[int, Callable[[Any], Any]]] = []
        stored = list(table.columns)[len(BOOKKEEPING) :]
        assert len(stored) == len(columns), (table.name, columns)
        for index, column in enumerate(stored):
            if columns[index] in job.endpoint.group_by and columns[index] not in asked:
                fixes.append((index, _none))
            elif isinstance(column.type, ExactDecimal):
                fixes.append((index, exact))
        moment = self.backend.moment
        width = job.width

        def shape(bucket: Bucket[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            head = (source, width, moment(bucket.start_time), moment(bucket.end_time))
            if not fixes:  # usage: the decoded values are the driver's already
                return [head + values for values in bucket.results]
            out = []
            for values in bucket.results:
                row = list(values)
                for index, fix in fixes:
                    row[index] = fix(row[index])
                out.append(head + tuple(row))
            return out

        return columns, shape

    async def write_directory(
        self,
        source: str,
        *,
        projects: Iterable[Any] = (),
        users: Iterable[Any] = (),
        api_keys: Iterable[Any] = (),
        create: bool = True,
    ) -> dict[str, int]:
        """Upsert the directory records of ``source`` in one transaction; rows written by table.

        Records are kept, not deleted, when they disappear from the directory, so usage of a
        departed user or a deleted key still joins to a name. ``create`` makes the tables
        first where they are missing (``prepare`` has, in a sync).
        """
        given = {"projects": projects, "users": users, "api_keys": api_keys}
        written = {}
        if create:
            async with self._lock, self.engine.begin() as conn:
                await conn.run_sync(self.backend.lock_schema, self.schema.prefix)
                await conn.run_sync(
                    self.schema.metadata.create_all, list(self.schema.directory.values())
                )
        async with self._one_writer(), self.engine.begin() as conn:
            for name, records in given.items():
                table = self.schema.directory[name]
                rows = [_record(table, source, record) for record in records]
                if rows:
                    # A project's key list stays read when the project is written again.
                    upsert = self.backend.upsert(
                        table, null_keeps={"api_keys_read_at"} & set(table.c.keys())
                    )
                    await conn.execute(upsert, rows)
                written[name] = len(rows)
        return written

    async def known_keys(self, source: str, ids: Iterable[str]) -> set[str]:
        """Those of the API key ``ids`` the ``api_keys`` table has for ``source``."""
        ids = sorted(set(ids))
        keys = self.schema.api_keys
        known: set[str] = set()
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            for at in range(0, len(ids), 500):  # bound the statement's size
                chunk = ids[at : at + 500]
                found = await conn.scalars(
                    sa.select(keys.c.id).where(keys.c.source == source, keys.c.id.in_(chunk))
                )
                known.update(found)
        return known

    async def key_lists_to_read(self, source: str, stale_from: int) -> set[str]:
        """The projects of ``source`` whose API keys were never listed, or at or before
        ``stale_from`` (a list as old as the max age is old: a max age of 0 reads them all)."""
        projects = self.schema.projects
        read_at = projects.c.api_keys_read_at
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            found = await conn.scalars(
                sa.select(projects.c.id).where(
                    projects.c.source == source,
                    read_at.is_(None) | (read_at <= stale_from),
                )
            )
            return set(found)

    async def project_ids(self, source: str) -> set[str]:
        """Every project of ``source`` in the ``projects`` table."""
        projects = self.schema.projects
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            return set(
                await conn.scalars(sa.select(projects.c.id).where(projects.c.source == source))
            )

    async def write_keys(
        self, source: str, keys: Sequence[Mapping[str, Any]], projects: Sequence[str], at: int
    ) -> None:
        """Upsert ``keys`` and mark the key lists of ``projects`` read ``at``, in one
        transaction."""
        table, listed = self.schema.api_keys, self.schema.projects
        async with self._one_writer(), self.engine.begin() as conn:
            if keys:
                rows = [_record(table, source, key) for key in keys]
                await conn.execute(self.backend.upsert(table), rows)
            for at_project in range(0, len(projects), 500):
                chunk = projects[at_project : at_project + 500]
                await conn.execute(
                    listed.update()
                    .where(listed.c.source == source, listed.c.id.in_(chunk))
                    .values(api_keys_read_at=at)
                )

    def _one_writer(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """The engine's lock where the database has one writer at a time, else nothing."""
        return self._lock if self.backend.one_writer else contextlib.nullcontext()


def _none(value: Any) -> None:
    return None


def _nullable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def nullable(value: Any) -> Any:
        return None if value is None else convert(value)

    return nullable


@attrs.frozen
class _PageStatements:
    """The compiled SQL of one table's page transaction (see ``Store._page_statements``)."""

    delete_from: str
    delete_range: str
    insert: str
    state: str
    state_order: tuple[str, ...]
    columns: tuple[str, ...]  # the table's, in insert order (a bulk load's too)


def _record(table: sa.Table, source: str, record: Any) -> dict[str, Any]:
    """A directory row from a record object (attributes) or a mapping (keys)."""
    row: dict[str, Any] = {"source": source}
    for column in table.columns:
        if column.name == "source":
            continue
        if isinstance(record, Mapping):
            value = record.get(column.name)
        else:
            value = getattr(record, column.name, None)
        row[column.name] = value
    if not row.get("id"):
        raise InvalidParameterError(
            f"a {table.name} record has no id: {record!r}", param=table.name
        )
    return row


def _refusal(conflicts: Sequence[tuple[str, Sequence[str], Sequence[str]]], schema: Schema) -> str:
    def shown(fields: Sequence[str]) -> str:
        return ", ".join(fields) if fields else "nothing (ungrouped)"

    def drop(table: str) -> str:
        # The views that read the table first (PostgreSQL refuses to drop a table a view
        # reads); the next run makes them again.
        views = [
            schema.view_name(v.name) for v in REPORT_VIEWS if schema.table_name(v.endpoint) == table
        ]
        if table == schema.table_name("costs"):
            views.insert(0, schema.focus_view)
        return "".join(f"DROP VIEW IF EXISTS {view}; " for view in views) + f"DROP TABLE {table};"

    lines = [
        f"{table} is grouped by {shown(have)}, but this sync asks for {shown(want)}"
        for table, have, want in conflicts
    ]
    drops = " ".join(drop(table) for table, _, _ in conflicts)
    return (
        "; ".join(lines) + ". Rows of two groupings in one table would be counted twice, so "
        f"nothing was changed. To rebuild with the new grouping, drop the table ({drops}) and "
        "sync again from --since; to keep both, sync the new grouping into other tables with "
        "--prefix NAME_."
    )


def _width_refusal(conflicts: Sequence[tuple[str, Sequence[str], str]], schema: Schema) -> str:
    """One line per table holding buckets of other widths than ``want``: its widths and the
    way out (another prefix; for a table an older version left with two widths, the
    statements that keep one)."""
    lines = []
    for table, widths, want in conflicts:
        held = " and ".join(widths)
        line = (
            f"{table} holds {held} buckets, but this sync asks for {want}: rows of two widths "
            f"in one table would be counted twice, so nothing was changed; sync {want} buckets "
            f"into other tables with --prefix NAME_"
        )
        if len(widths) > 1:
            endpoint = table.removeprefix(schema.prefix)
            line += (
                f" (to keep only {want} here: DELETE FROM {table} WHERE bucket_width <> "
                f"'{want}'; DELETE FROM {schema.state.name} WHERE endpoint = '{endpoint}' AND "
                f"bucket_width <> '{want}';)"
            )
        lines.append(line)
    return "; ".join(lines) + "."
