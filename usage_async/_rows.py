"""Flat rows and totals: buckets turned into what CSV writers, pandas and databases take.

A row is one result of one bucket: ``start_time`` and ``end_time`` as ISO-8601 UTC strings,
the grouping fields, then the metrics. Costs rows carry ``amount`` as an exact ``Decimal`` and
``currency`` beside it. Totals sum metrics by chosen fields; money is summed as ``Decimal`` and
never across currencies.

This module is the one description of rows: which columns a row has (``row_fields``) and
where each is read from (``column_paths``: a field of the result, or a part of one, as
``amount.value``). Both ways of making rows use it: from result objects (``bucket_rows``,
anything iterable), and straight from the wire (``BucketStream.row_buckets`` /
``row_pages``, which decode each result into a tuple of the row's values with the same
checks and build no objects). ``rows`` takes the second way when it is given a stream.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import operator
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

import attrs

from ._endpoints import ENDPOINTS
from ._exceptions import InvalidParameterError
from ._models import Bucket, CostsResult
from ._time import iso_utc

__all__ = [
    "Names",
    "Totals",
    "bucket_rows",
    "column_paths",
    "object_values",
    "row_dicts",
    "row_fields",
    "rows",
    "totals",
]

logger = logging.getLogger("usage_async")

Number = int | float | Decimal


# Metrics of each result class that are levels (see ``Endpoint.level_metrics``).
_LEVELS: Mapping[type, frozenset[str]] = {
    e.result_type: frozenset(e.level_metrics) for e in ENDPOINTS.values()
}


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


class Names(Protocol):
    """What turns IDs into names for rows: ``ua.Directory`` is one (``client.directory()``)."""

    def project_name(self, project_id: str | None, /) -> str | None: ...

    def user_email(self, user_id: str | None, /) -> str | None: ...

    def api_key_name(self, api_key_id: str | None, /) -> str | None: ...


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
    columns = _columns(result_type, tuple(group_by) if group_by is not None else None)
    return list(_with_extras(result_type, _named(columns) if names else columns, extras))


@cache
def _with_extras(result_type: type, columns: tuple[str, ...], extras: bool) -> tuple[str, ...]:
    if not extras:
        return columns
    others = _fields_of(result_type)[2]
    return columns + tuple(name for name in others if name not in columns)


@cache
def _named(columns: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for column in columns:
        out.append(column)
        if column in NAME_COLUMNS:
            out.append(NAME_COLUMNS[column])
    return tuple(out)


@cache
def _columns(result_type: type, group_by: tuple[str, ...] | None) -> tuple[str, ...]:
    # Cached: rows are built per result, and the columns depend only on these two.
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
    known = _with_extras(result_type, _named(_columns(result_type, None)), True)[2:]
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


@cache
def _name_columns(fields: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(id column, name column) pairs among ``fields``."""
    return tuple(
        (column, NAME_COLUMNS[column])
        for column in fields
        if column in NAME_COLUMNS and NAME_COLUMNS[column] in fields
    )


def _dicts(
    fields: tuple[str, ...],
    start: str,
    end: str,
    values: Iterable[tuple[Any, ...]],
    names: Names | None,
) -> list[dict[str, Any]]:
    """Dict rows from value tuples of ``fields[2:]``. A name column holds the result's own
    name (costs rows may carry ``project_name`` and ``user_email``), else the directory's."""
    head = (start, end)
    if names is None:
        return [dict(zip(fields, head + v, strict=True)) for v in values]
    pairs = _name_columns(fields)
    out = []
    for v in values:
        row = dict(zip(fields, head + v, strict=True))
        for id_column, name_column in pairs:
            if row[name_column] is None:
                value = row[id_column]
                if value is not None:
                    row[name_column] = getattr(names, name_column)(value)
        out.append(row)
    return out


