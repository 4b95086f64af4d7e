"""SQLite as a sync database: everything the sync does differently for it (see ``_backend``).

SQLite has no time or decimal type: instants are ISO-8601 UTC text of one fixed width
(``2026-11-01T00:00:00Z``), which sorts and compares like the instants, and money is
decimal text with every digit (``focus_number``'s). It runs in WAL mode (readers such as
Grafana or DuckDB see the last commit while a sync writes) with ``BEGIN IMMEDIATE``
transactions, and one writer at a time: the store serialises page writes in-process, since
waiting on an asyncio lock beats sleeping in SQLite's busy handler.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
from collections.abc import Collection
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .._time import iso_utc
from ..focus._columns import focus_number
from ._backend import PageWrite, literal_sql, on_conflict_update

__all__ = ["SQLITE", "SQLiteBackend"]

# Whitespace Python's str.split() splits on, in the ASCII range, for SQLite's replace().
_ASCII_SPACES = (9, 10, 11, 12, 13, 28, 29, 30, 31)


class SQLiteBackend:
    """SQLite through aiosqlite (the ``sync`` extra)."""

    name = "sqlite"
    url_form = "sqlite:///"
    url_example = "sqlite:///PATH"
    driver = "sqlite+aiosqlite"
    driver_module = "aiosqlite"
    extra = "sync"
    one_writer = True

    def configure(self, engine: AsyncEngine) -> None:
        @sa.event.listens_for(engine.sync_engine, "connect")
        def connect(dbapi_connection: Any, record: Any) -> None:
            # The driver's own implicit BEGIN would be deferred: take the write lock up front.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode loses no commit when the process dies, only on power loss.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @sa.event.listens_for(engine.sync_engine, "begin")
        def begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

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
        if not force and self.view_sql(conn, name) == create:
            return
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {quoted}")
        conn.exec_driver_sql(create)

    def view_sql(self, conn: Connection, name: str) -> str | None:
        stored = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :name"),
            {"name": name},
        ).scalar()
        return None if stored is None else str(stored)

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


SQLITE = SQLiteBackend()
"""The SQLite backend."""
