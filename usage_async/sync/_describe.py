"""The schema described by the definitions that make it: every table and view, with each column.

``describe()`` says what a sync creates (tables grouped by every field, as a sync without
``group_by`` makes them), from the very ``Schema`` tables, view definitions and FOCUS
columns that create them, each with its one line; ``describe_database()`` says what a
database has under a prefix, the types as the database reports them and the lines from the
same definitions. ``usage-async sync --describe`` prints them and the docs' schema reference
is generated from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from .._endpoints import ENDPOINTS
from .._exceptions import InvalidParameterError
from ..focus._columns import FOCUS_COLUMNS
from ._registry import backend_of
from ._schema import ExactDecimal, Schema, UtcDateTime, checked_prefix
from ._store import open_engine
from ._views import REPORT_VIEWS

__all__ = ["DescribedColumn", "Relation", "describe", "describe_database"]

# A column's kind where no database is named: what it holds on every backend.
KINDS = {
    "time": "an instant: timestamptz on PostgreSQL, ISO-8601 UTC text on SQLite",
    "decimal": "an exact number: NUMERIC on PostgreSQL, decimal text on SQLite",
    "date": "a UTC day: DATE on PostgreSQL, YYYY-MM-DD text on SQLite",
    "integer": "a 64-bit integer",
    "boolean": "true or false",
    "text": "text",
}
"""The kinds ``describe()`` gives as types when it is asked for no database, and what each
is in each database."""

_FOCUS_KINDS = {"Decimal": "decimal", "DateTime": "time", "String": "text"}


@attrs.frozen
class DescribedColumn:
    """A column: its name, its type (the database's, or a ``KINDS`` kind), whether it may be
    null, and its one line."""

    name: str
    type: str
    meaning: str
    nullable: bool = True


@attrs.frozen
class Relation:
    """A table or view a sync keeps: its name (with the prefix), kind, one line, primary
    key (tables) and columns in order."""

    name: str
    kind: Literal["table", "view"]
    meaning: str
    columns: tuple[DescribedColumn, ...]
    primary_key: tuple[str, ...] = ()


def describe(*, prefix: str = "", dialect: Dialect | None = None) -> list[Relation]:
    """Every table and view a sync creates under ``prefix`` (endpoint tables grouped by every
    field they offer): the bookkeeping, the directory, one table per endpoint, the views.

    Types are ``dialect``'s (SQLite's or PostgreSQL's) or, without one, ``KINDS``. Raises
    ``InvalidParameterError`` for a prefix a sync refuses or a dialect it has no backend
    for.
    """
    schema = _full_schema(checked_prefix(prefix))
    relations = [_table(table, dialect) for table in _tables(schema)]
    for name, meaning, columns in _views(schema):
        described = tuple(
            DescribedColumn(column, _view_type(kind, dialect), line, nullable)
            for column, kind, line, nullable in columns
        )
        relations.append(Relation(name, "view", meaning, described))
    return relations


async def describe_database(database: str | AsyncEngine, *, prefix: str = "") -> list[Relation]:
    """The tables and views of ``describe()`` that ``database`` has under ``prefix``, with
    the columns and types the database reports (a column the definitions do not know has
    no line). Creates nothing: a SQLite file that does not exist is refused.

    Raises ``InvalidParameterError`` for a URL the sync cannot open or a missing SQLite
    file, and SQLAlchemy's errors for a database it cannot reach.
    """
    if isinstance(database, AsyncEngine):
        engine, owned = database, False
    else:
        engine, owned = open_engine(database), True
    try:
        backend = backend_of(engine.dialect)
        if not backend.exists(engine.url):
            raise InvalidParameterError(
                f"there is no database at {engine.url.render_as_string(hide_password=True)}",
                param="database",
            )
        async with engine.connect() as conn:
            return await conn.run_sync(_reflected, describe(prefix=prefix, dialect=engine.dialect))
    finally:
        if owned:
            await engine.dispose()


def _reflected(conn: Connection, defined: Sequence[Relation]) -> list[Relation]:
    """``defined`` as the database has them: the ones it has, with its own columns."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    views = set(inspector.get_view_names())
    found = []
    for relation in defined:
        if relation.name not in (tables if relation.kind == "table" else views):
            continue
        known = {column.name: column for column in relation.columns}
        columns = []
        for column in inspector.get_columns(relation.name):
            definition = known.get(column["name"])
            kind = column["type"]
            if isinstance(kind, sa.types.NullType) and definition is not None:
                shown = definition.type  # SQLite gives a view's computed columns no type
            else:
                shown = str(kind.compile(dialect=conn.dialect))
            meaning = definition.meaning if definition is not None else ""
            columns.append(DescribedColumn(column["name"], shown, meaning, column["nullable"]))
        found.append(attrs.evolve(relation, columns=tuple(columns)))
    return found


def _full_schema(prefix: str) -> Schema:
    schema = Schema(prefix)
    for endpoint in ENDPOINTS.values():
        schema.usage_table(endpoint, endpoint.group_by)
    return schema


def _tables(schema: Schema) -> list[sa.Table]:
    return [
        schema.state,
        schema.sources,
        *schema.directory.values(),
        *(schema.usage[name] for name in ENDPOINTS),
    ]


def _table(table: sa.Table, dialect: Dialect | None) -> Relation:
    columns = tuple(
        DescribedColumn(
            column.name,
            _column_type(column.type, dialect),
            column.comment or "",
            bool(column.nullable),
        )
        for column in table.columns
    )
    key = tuple(column.name for column in table.primary_key.columns)
    return Relation(table.name, "table", table.comment or "", columns, key)


_ViewColumns = list[tuple[str, str, str, bool]]


def _views(schema: Schema) -> list[tuple[str, str, _ViewColumns]]:
    """Each view: its name, its one line, and its columns as (name, kind, one line, whether
    it may be null)."""
    focus = [(c.name, _FOCUS_KINDS[c.type], c.description, c.nullable) for c in FOCUS_COLUMNS]
    views = [
        (
            schema.focus_view,
            "The costs as FOCUS 1.2 rows: what usage-async focus exports for them.",
            focus,
        )
    ]
    for view in REPORT_VIEWS:
        columns: _ViewColumns = [(c.name, c.kind, c.meaning, c.nullable) for c in view.columns]
        views.append((schema.view_name(view.name), view.meaning, columns))
    return views


def _column_type(kind: sa.types.TypeEngine[Any], dialect: Dialect | None) -> str:
    if dialect is not None:
        return str(kind.compile(dialect=dialect))
    if isinstance(kind, UtcDateTime):
        return "time"
    if isinstance(kind, ExactDecimal):
        return "decimal"
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, sa.Integer):
        return "integer"
    return "text"


def _view_type(kind: str, dialect: Dialect | None) -> str:
    if dialect is None:
        return kind
    backend = backend_of(dialect)
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "time": backend.time_type(),
        "decimal": backend.money_type(),
        "date": backend.day_type(),
        "integer": sa.BigInteger(),
        "text": sa.Text(),
    }
    return str(types[kind].compile(dialect=dialect))