def _row(start: str, end: str, result: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    values = object_values(result.__class__, columns[2:])(result)
    return dict(zip(columns, (start, end, *values), strict=True))


def _warn_untyped(bucket: Bucket[Any], start: str) -> None:
    for untyped in bucket.unknown:
        logger.warning(
            "skipping a result in the bucket starting %s: %s (%r)",
            start,
            untyped.reason,
            untyped.object,
        )


def bucket_rows(
    bucket: Bucket[Any], group_by: Sequence[str] | None = None, *, names: Names | None = None
) -> list[dict[str, Any]]:
    """The rows of one bucket of result objects, one per result; ``bucket.unknown`` gives
    none (logged).

    With ``names`` (a ``ua.Directory``), name columns follow the IDs they name.
    """
    start = iso_utc(bucket.start_time)
    if bucket.unknown:
        _warn_untyped(bucket, start)
    if not bucket.results:
        return []
    result_type = bucket.results[0].__class__
    chosen = tuple(group_by) if group_by is not None else None
    columns = _columns(result_type, chosen)
    fields = _named(columns) if names is not None else columns
    values = map(object_values(result_type, fields[2:]), bucket.results)
    return _dicts(fields, start, iso_utc(bucket.end_time), values, names)


def row_dicts(
    bucket: Bucket[tuple[Any, ...]], fields: Sequence[str], *, names: Names | None = None
) -> list[dict[str, Any]]:
    """The dict rows of one bucket of value tuples (``stream.row_buckets(fields[2:])`` or
    ``row_pages``); ``bucket.unknown`` gives none (logged).

    ``fields`` are the row's columns, from ``row_fields``: the times, then the tuple's.
    With ``names``, an empty name column beside an ID is filled from the directory.
    """
    start = iso_utc(bucket.start_time)
    if bucket.unknown:
        _warn_untyped(bucket, start)
    if not bucket.results:
        return []
    return _dicts(tuple(fields), start, iso_utc(bucket.end_time), bucket.results, names)


async def rows(
    stream: AsyncIterable[Bucket[Any]],
    *,
    group_by: Sequence[str] | None = None,
    names: Names | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Flat dict rows, one per result, as the buckets arrive.

    The grouping columns are the stream's ``group_by`` when it is a ``BucketStream`` (or the
    ``group_by`` given here); otherwise every grouping field of the result type. Buckets with
    no results give no rows. ``names=await client.directory()`` adds ``project_name``,
    ``user_email`` and ``api_key_name`` beside ``project_id``, ``user_id`` and
    ``api_key_id`` where those are columns (cost rows that carry a ``project_name`` from the
    API keep it).

    From a ``BucketStream`` the rows are decoded straight from the wire
    (``stream.row_buckets``): no result objects, the same checks, the same checkpoints
    (the stream moves past a bucket as its rows are yielded). Any other iterable of buckets
    is read as result objects.
    """
    from ._streams import BucketStream  # _streams reads its row columns from this module

    if isinstance(stream, BucketStream):
        result_type: type = stream.query.endpoint.result_type
        chosen = tuple(group_by) if group_by is not None else stream.query.group_by
        columns = _columns(result_type, chosen)
        fields = _named(columns) if names is not None else columns
        async with contextlib.aclosing(stream.row_buckets(fields[2:])) as buckets:
            async for bucket in buckets:
                for row in row_dicts(bucket, fields, names=names):
                    yield row
        return
    if group_by is None:
        query = getattr(stream, "query", None)
        group_by = query.group_by if query is not None else None
    async for bucket in stream:
        for row in bucket_rows(bucket, group_by, names=names):
            yield row


@cache
def totals_key(fields: tuple[str, ...]) -> Any:
    """The named tuple class of ``Totals`` keys with these fields (one class per field set)."""
    return collections.namedtuple("TotalsKey", fields)


class Totals:
    """Sums metrics by chosen fields, bucket by bucket; ``result()`` gives the table so far.

    Keys are named tuples of the ``by`` field values (``key.model``, ``key.project_id``;
    ``None`` where a result was not grouped by that field), so they also compare equal to
    plain tuples. Money is summed as ``Decimal`` per currency: costs keys end with a
    ``currency`` field when ``by`` does not name it (``key.currency``). ``None`` metrics are
    skipped, so a metric appears only if some result carried it. Levels
    (``Endpoint.level_metrics``, such as vector store ``usage_bytes``) are not summed across
    buckets: a key holds the value of the latest bucket it was seen in. Costs ``quantity`` is
    summed as sent: total by ``line_item`` for quantities in one unit.
    """

    def __init__(self, by: Sequence[str] = ()) -> None:
        if isinstance(by, str):
            by = [by]
        self.by = tuple(by)
        self._sums: dict[tuple[Any, ...], dict[str, Number]] = {}
        # (key, level metric) -> start_time of the bucket whose value is held
        self._level_at: dict[tuple[tuple[Any, ...], str], str] = {}

    def add(self, bucket: Bucket[Any]) -> None:
        """Add every result of ``bucket`` (``bucket.unknown`` is skipped, logged)."""
        start, end = iso_utc(bucket.start_time), iso_utc(bucket.end_time)
        if bucket.unknown:
            _warn_untyped(bucket, start)
        for result in bucket.results:
            row = _row(start, end, result, _columns(result.__class__, None))
            self.add_row(row, _LEVELS.get(result.__class__, frozenset()))

    def add_row(self, row: Mapping[str, Any], levels: Collection[str] = ()) -> None:
        """Add one row of ``rows()``; ``levels`` names its level metrics, if any."""
        by = self.by
        if "amount" in row and "currency" not in by:
            by = (*by, "currency")
        for name in by:
            if name not in row:
                raise InvalidParameterError(
                    f"cannot total by {name!r}: the results have no such field", param="by"
                )
        key = totals_key(by)._make(row.get(name) for name in by)
        sums = self._sums.setdefault(key, {})
        start = row.get("start_time", "")
        for name, value in row.items():
            if (
                name in by
                or name in ("start_time", "end_time")
                or value is None
                or isinstance(value, str | bool)
            ):
                continue
            if name in levels:
                held_at = self._level_at.get((key, name))
                if held_at is not None and start < held_at:
                    continue
                if held_at is None or start > held_at:
                    self._level_at[(key, name)] = start
                    sums[name] = value
                    continue
            sums[name] = sums.get(name, 0) + value

    def result(self) -> dict[tuple[Any, ...], dict[str, Number]]:
        """Totals by key, in the order the keys first appeared."""
        return dict(self._sums)


async def totals(
    stream: AsyncIterable[Bucket[Any]], by: Sequence[str] = ()
) -> dict[tuple[Any, ...], dict[str, Number]]:
    """Sum every metric of ``stream`` by the fields ``by`` (see ``Totals``)."""
    table = Totals(by)
    async for bucket in stream:
        table.add(bucket)
    return table.result()
