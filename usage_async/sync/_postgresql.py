"""PostgreSQL as a sync database: everything the sync does differently for it (see ``_backend``).

Instants are ``timestamptz`` and money ``NUMERIC``, bound as aware datetimes and
``Decimal``. A page's rows go in with asyncpg's ``COPY``; writers run side by side (MVCC).
A view carries a digest of the statement that made it in its comment (PostgreSQL keeps no
statement text), so a run tells whether it is this version's view with SELECT alone: a run
after the first needs no TEMP and no CREATE. A view that differs is replaced with ``CREATE
OR REPLACE VIEW``, which keeps the views a user built on it. A source's lock is a
session-level advisory lock, and schema changes take a transaction-level one.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .._time import utc_datetime
from ..focus._columns import exact_decimal
from ._backend import Holder, PageWrite, SourceLock, literal_sql, lock_key, on_conflict_update

__all__ = ["POSTGRESQL", "PostgreSQLBackend"]

_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "Decimal": sa.Numeric(),
    "DateTime": sa.DateTime(timezone=True),
}


class PostgreSQLBackend:
    """PostgreSQL through asyncpg (the ``postgres`` extra)."""

    name = "postgresql"
    url_form = "postgresql://"
    url_example = "postgresql://USER@HOST/DATABASE"
    driver = "postgresql+asyncpg"
    driver_module = "asyncpg"
    extra = "postgres"
    one_writer = False

    def driver_url(self, url: sa.URL) -> sa.URL:
        if "+" not in url.drivername:
            url = url.set(drivername=self.driver)
        if url.get_driver_name() == "asyncpg" and "sslmode" in url.query:
            # libpq's spelling, which psql, Grafana and every PostgreSQL URL users copy have;
            # asyncpg refuses it and takes the same modes as ssl=.
            query = dict(url.query)
            query.setdefault("ssl", query.pop("sslmode"))
            query.pop("sslmode", None)
            url = url.set(query=query)
        return url

    def configure(self, engine: AsyncEngine) -> None:
        pass  # asyncpg's defaults are the sync's

    def source_lock(self, engine: AsyncEngine, prefix: str, source: str) -> SourceLock:
        return _AdvisoryLock(engine, lock_key("usage-async sync", prefix, source), source)

    def lock_schema(self, conn: Connection, prefix: str) -> None:
        # Released at the transaction's end. CREATE TABLE IF NOT EXISTS is not enough: two
        # at once both find no table and one fails on pg_type's unique index.
        key = lock_key("usage-async schema", prefix)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def exists(self, url: sa.URL) -> bool:
        return True  # connecting never creates a database; a missing one is refused then

    def time_type(self) -> sa.types.TypeEngine[Any]:
        return sa.types.DateTime(timezone=True)

    def money_type(self) -> sa.types.TypeEngine[Any]:
        return sa.types.Numeric(asdecimal=True)

    def time_value(self, moment: _dt.datetime) -> Any:
        return moment

    # Cached: every table has the same bucket edges.
    moment = staticmethod(functools.lru_cache(maxsize=8192)(utc_datetime))

    def money(self, value: Decimal | int) -> Any:
        return exact_decimal(value)

    def upsert(self, table: sa.Table, *, null_keeps: Collection[str] = ()) -> Any:
        return on_conflict_update(postgresql.insert(table), table, null_keeps)

    async def write_page(self, driver: Any, page: PageWrite) -> None:
        async with driver.transaction():
            await driver.execute(page.delete, *page.bounds)
            if page.rows:
                await driver.copy_records_to_table(
                    page.table, records=page.rows, columns=page.columns
                )
            await driver.execute(page.state, *page.state_values)

    def create_view(
        self, conn: Connection, name: str, select: sa.Select[Any], *, force: bool = False
    ) -> None:
        body = literal_sql(select, conn.dialect)
        quoted = conn.dialect.identifier_preparer.quote(name)
        # PostgreSQL keeps no statement text to compare with, and rewording ours into its
        # own takes a temporary view (the TEMP privilege): the view's comment carries a
        # digest of the statement instead, read back with the catalog's SELECT alone.
        marker = f"usage-async view v{hashlib.sha256(body.encode()).hexdigest()[:16]}"
        if not force and _view_comment(conn, quoted) == marker:
            return
        # OR REPLACE keeps views a user built on this one; the columns never change type.
        conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {quoted} AS {body}")
        conn.exec_driver_sql(f"COMMENT ON VIEW {quoted} IS '{marker}'")

    def typed(
        self, value: sa.ColumnElement[Any], kind: Literal["Decimal", "DateTime"]
    ) -> sa.ColumnElement[Any]:
        return sa.cast(value, _TYPES[kind])

    def month_start(
        self, moment: sa.ColumnElement[Any], *, next_month: bool
    ) -> sa.ColumnElement[Any]:
        month: sa.ColumnElement[Any] = sa.func.date_trunc("month", sa.func.timezone("UTC", moment))
        if next_month:
            month = month + sa.literal_column("interval '1 month'")
        return sa.func.timezone("UTC", month)

    def capitalised(self, text: str) -> sa.ColumnElement[Any]:
        return sa.literal_column(
            "coalesce((SELECT string_agg(upper(left(w, 1)) || substr(w, 2), ' ' "
            "ORDER BY n) FROM regexp_split_to_table(replace("
            f"{text}, '_', ' '), '\\s+') WITH ORDINALITY AS words(w, n) WHERE w <> ''), '')"
        )

    def utc_day(self, moment: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.cast(sa.func.timezone("UTC", moment), sa.Date())

    def day_type(self) -> sa.types.TypeEngine[Any]:
        return sa.Date()

    def money_sum_parts(self, money: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
        return [sa.func.sum(money)]  # NUMERIC sums exactly

    def money_sum(self, parts: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
        (total,) = parts
        return total


# Who holds an advisory lock of one bigint key (PostgreSQL splits it into two oids).
_HOLDER = (
    "SELECT a.application_name, a.pid, host(a.client_addr) AS host, a.state_change "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 "
    "AND l.objsubid = 1 LIMIT 1"
)
_OURS = re.compile(r"usage-async sync pid (\d+) on (\S+)")


class _AdvisoryLock:
    """A source's lock on PostgreSQL: a session-level advisory lock on a connection of its
    own, held for the run and closed after it (the server lets the lock go with the session,
    also when the process dies). The session's ``application_name`` says who holds it, for
    the runs that wait (``pg_locks`` joined with ``pg_stat_activity``) and for a DBA."""

    def __init__(self, engine: AsyncEngine, key: int, source: str) -> None:
        self.engine = engine
        self.key = key
        me = Holder.this_process()
        self.name = f"usage-async sync pid {me.pid} on {me.host} of {source}"[:63]
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    async def _session(self) -> Any:
        if self._conn is None:
            self._conn = await self.engine.connect()
            raw = await self._conn.get_raw_connection()
            self._driver = raw.driver_connection
            # Outside any transaction (asyncpg autocommits): nothing stays open but the lock.
            await self._driver.execute(
                "SELECT set_config('application_name', $1, false)", self.name
            )
        return self._driver

    async def try_acquire(self) -> bool:
        driver = await self._session()
        return bool(await driver.fetchval("SELECT pg_try_advisory_lock($1)", self.key))

    async def acquire(self) -> None:
        driver = await self._session()
        await driver.execute("SELECT pg_advisory_lock($1)", self.key)

    async def holder(self) -> Holder | None:
        driver = await self._session()
        row = await driver.fetchrow(_HOLDER, (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF)
        if row is None:
            return None
        since = int(row["state_change"].timestamp()) if row["state_change"] else None
        ours = _OURS.match(row["application_name"] or "")
        if ours:
            return Holder(int(ours[1]), ours[2], since)
        return Holder(None, f"PostgreSQL session {row['pid']}", since)

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closed, not returned to the pool: the lock goes with the session, whatever
            # state a cancelled wait left it in.
            await conn.invalidate()
            await conn.close()


def _view_comment(conn: Connection, relation: str) -> str | None:
    """The comment of the view ``relation`` (quoted as SQL names it); ``None`` if there is
    no such view or it has none."""
    found = conn.execute(
        sa.text(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
            "WHERE c.oid = to_regclass(:relation) AND c.relkind = 'v'"
        ),
        {"relation": relation},
    ).scalar()
    return None if found is None else str(found)


POSTGRESQL = PostgreSQLBackend()
"""The PostgreSQL backend."""
