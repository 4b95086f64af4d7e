"""PostgreSQL as a sync database: everything the sync does differently for it (see ``_backend``).

Instants are ``timestamptz`` and money ``NUMERIC``, bound as aware datetimes and
``Decimal``. A page's rows go in with asyncpg's ``COPY``; writers run side by side (MVCC).
A view's definition is compared with PostgreSQL's own wording of it (``pg_get_viewdef``),
since PostgreSQL keeps no statement text, and replaced with ``CREATE OR REPLACE VIEW``,
which keeps the views a user built on it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["POSTGRESQL", "PostgreSQLBackend"]


class PostgreSQLBackend:
    """PostgreSQL through asyncpg (the ``postgres`` extra)."""

    name = "postgresql"
    url_form = "postgresql://"
    url_example = "postgresql://USER@HOST/DATABASE"
    driver = "postgresql+asyncpg"
    driver_module = "asyncpg"
    extra = "postgres"

    def configure(self, engine: AsyncEngine) -> None:
        pass  # asyncpg's defaults are the sync's


POSTGRESQL = PostgreSQLBackend()
"""The PostgreSQL backend."""
