"""PostgreSQL as a sync database: everything the sync does differently for it (see ``_backend``).

Instants are ``timestamptz`` and money ``NUMERIC``, bound as aware datetimes and
``Decimal``. A page's rows go in with asyncpg's ``COPY``; writers run side by side (MVCC).
A view's definition is compared with PostgreSQL's own wording of it (``pg_get_viewdef``),
since PostgreSQL keeps no statement text, and replaced with ``CREATE OR REPLACE VIEW``,
which keeps the views a user built on it.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .._time import utc_datetime
from ..focus._columns import exact_decimal
from ._backend import PageWrite, literal_sql, on_conflict_update

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

    def configure(self, engine: AsyncEngine) -> None:
        pass  # asyncpg's defaults are the sync's

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
        if not force and self.view_sql(conn, name) == _definition_of(conn, body):
            return
        # OR REPLACE keeps views a user built on this one; the columns never change type.
        quoted = conn.dialect.identifier_preparer.quote(name)
        conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {quoted} AS {body}")

    def view_sql(self, conn: Connection, name: str) -> str | None:
        return _view_definition(conn, conn.dialect.identifier_preparer.quote(name))

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


def _view_definition(conn: Connection, relation: str) -> str | None:
    """PostgreSQL's text of the view ``relation`` (quoted as SQL names it), ``None`` if
    there is no view of that name."""
    found = conn.execute(
        sa.text(
            "SELECT pg_get_viewdef(c.oid) FROM pg_class c "
            "WHERE c.oid = to_regclass(:relation) AND c.relkind = 'v'"
        ),
        {"relation": relation},
    ).scalar()
    return None if found is None else str(found)


def _definition_of(conn: Connection, body: str) -> str | None:
    """PostgreSQL's text of a view of ``body``: a temporary view's, which PostgreSQL words
    as it words the stored one (it keeps no statement text to compare with)."""
    probe = "pg_temp.usage_async_view_probe"
    conn.exec_driver_sql(f"CREATE TEMPORARY VIEW usage_async_view_probe AS {body}")
    try:
        return _view_definition(conn, probe)
    finally:
        conn.exec_driver_sql(f"DROP VIEW {probe}")


POSTGRESQL = PostgreSQLBackend()
"""The PostgreSQL backend."""
