"""The ``focus`` view: the synced costs as FOCUS 1.2 rows, generated from ``FOCUS_COLUMNS``.

One table describes the FOCUS mapping (``usage_async.focus.FOCUS_COLUMNS``): ``focus_rows``
evaluates it in Python, and this module compiles the same expression trees into a
``SELECT`` over the ``costs`` table joined with ``projects`` (same source, same id), with
SQLAlchemy Core where the two databases agree and their own SQL where they do not (dates,
and capitalising a unit name). The view's rows are ``focus_rows``' rows for the same costs,
cell for cell, so the FinOps export and the dashboards share one source.

What a column is in the database: money and quantities are the costs table's own exact
values (``NUMERIC`` on PostgreSQL, decimal text on SQLite); times are ``timestamptz`` on
PostgreSQL and the table's ISO-8601 UTC text on SQLite; the rest is text. ``Setting`` values
are per source in a database shared by several organizations: ``billing_account_id`` is the
organization the source was synced as (the ``sources`` table, joined on ``source``), the
fallback ``focus_rows`` takes from its client; with none known it stays null, never made
up. Settings the database does not keep (``billing_account_name``) are null.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from ..focus._columns import (
    FOCUS_COLUMNS,
    UNIT_NAMES,
    Coalesce,
    Expr,
    Field,
    FocusColumn,
    Literal,
    MonthStart,
    NextMonthStart,
    OnlyWith,
    ProjectName,
    Setting,
    UnitName,
    Upper,
    UtcTime,
)

__all__ = ["create_focus_view", "focus_select"]

# The costs columns that are not text: read as they are (text ones as NULLIF(x, ''), since
# FOCUS wants null, never an empty string, as focus_rows does).
_TIMES = frozenset({"start_time", "end_time"})
_NUMBERS = frozenset({"amount", "quantity"})

_SQL_TYPES: Mapping[str, Any] = {
    "String": sa.Text(),
    "Decimal": sa.Numeric(),
    "DateTime": sa.DateTime(timezone=True),
}

# Whitespace Python's str.split() splits on, in the ASCII range, for SQLite's replace().
_ASCII_SPACES = (9, 10, 11, 12, 13, 28, 29, 30, 31)


class _Compiler:
    """Compiles source expressions for one dialect, over ``costs`` aliased ``c``,
    ``projects`` aliased ``p`` and ``sources`` aliased ``s``."""

    def __init__(
        self,
        dialect: Dialect,
        costs: sa.FromClause,
        projects: sa.FromClause,
        sources: sa.FromClause,
    ) -> None:
        self.dialect = dialect
        self.postgresql = dialect.name == "postgresql"
        self.costs = costs
        self.projects = projects
        self.sources = sources
        self.joined = False
        self.joined_sources = False
        # The settings a database keeps, per source: what each is read from.
        self.settings: Mapping[str, sa.ColumnElement[Any]] = {
            "billing_account_id": sources.c.organization_id,
        }

    def column(self, column: FocusColumn) -> sa.ColumnElement[Any]:
        value = self.compile(column.source)
        if column.type == "String" or self.postgresql:
            # SQLite keeps money as text and times as ISO text: its columns stay as stored.
            value = sa.cast(value, _SQL_TYPES[column.type])
        return value.label(column.name)

    def compile(self, expr: Expr) -> sa.ColumnElement[Any]:
        match expr:
            case Field(name):
                return self._field(name)
            case Literal(value):
                return sa.null() if value is None else sa.literal(value, sa.Text())
            case Setting(name):
                setting = self.settings.get(name)
                if setting is None:
                    return sa.null()
                self.joined_sources = True
                return sa.func.nullif(setting, "")
            case ProjectName(project_id):
                if project_id != Field("project_id"):
                    raise ValueError(f"a view joins projects on project_id only: {expr!r}")
                if "project_id" not in self.costs.c:
                    return sa.null()
                self.joined = True
                return sa.func.nullif(self.projects.c.name, "")
            case Coalesce(items):
                return sa.func.coalesce(*(self.compile(i) for i in items))
            case Upper(item):
                return sa.func.upper(self.compile(item))
            case UtcTime(seconds):
                # Times are instants in the database's own type throughout: nothing to format.
                return self.compile(seconds)
            case MonthStart(seconds):
                return self._month_start(self.compile(seconds), next_month=False)
            case NextMonthStart(seconds):
                return self._month_start(self.compile(seconds), next_month=True)
            case UnitName(unit):
                return self._unit_name(self.compile(unit))
            case OnlyWith(item, others):
                present = sa.and_(*(self.compile(other).is_not(None) for other in others))
                return sa.case((present, self.compile(item)), else_=sa.null())
            case _:
                assert_never(expr)

    def _field(self, name: str) -> sa.ColumnElement[Any]:
        if name not in self.costs.c:  # a grouping the costs table was not synced with
            return sa.null()
        column: sa.ColumnElement[Any] = self.costs.c[name]
        if name in _TIMES or name in _NUMBERS:
            return column
        return sa.func.nullif(column, "")

    def _month_start(
        self, moment: sa.ColumnElement[Any], *, next_month: bool
    ) -> sa.ColumnElement[Any]:
        if self.postgresql:
            month: sa.ColumnElement[Any] = sa.func.date_trunc(
                "month", sa.func.timezone("UTC", moment)
            )
            if next_month:
                month = month + sa.literal_column("interval '1 month'")
            return sa.func.timezone("UTC", month)
        if next_month:
            return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", moment, "start of month", "+1 month")
        return sa.func.strftime("%Y-%m-01T00:00:00Z", moment)

    def _unit_name(self, unit: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        known = [(unit == api, sa.literal(name, sa.Text())) for api, name in UNIT_NAMES.items()]
        return sa.case((unit.is_(None), sa.null()), *known, else_=self._capitalised(unit))

    def _capitalised(self, unit: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """Each word of ``unit`` (``_`` and whitespace separate words) with its first letter
        upper-cased, joined by one space: ``focus_unit``'s rule for units it does not know."""
        text = self._sql(unit)
        if self.postgresql:
            return sa.literal_column(
                "coalesce((SELECT string_agg(upper(left(w, 1)) || substr(w, 2), ' ' "
                "ORDER BY n) FROM regexp_split_to_table(replace("
                f"{text}, '_', ' '), '\\s+') WITH ORDINALITY AS words(w, n) WHERE w <> ''), '')"
            )
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

    def _sql(self, expr: sa.ColumnElement[Any]) -> str:
        return str(expr.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))


