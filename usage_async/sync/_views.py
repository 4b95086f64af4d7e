"""The views that answer the usual questions: cost per project per day, tokens per model per day.

``cost_by_project_day`` (over ``costs``) and ``tokens_by_model_day`` (over ``completions``)
are daily sums with the directory's names joined on (a LEFT JOIN: a project the directory
does not know still counts, with a null name). Each reads one bucket width, its table's, so
nothing counts twice, and each sums exactly to its table: tokens as integers, money as the
database's exact decimal (``NUMERIC`` on PostgreSQL; on SQLite, which has no decimal type,
the backend sums the decimal text in integer parts and writes the total back as text).

``REPORT_VIEWS`` describes them (name, the table read, one line per column), and
``report_select`` builds the ``SELECT`` of one for a database, from the columns its table
has now: a column the table's grouping left out is null in the view. The backend creates
and compares the views (``Backend.create_view``); this module knows no database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Literal

import attrs
import sqlalchemy as sa

from ._backend import Backend

__all__ = [
    "COST_BY_PROJECT_DAY",
    "REPORT_VIEWS",
    "TOKENS_BY_MODEL_DAY",
    "ReportView",
    "ViewColumn",
    "report_select",
]

ColumnKind = Literal["date", "text", "integer", "decimal"]


@attrs.frozen
class ViewColumn:
    """A column of a view: its name, what it holds (``describe`` gives its type from the
    ``kind``), and its one line."""

    name: str
    kind: ColumnKind
    meaning: str
    nullable: bool = True


@attrs.frozen
class ReportView:
    """A daily view over one endpoint's table: ``keys`` are the grouping columns (the
    table's column of the same name, null where the table has none; ``project_name`` is
    the directory's), ``sums`` the summed columns."""

    name: str
    endpoint: str
    meaning: str
    keys: tuple[ViewColumn, ...]
    sums: tuple[ViewColumn, ...]

    @property
    def columns(self) -> tuple[ViewColumn, ...]:
        return (*self.keys, *self.sums)


_DAY = ViewColumn("day", "date", "the UTC day the buckets are in", nullable=False)
_SOURCE = ViewColumn("source", "text", "the organization: the sync's source label", False)
_PROJECT = ViewColumn("project_id", "text", "the project (null: not grouped by project)")
_PROJECT_NAME = ViewColumn(
    "project_name", "text", "the project's name from the projects table (null if unknown)"
)

COST_BY_PROJECT_DAY = ReportView(
    name="cost_by_project_day",
    endpoint="costs",
    meaning="Cost per day, project, line item and currency, with the project's name.",
    keys=(
        _DAY,
        _SOURCE,
        _PROJECT,
        _PROJECT_NAME,
        ViewColumn("line_item", "text", "what was billed (null: not grouped by line item)"),
        ViewColumn("currency", "text", "the amount's currency (usd)"),
    ),
    sums=(ViewColumn("amount", "decimal", "the day's cost, exact: the sum of costs.amount"),),
)

TOKENS_BY_MODEL_DAY = ReportView(
    name="tokens_by_model_day",
    endpoint="completions",
    meaning="Completions tokens and requests per day, project and model, with the project's name.",
    keys=(
        _DAY,
        _SOURCE,
        _PROJECT,
        _PROJECT_NAME,
        ViewColumn("model", "text", "the model (null: not grouped by model)"),
    ),
    sums=(
        ViewColumn("input_tokens", "integer", "the day's input tokens, cached ones included"),
        ViewColumn("output_tokens", "integer", "the day's output tokens"),
        ViewColumn("input_cached_tokens", "integer", "the day's input tokens read from cache"),
        ViewColumn("num_model_requests", "integer", "the day's requests to the model"),
    ),
)

REPORT_VIEWS: tuple[ReportView, ...] = (COST_BY_PROJECT_DAY, TOKENS_BY_MODEL_DAY)
"""The daily views, each created whenever its table exists (``--prefix`` names them too)."""


def report_select(
    view: ReportView,
    backend: Backend,
    table: sa.Table,
    projects: sa.Table,
    columns: Collection[str],
    width: str,
) -> sa.Select[Any]:
    """The ``SELECT`` of ``view`` over ``table`` (whose actual columns are ``columns``),
    joined with ``projects``, reading the buckets of ``width`` only.

    The rows are grouped in an inner query; an outer one turns each sum's parts into the
    column (money on SQLite is summed in parts: ``Backend.money_sum_parts``).
    """
    present = sa.table(
        table.name, *(sa.column(c.name, c.type) for c in table.columns if c.name in columns)
    )
    t = present.alias("t")
    p = projects.alias("p")
    keys = {column.name: _key(column.name, backend, t, p) for column in view.keys}
    parts: list[sa.ColumnElement[Any]] = []
    totals: list[Callable[[sa.Subquery], sa.ColumnElement[Any]]] = []
    for column in view.sums:
        made, total = _sum(column, backend, t)
        parts.extend(made)
        totals.append(total)
    source: sa.FromClause = t
    if "project_id" in t.c:
        source = t.outerjoin(p, sa.and_(p.c.source == t.c.source, p.c.id == t.c.project_id))
    inner = (
        sa.select(*(value.label(name) for name, value in keys.items()), *parts)
        .select_from(source)
        .where(t.c.bucket_width == sa.literal(width, sa.Text()))
        .group_by(*(value for value in keys.values() if value is not _NULL))
        .subquery("g")
    )
    return sa.select(
        *(inner.c[column.name] for column in view.keys),
        *(total(inner).label(column.name) for total, column in zip(totals, view.sums, strict=True)),
    )


# A key the table lacks (its grouping left it out): null text, never grouped by.
_NULL: sa.ColumnElement[Any] = sa.cast(sa.null(), sa.Text())


def _key(name: str, backend: Backend, t: sa.FromClause, p: sa.FromClause) -> sa.ColumnElement[Any]:
    """A grouping column of a view: the day, the directory's name, or the table's own."""
    if name == "day":
        return backend.utc_day(t.c.start_time)
    if name == "project_name":
        return p.c.name if "project_id" in t.c else _NULL
    if name in t.c:
        column: sa.ColumnElement[Any] = t.c[name]
        return column
    return _NULL


def _sum(
    column: ViewColumn, backend: Backend, t: sa.FromClause
) -> tuple[list[sa.ColumnElement[Any]], Callable[[sa.Subquery], sa.ColumnElement[Any]]]:
    """The aggregates of one summed column (labelled ``<name>_<n>``), and the function of
    the grouped query that makes the column of them."""
    if column.kind == "decimal":
        made = backend.money_sum_parts(t.c[column.name])
        labels = [f"{column.name}_{n}" for n in range(len(made))]

        def money(inner: sa.Subquery) -> sa.ColumnElement[Any]:
            return backend.money_sum([inner.c[label] for label in labels])

        return [m.label(label) for m, label in zip(made, labels, strict=True)], money
    label = f"{column.name}_0"
    total = sa.cast(sa.func.sum(t.c[column.name]), sa.BigInteger()).label(label)

    def integer(inner: sa.Subquery) -> sa.ColumnElement[Any]:
        return inner.c[label]

    return [total], integer
