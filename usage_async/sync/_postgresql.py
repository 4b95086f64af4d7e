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
from collections.abc import Collection
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from .._time import utc_datetime
from ..focus._columns import exact_decimal
from ._backend import PageWrite, on_conflict_update

__all__ = ["POSTGRESQL", "PostgreSQLBackend"]


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


POSTGRESQL = PostgreSQLBackend()
"""The PostgreSQL backend."""