def focus_select(
    dialect: Dialect,
    costs: sa.Table,
    projects: sa.Table,
    sources: sa.Table,
    columns: Collection[str],
) -> sa.Select[Any]:
    """The view's ``SELECT`` for ``dialect``: one row per row of ``costs`` (whose actual
    columns are ``columns``: a costs table synced without a grouping lacks its column, and
    the FOCUS columns made from it are null), in ``FOCUS_COLUMNS`` order."""
    present = sa.table(
        costs.name, *(sa.column(c.name, c.type) for c in costs.columns if c.name in columns)
    )
    c = present.alias("c")
    p = projects.alias("p")
    s = sources.alias("s")
    compiler = _Compiler(dialect, c, p, s)
    selected = [compiler.column(column) for column in FOCUS_COLUMNS]
    source: sa.FromClause = c
    if compiler.joined:
        source = source.outerjoin(p, sa.and_(p.c.source == c.c.source, p.c.id == c.c.project_id))
    if compiler.joined_sources:
        source = source.outerjoin(s, s.c.source == c.c.source)
    return sa.select(*selected).select_from(source)


def create_focus_view(
    conn: Connection,
    name: str,
    costs: sa.Table,
    projects: sa.Table,
    sources: sa.Table,
    columns: Collection[str],
    *,
    force: bool = False,
) -> None:
    """Create the view ``name`` over ``costs``, ``projects`` and ``sources`` (see
    ``focus_select``), or replace it if its definition is not this one, in the connection's
    transaction.

    A view that is already this one is left alone unless ``force`` (its ``costs`` table was
    made or altered in this transaction): replacing a view takes an exclusive lock on it on
    PostgreSQL, which would stall the dashboards reading it on every run.
    """
    select = focus_select(conn.dialect, costs, projects, sources, columns)
    body = str(select.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    quoted = conn.dialect.identifier_preparer.quote(name)
    if conn.dialect.name == "postgresql":
        if not force and _view_definition(conn, quoted) == _definition_of(conn, body):
            return
        # OR REPLACE keeps views a user built on this one; the columns never change type.
        conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {quoted} AS {body}")
        return
    create = f"CREATE VIEW {quoted} AS {body}"
    stored = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :name"),
        {"name": name},
    ).scalar()
    if not force and stored == create:  # SQLite keeps the statement's text as it was given
        return
    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {quoted}")
    conn.exec_driver_sql(create)


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
    probe = "pg_temp.usage_async_focus_probe"
    conn.exec_driver_sql(f"CREATE TEMPORARY VIEW usage_async_focus_probe AS {body}")
    try:
        return _view_definition(conn, probe)
    finally:
        conn.exec_driver_sql(f"DROP VIEW {probe}")
