"""The ``focus`` view: the synced costs as FOCUS 1.2 rows, generated from ``FOCUS_COLUMNS``.

One table describes the FOCUS mapping (``usage_async.focus.FOCUS_COLUMNS``): ``focus_rows``
evaluates it in Python, and this module compiles the same expression trees into a
``SELECT`` over the ``costs`` table joined with ``projects`` (same source, same id), with
SQLAlchemy Core where the databases agree and the backend's own SQL where they do not (the
types of money and times, the start of a month, capitalising a unit name; creating and
comparing the view): this module knows no database. The view's rows are ``focus_rows``'
rows for the same costs, cell for cell, so the FinOps export and the dashboards share one
source.

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
from ._registry import backend_of

__all__ = ["create_focus_view", "focus_select"]

# The costs columns that are not text: read as they are (text ones as NULLIF(x, ''), since
# FOCUS wants null, never an empty string, as focus_rows does).
_TIMES = frozenset({"start_time", "end_time"})
_NUMBERS = frozenset({"amount", "quantity"})


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
        self.backend = backend_of(dialect)
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
        if column.type == "String":
            value = sa.cast(value, sa.Text())
        else:
            value = self.backend.typed(value, column.type)
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
                return self.backend.month_start(self.compile(seconds), next_month=False)
            case NextMonthStart(seconds):
                return self.backend.month_start(self.compile(seconds), next_month=True)
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

    def _unit_name(self, unit: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        known = [(unit == api, sa.literal(name, sa.Text())) for api, name in UNIT_NAMES.items()]
        return sa.case((unit.is_(None), sa.null()), *known, else_=self._capitalised(unit))

    def _capitalised(self, unit: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """Each word of ``unit`` (``_`` and whitespace separate words) with its first letter
        upper-cased, joined by one space: ``focus_unit``'s rule for units it does not know."""
        return self.backend.capitalised(self._sql(unit))

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
    backend_of(conn.dialect).create_view(conn, name, select, force=force)
