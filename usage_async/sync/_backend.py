"""What the sync asks of a database, as one interface: ``Backend``.

Everything that differs between databases is a member of a backend: the driver and the extra
that installs it, the engine's set-up, the column types and how values are bound to them,
the upsert, the page's transaction as the driver runs it, whether writes take turns, and the
SQL and introspection of views. Each database is one module (``_sqlite``, ``_postgresql``)
holding one backend, and ``_registry`` maps a URL scheme or dialect name to it: only the
backend modules know a dialect, and nothing else in the sync tests a dialect's name.

Adding a database is one module implementing ``Backend`` and one entry in the registry.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import socket
import time
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, Literal, Protocol

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from .._time import utc_text

__all__ = [
    "READ_ONLY",
    "Backend",
    "Holder",
    "PageWrite",
    "SourceLock",
    "literal_sql",
    "lock_key",
    "on_conflict_update",
]


READ_ONLY = "usage_async_read_only"
"""An execution option: a connection that has it set only reads (a backend may begin its
transactions without taking a write lock)."""


@attrs.frozen
class PageWrite:
    """One page's transaction, in SQL compiled for the database and the driver's values.

    Delete the rows ``bounds`` selects with ``delete``; insert ``rows`` (tuples in
    ``columns`` order) into ``table`` with ``insert`` or the backend's bulk load; upsert the
    state row with ``state`` and ``state_values``.
    """

    table: str
    columns: tuple[str, ...]
    delete: str
    bounds: tuple[Any, ...]
    insert: str
    rows: Sequence[tuple[Any, ...]]
    state: str
    state_values: tuple[Any, ...]


@attrs.frozen
class Holder:
    """Who holds a source's lock: the process, the machine, since when (Unix seconds)."""

    pid: int | None = None
    host: str | None = None
    since: int | None = None

    @classmethod
    def this_process(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), int(time.time()))

    def __str__(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "another process"
        if self.host:
            who += f" on {self.host}"
        if self.since is not None:
            who += f" (since {utc_text(self.since)})"
        return who


class SourceLock(Protocol):
    """A backend's lock of one source (``Backend.source_lock``), held by one run at a time
    across processes and machines: not reentrant; released by ``release`` or by the end of
    the process that holds it."""

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; whether it was taken."""

    async def acquire(self) -> None:
        """Take the lock, waiting as long as another holds it (cancellable)."""

    async def holder(self) -> Holder | None:
        """Who holds the lock now, as far as the database can tell; ``None`` if unknown."""

    async def release(self) -> None:
        """Let the lock go (also when it was never taken)."""


class Backend(Protocol):
    """One database as the sync uses it (see the module's docstring)."""

    name: str
    """The dialect's name and the URL's scheme: ``sqlite``."""
    url_form: str
    """The URL's start as messages show it: ``sqlite:///``."""
    url_example: str
    """A URL as a user writes it: ``sqlite:///PATH``."""
    driver: str
    """The SQLAlchemy driver name the sync uses: ``sqlite+aiosqlite``."""
    driver_module: str
    """The module that driver imports: ``aiosqlite``."""
    extra: str
    """The extra of this package that installs ``driver_module``: ``sync``."""
    one_writer: bool
    """Writes take turns: the store runs one page transaction at a time per engine."""

    def driver_url(self, url: sa.URL) -> sa.URL:
        """``url`` as the sync's ``driver`` takes it: the driver named, and options in the
        form users write them (libpq's ``?sslmode=require``) in the driver's own."""

    def configure(self, engine: AsyncEngine) -> None:
        """Set up a new engine for the sync (pragmas, how transactions begin)."""

    def source_lock(self, engine: AsyncEngine, prefix: str, source: str) -> SourceLock:
        """The lock that lets one run at a time write the tables of ``source`` under
        ``prefix`` in ``engine``'s database (see ``_lock``)."""

    def lock_schema(self, conn: Connection, prefix: str) -> None:
        """Make the transaction of ``conn`` the only one creating or altering the tables
        under ``prefix`` until it ends (two first runs must not both create a table)."""

    def exists(self, url: sa.URL) -> bool:
        """Whether the database of ``url`` exists without connecting to it creating it: a
        server's database is assumed to (connecting does not create it)."""

    def time_type(self) -> sa.types.TypeEngine[Any]:
        """The column type of an instant (``UtcDateTime``)."""

    def money_type(self) -> sa.types.TypeEngine[Any]:
        """The column type of an exact decimal (``ExactDecimal``)."""

    def time_value(self, moment: _dt.datetime) -> Any:
        """An aware UTC ``datetime`` as it is bound to a ``time_type`` column."""

    def moment(self, seconds: int) -> Any:
        """Unix seconds as the driver takes them for a ``time_type`` column (the instant
        ``time_value`` binds: the page writes bypass SQLAlchemy's binding)."""

    def money(self, value: Decimal | int) -> Any:
        """An exact amount as it is bound to a ``money_type`` column, every digit kept."""

    def upsert(self, table: sa.Table, *, null_keeps: Collection[str] = ()) -> Any:
        """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of ``table``'s other columns;
        a column in ``null_keeps`` keeps its stored value where the new one is null."""

    async def write_page(self, driver: Any, page: PageWrite) -> None:
        """Run ``page`` as one transaction on ``driver`` (a pooled connection's driver
        connection); a failure rolls it back whole and raises."""

    def create_view(
        self, conn: Connection, name: str, select: sa.Select[Any], *, force: bool = False
    ) -> None:
        """Create the view ``name`` of ``select``, or replace it if its definition is
        another; one that is already this one is left alone unless ``force``."""

    def typed(
        self, value: sa.ColumnElement[Any], kind: Literal["Decimal", "DateTime"]
    ) -> sa.ColumnElement[Any]:
        """A view's money (``Decimal``) or time (``DateTime``) column as the view gives it."""

    def month_start(
        self, moment: sa.ColumnElement[Any], *, next_month: bool
    ) -> sa.ColumnElement[Any]:
        """The start of the UTC month of ``moment`` (of the next month if ``next_month``),
        in the database's time type."""

    def capitalised(self, text: str) -> sa.ColumnElement[Any]:
        """The SQL text ``text`` with each word (``_`` and whitespace separate words)
        capitalised and the words joined by one space; ``''`` for no word."""

    def utc_day(self, moment: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The UTC day of ``moment`` (a ``time_type`` column), of type ``day_type``."""

    def day_type(self) -> sa.types.TypeEngine[Any]:
        """The type of a view's day (``utc_day``): ``DATE``, or ``YYYY-MM-DD`` text."""

    def money_sum_parts(self, money: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
        """The aggregates that sum the ``money_type`` column ``money`` exactly over a group,
        in parts a ``money_sum`` of an outer query makes one value of."""

    def money_sum(self, parts: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
        """The exact sum, in ``money_type``, of the ``money_sum_parts`` given as the columns
        ``parts`` of a grouped subquery."""


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key of ``parts`` (the first 8 bytes of their SHA-256), the
    same in every process and Python version, unlike ``hash()``."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def on_conflict_update(insert: Any, table: sa.Table, null_keeps: Collection[str]) -> Any:
    """``insert`` (a dialect's INSERT that has ON CONFLICT) updating every column of
    ``table`` outside its primary key on a conflict (see ``Backend.upsert``)."""
    keys = [c.name for c in table.primary_key.columns]
    updates: dict[str, Any] = {}
    for column in table.columns:
        if column.name in keys:
            continue
        new = insert.excluded[column.name]
        updates[column.name] = sa.func.coalesce(new, column) if column.name in null_keeps else new
    return insert.on_conflict_do_update(index_elements=keys, set_=updates)


def literal_sql(select: sa.Select[Any], dialect: Dialect) -> str:
    """``select`` as SQL text for ``dialect`` with its values written in (a view's body)."""
    return str(select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
