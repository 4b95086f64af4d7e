"""The one description of rows: which columns a row has, and where each is read from.

``row_fields`` says which columns the rows of a result type have (the times, the grouping
fields, the metrics; name columns and the fields costs carry besides, on request);
``column_paths`` where each is read from in a result (a field, or a part of one, as
``amount.value``). Rows made from result objects (``_rows``, through ``object_values``) and
rows decoded straight from the wire (``BucketStream.row_buckets``, which hands the paths to
the page decoder) both read this description, and so do the sync's tables and the FOCUS
export.

Core layer: imports the standard library, attrs and the core's models and endpoint table only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import attrs

from ._endpoints import ENDPOINTS
from ._exceptions import InvalidParameterError
from ._models import CostsResult

__all__ = [
    "NAME_COLUMNS",
    "column_paths",
    "named_columns",
    "object_values",
    "row_columns",
    "row_fields",
]


# Columns read from somewhere else than the field of their name: a cost's amount is a value
# and a currency, two columns.
_COLUMN_PATHS: Mapping[type, Mapping[str, str]] = {
    CostsResult: {"amount": "amount.value", "currency": "amount.currency"},
}


@cache
def _fields_of(result_type: type) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(grouping fields, metric fields, other fields) of a result class, from the endpoint
    table; the other fields are what some results carry besides (costs' organization)."""
    groups = next((e.group_by for e in ENDPOINTS.values() if e.result_type is result_type), ())
    names = [f.name for f in attrs.fields(result_type)]
    if result_type is CostsResult:
        metrics: tuple[str, ...] = ("amount", "currency", "quantity", "quantity_unit")
        others = tuple(n for n in names if n not in groups and n not in metrics)
    else:
        metrics = tuple(n for n in names if n not in groups)
        others = ()
    return tuple(n for n in names if n in groups), metrics, others


# A grouping column, the column that names it (beside it), and how the names are looked up.
NAME_COLUMNS: Mapping[str, str] = {
    "project_id": "project_name",
    "user_id": "user_email",
    "api_key_id": "api_key_name",
}


def row_fields(
    result_type: type,
    group_by: Sequence[str] | None = None,
    *,
    names: bool = False,
    extras: bool = False,
) -> list[str]:
    """Column names of the rows of ``result_type``: times, grouping fields, metrics.

    ``group_by`` narrows the grouping columns to the ones requested (and orders them so);
    without it every grouping field of the result type is a column. With ``names``, each of
    ``project_id``, ``user_id``, ``api_key_id`` among them is followed by its name column
    (``project_name``, ``user_email``, ``api_key_name``). With ``extras``, the other fields
    the results carry come last (costs: ``organization_id``, ``organization_name``,
    ``project_name``, ``user_email``, which the live API sends on some rows), each once.
    """
    columns = row_columns(result_type, tuple(group_by) if group_by is not None else None)
    return list(_with_extras(result_type, named_columns(columns) if names else columns, extras))


@cache
def _with_extras(result_type: type, columns: tuple[str, ...], extras: bool) -> tuple[str, ...]:
    if not extras:
        return columns
    others = _fields_of(result_type)[2]
    return columns + tuple(name for name in others if name not in columns)


@cache
def named_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    """``columns`` with each of ``NAME_COLUMNS``' name columns right after the ID it names."""
    out: list[str] = []
    for column in columns:
        out.append(column)
        if column in NAME_COLUMNS:
            out.append(NAME_COLUMNS[column])
    return tuple(out)


@cache
def row_columns(result_type: type, group_by: tuple[str, ...] | None) -> tuple[str, ...]:
    """The columns of ``row_fields(result_type, group_by)``, as a tuple (cached: rows are
    built per result, and the columns depend only on these two)."""
    groups, metrics, _ = _fields_of(result_type)
    chosen = [g for g in group_by if g in groups] if group_by is not None else groups
    return ("start_time", "end_time", *chosen, *metrics)


def column_paths(result_type: type, columns: Sequence[str]) -> tuple[str | None, ...]:
    """Where each row column after the times is read from in a result of ``result_type``.

    A field's name (``"model"``), a part of a field (costs' ``amount`` is
    ``"amount.value"`` and ``currency`` ``"amount.currency"``), or ``None`` for a column the
    result does not carry (a name column the directory fills). Raises
    ``InvalidParameterError`` for a column that no row of ``result_type`` has.
    """
    return _paths(result_type, tuple(columns))


@cache
def _paths(result_type: type, columns: tuple[str, ...]) -> tuple[str | None, ...]:
    known = _with_extras(result_type, named_columns(row_columns(result_type, None)), True)[2:]
    fields = {f.name for f in attrs.fields(result_type)}
    renamed = _COLUMN_PATHS.get(result_type, {})
    paths: list[str | None] = []
    for column in columns:
        if column not in known:
            raise InvalidParameterError(
                f"{result_type.__name__} rows have no column {column!r}; they have "
                f"{', '.join(known)}",
                param="columns",
            )
        path = renamed.get(column, column)
        paths.append(path if path.partition(".")[0] in fields else None)
    return tuple(paths)


def _null(result: Any) -> None:
    return None


@cache
def object_values(result_type: type, columns: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A result object to the tuple of ``columns``: the same paths the wire rows read."""
    paths = _paths(result_type, columns)
    if paths and all(path is not None for path in paths):
        # One C-level getter for the whole row (dotted paths included).
        every = operator.attrgetter(*[p for p in paths if p is not None])
        if len(paths) > 1:
            return every
        return lambda result: (every(result),)
    getters = [operator.attrgetter(p) if p is not None else _null for p in paths]
    return lambda result: tuple([get(result) for get in getters])
