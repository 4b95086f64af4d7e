"""SQLite as a sync database: everything the sync does differently for it (see ``_backend``).

SQLite has no time or decimal type: instants are ISO-8601 UTC text of one fixed width
(``2026-11-01T00:00:00Z``), which sorts and compares like the instants, and money is
decimal text with every digit (``focus_number``'s). It runs in WAL mode (readers such as
Grafana or DuckDB see the last commit while a sync writes) with ``BEGIN IMMEDIATE``
transactions, and one writer at a time: the store serialises page writes in-process, since
waiting on an asyncio lock beats sleeping in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import functools
import json
import os
import re
import sqlite3
import time
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .._time import iso_utc
from ..focus._columns import focus_number
from ._backend import (
    READ_ONLY,
    Holder,
    PageWrite,
    SourceLock,
    literal_sql,
    lock_key,
    on_conflict_update,
)

__all__ = ["SQLITE", "SQLiteBackend"]

# Whitespace Python's str.split() splits on, in the ASCII range, for SQLite's replace().
_ASCII_SPACES = (9, 10, 11, 12, 13, 28, 29, 30, 31)

# An exact sum of decimal text: the whole part, and the fraction in groups of _GROUP digits,
# each summed as a 64-bit integer (no group's sum can overflow: a group is below 10**9).
# Digits past _GROUP * _GROUPS decimal places would be lost: such a sum is null instead.
_GROUP = 9
_GROUPS = 4
_BASE = 10**_GROUP


class SQLiteBackend:
    """SQLite through aiosqlite (the ``sync`` extra)."""

    name = "sqlite"
    url_form = "sqlite:///"
    url_example = "sqlite:///PATH"
    driver = "sqlite+aiosqlite"
    driver_module = "aiosqlite"
    extra = "sync"
    one_writer = True

    def driver_url(self, url: sa.URL) -> sa.URL:
        return url if "+" in url.drivername else url.set(drivername=self.driver)

    def configure(self, engine: AsyncEngine) -> None:
        @sa.event.listens_for(engine.sync_engine, "connect")
        def connect(dbapi_connection: Any, record: Any) -> None:
            # The driver's own implicit BEGIN would be deferred: take the write lock up front.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                # First: switching a new file to WAL takes its write lock, which another run
                # may hold; without a timeout set yet that fails at once ("database is locked").
                cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
                _switch_to_wal(cursor, _BUSY_TIMEOUT)
                # NORMAL in WAL mode loses no commit when the process dies, only on power loss.
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        @sa.event.listens_for(engine.sync_engine, "begin")
        def begin(connection: Connection) -> None:
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")  # a reader: WAL lets it run beside writers
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

    def source_lock(self, engine: AsyncEngine, prefix: str, source: str) -> SourceLock:
        path = engine.url.database or ""
        if path in ("", ":memory:"):  # a database of one connection: nothing else writes it
            return _FileLock(None)
        name = f"{prefix}{source}"
        slug = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:40]
        if slug != name:  # two sources must not share a file
            slug += "-" + f"{lock_key(prefix, source) & 0xFFFFFFFF:08x}"
        return _FileLock(f"{path}.sync-{slug}.lock")

    def lock_schema(self, conn: Connection, prefix: str) -> None:
        pass  # BEGIN IMMEDIATE: the transaction already has the database's one write lock

    def exists(self, url: sa.URL) -> bool:
        path = url.database or ""
        return path in ("", ":memory:") or os.path.exists(path)

    def time_type(self) -> sa.types.TypeEngine[Any]:
        return sa.types.String(20)

    def money_type(self) -> sa.types.TypeEngine[Any]:
        return sa.types.Text()

    def time_value(self, moment: _dt.datetime) -> Any:
        return iso_utc(int(moment.replace(microsecond=0).timestamp()))

    # Cached: every table has the same bucket edges.
    moment = staticmethod(functools.lru_cache(maxsize=8192)(iso_utc))

    def money(self, value: Decimal | int) -> Any:
        return focus_number(value)

    def upsert(self, table: sa.Table, *, null_keeps: Collection[str] = ()) -> Any:
        return on_conflict_update(sqlite.insert(table), table, null_keeps)

    async def write_page(self, driver: Any, page: PageWrite) -> None:
        await driver.execute("BEGIN IMMEDIATE")
        try:
            await driver.execute(page.delete, page.bounds)
            if page.rows:
                await driver.executemany(page.insert, page.rows)
            await driver.execute(page.state, page.state_values)
        except BaseException:
            with contextlib.suppress(Exception):  # the error to raise is the first one
                await driver.execute("ROLLBACK")
            raise
        await driver.execute("COMMIT")

    def create_view(
        self, conn: Connection, name: str, select: sa.Select[Any], *, force: bool = False
    ) -> None:
        quoted = conn.dialect.identifier_preparer.quote(name)
        create = f"CREATE VIEW {quoted} AS {literal_sql(select, conn.dialect)}"
        # SQLite keeps the statement's text as it was given: the same text is the same view.
        if not force and _stored_view_sql(conn, name) == create:
            return
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {quoted}")
        conn.exec_driver_sql(create)

    def typed(
        self, value: sa.ColumnElement[Any], kind: Literal["Decimal", "DateTime"]
    ) -> sa.ColumnElement[Any]:
        # Money stays the costs table's decimal text and times its ISO text.
        return value

    def month_start(
        self, moment: sa.ColumnElement[Any], *, next_month: bool
    ) -> sa.ColumnElement[Any]:
        if next_month:
            return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", moment, "start of month", "+1 month")
        return sa.func.strftime("%Y-%m-01T00:00:00Z", moment)

    def capitalised(self, text: str) -> sa.ColumnElement[Any]:
        spaced = f"replace({text}, '_', ' ')"
        for code in _ASCII_SPACES:
            spaced = f"replace({spaced}, char({code}), ' ')"
        # Word by word: upper-case the head of what is left, up to the next space.
        return sa.literal_column(
            "(WITH RECURSIVE words(rest, done) AS ("
            f"SELECT t || ' ', '' FROM (SELECT trim({spaced}) AS t) WHERE t <> '' "
            "UNION ALL SELECT ltrim(substr(rest, instr(rest, ' '))), done || "
            "CASE WHEN done = '' THEN '' ELSE ' ' END || upper(substr(rest, 1, 1)) || "
            "substr(rest, 2, instr(rest, ' ') - 2) FROM words WHERE rest <> '') "
            "SELECT coalesce(max(CASE WHEN rest = '' THEN done END), '') FROM words)"
        )

    def utc_day(self, moment: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.substr(moment, 1, 10)  # ISO text: YYYY-MM-DD

    def day_type(self) -> sa.types.TypeEngine[Any]:
        return sa.types.String(10)

    def money_sum_parts(self, money: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
        negative = sa.func.substr(money, 1, 1) == "-"
        digits = sa.func.ltrim(money, "-")
        dot = sa.func.instr(digits, ".")
        whole = sa.case((dot == 0, digits), else_=sa.func.substr(digits, 1, dot - 1))
        fraction = sa.case((dot == 0, ""), else_=sa.func.substr(digits, dot + 1))
        places = _GROUP * _GROUPS
        padded = sa.func.substr(fraction.concat("0" * places), 1, places)

        def signed_sum(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
            number = sa.cast(text, sa.Integer())
            return sa.func.sum(sa.case((negative, -number), else_=number))

        groups = [sa.func.substr(padded, 1 + _GROUP * n, _GROUP) for n in range(_GROUPS)]
        return [
            signed_sum(whole),
            *(signed_sum(group) for group in groups),
            sa.func.max(sa.func.length(fraction)),
        ]

    def money_sum(self, parts: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
        return sa.literal_column(_exact_total([_sql(part) for part in parts]))


class _FileLock:
    """A source's lock on SQLite: ``flock`` on a file beside the database, which the kernel
    lets go when the process ends however it ends (a row in the database would outlive a
    killed run). The holder writes who it is into the file for the runs that wait."""

    POLL = 0.2  # seconds between tries while waiting: the wait stays cancellable

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        import fcntl  # POSIX: where the sync runs (Windows has no flock)

        if self.path is None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(attrs.asdict(Holder.this_process())).encode(), 0)
        return True

    async def acquire(self) -> None:
        # Polled: the holder is another process, which no asyncio primitive hears from.
        while not await self.try_acquire():  # noqa: ASYNC110
            await asyncio.sleep(self.POLL)

    async def holder(self) -> Holder | None:
        if self.path is None:
            return None
        try:  # a few bytes on a local disk: no thread for it
            fd = os.open(self.path, os.O_RDONLY)
            try:
                return Holder(**json.loads(os.read(fd, 4096)))
            finally:
                os.close(fd)
        except (OSError, ValueError, TypeError):  # being written, or not ours
            return None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)  # nobody holds it: a waiter reads no stale holder
            os.close(fd)


def _stored_view_sql(conn: Connection, name: str) -> str | None:
    """The statement that made the view ``name``, as SQLite keeps it; ``None`` if there is
    no such view."""
    stored = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :name"),
        {"name": name},
    ).scalar()
    return None if stored is None else str(stored)


def _sql(expression: sa.ColumnElement[Any]) -> str:
    return str(expression.compile(dialect=sqlite.dialect()))


def _exact_total(parts: Sequence[str]) -> str:
    """SQL of the decimal text of ``money_sum_parts``' sums, given as the SQL ``parts``:
    the whole parts' sum, the fraction groups' sums, the longest fraction.

    Each nested query turns the last group still summed into a digit group (0 to
    10**9 - 1) and carries the rest into the group before it, the first into the whole
    part, which so floors the value. A negative total with a fraction is written from its
    complement: a whole part of -2 and a fraction of 0.25 is -1.75.
    """
    whole, *sums, longest = parts
    count = len(sums)
    groups = [f"g{n}" for n in range(count)]  # the groups' sums, carried into step by step
    digits = [f"d{n}" for n in range(count)]  # the groups once they are digits
    columns = {"w": whole, **dict(zip(groups, sums, strict=True)), "longest": longest}
    query = "SELECT " + ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
    for n in reversed(range(count)):
        digit = f"((({groups[n]} % {_BASE}) + {_BASE}) % {_BASE})"
        higher = "w" if n == 0 else groups[n - 1]
        columns = {name: name for name in ["w", *groups[:n], *digits[n + 1 :], "longest"]}
        columns[higher] = f"{higher} + ({groups[n]} - {digit}) / {_BASE}"
        columns[digits[n]] = digit
        query = (
            "SELECT "
            + ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
            + f" FROM ({query})"
        )
    fraction = " OR ".join(f"{d} <> 0" for d in digits)
    negative = f"(w < 0 AND ({fraction}))"
    shown = []
    for n, d in enumerate(digits):
        # 10**(9 * count) minus the fraction, group by group: the lowest group that is not
        # zero takes 10**9 minus itself, the ones above it 10**9 - 1 minus themselves.
        lower = " OR ".join(f"{e} <> 0" for e in digits[n + 1 :]) or "0"
        complement = (
            f"CASE WHEN {lower} THEN {_BASE - 1} - {d} WHEN {d} <> 0 THEN {_BASE} - {d} ELSE 0 END"
        )
        shown.append(f"CASE WHEN {negative} THEN {complement} ELSE {d} END")
    pattern = f"%0{_GROUP}d" * count
    text = (
        f"CASE WHEN longest > {_GROUP * count} THEN NULL ELSE "
        f"(CASE WHEN {negative} THEN '-' || (-1 - w) ELSE CAST(w AS TEXT) END) || "
        f"(CASE WHEN {fraction} THEN '.' || rtrim(printf('{pattern}', {', '.join(shown)}), "
        "'0') ELSE '' END) END"
    )
    return f"(SELECT {text} FROM ({query}))"


SQLITE = SQLiteBackend()
"""The SQLite backend."""


# How long a connection waits for another's write lock (seconds): a page or a schema.
_BUSY_TIMEOUT = 60.0

# How often a connection that lost the race to switch a new file to WAL tries again, and
# the pause before each try (seconds, growing): about 2 s in all.
_WAL_TRIES = 20
_WAL_PAUSE = 0.01


def _switch_to_wal(cursor: Any, busy_timeout: float) -> None:
    """``PRAGMA journal_mode=WAL`` on ``cursor``'s connection, again if it lost a race.

    Connections switching a new file at once can deadlock inside SQLite (each holds a read
    lock and wants the write lock), and SQLite answers one of them "database is locked" at
    once, without waiting its busy timeout. Seen with two sources' first runs on one new
    file: one run failed, and another connection sometimes waited out its whole timeout.
    The loser tries again after a pause, by when the winner's switch is done and the file
    is in WAL. The pause blocks the event loop, only in this race on a new file. A "locked"
    that came after waiting (``busy_timeout``, seconds: a writer held a file not in WAL that
    long) is raised as it is: trying again would wait the whole timeout each time.
    """
    for attempt in range(_WAL_TRIES):
        began = time.monotonic()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            waited = time.monotonic() - began >= busy_timeout / 2
            if "locked" not in str(error) or waited or attempt == _WAL_TRIES - 1:
                raise
        time.sleep(_WAL_PAUSE * (attempt + 1))
