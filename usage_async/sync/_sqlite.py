"""SQLite as a sync database: everything the sync does differently for it (see ``_backend``).

SQLite has no time or decimal type: instants are ISO-8601 UTC text of one fixed width
(``2026-11-01T00:00:00Z``), which sorts and compares like the instants, and money is
decimal text with every digit (``focus_number``'s). It runs in WAL mode (readers such as
Grafana or DuckDB see the last commit while a sync writes) with ``BEGIN IMMEDIATE``
transactions, and one writer at a time: the store serialises page writes in-process, since
waiting on an asyncio lock beats sleeping in SQLite's busy handler.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SQLITE", "SQLiteBackend"]


class SQLiteBackend:
    """SQLite through aiosqlite (the ``sync`` extra)."""

    name = "sqlite"
    url_form = "sqlite:///"
    url_example = "sqlite:///PATH"
    driver = "sqlite+aiosqlite"
    driver_module = "aiosqlite"
    extra = "sync"

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


SQLITE = SQLiteBackend()
"""The SQLite backend."""
