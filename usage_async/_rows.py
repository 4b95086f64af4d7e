"""Flat rows and totals: buckets turned into what CSV writers, pandas and databases take.

A row is one result of one bucket: ``start_time`` and ``end_time`` as ISO-8601 UTC strings,
the grouping fields, then the metrics. Costs rows carry ``amount`` as an exact ``Decimal`` and
``currency`` beside it. Totals sum metrics by chosen fields; money is summed as ``Decimal`` and
never across currencies.
"""

from __future__ import annotations

import collections
import datetime as _dt
import logging
from collections.abc import AsyncIterable, AsyncIterator, Collection, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

import attrs

from ._endpoints import ENDPOINTS
from ._exceptions import InvalidParameterError
from ._models import Bucket, CostsResult

__all__ = ["Names", "Totals", "bucket_rows", "iso_utc", "row_fields", "rows", "totals"]

logger = logging.getLogger("usage_async")

Number = int | float | Decimal


def iso_utc(seconds: int) -> str:
    """``2026-11-01T00:00:00Z`` for Unix seconds."""
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Metrics of each result class that are levels (see ``Endpoint.level_metrics``).
_LEVELS: Mapping[type, frozenset[str]] = {
    e.result_type: frozenset(e.level_metrics) for e in ENDPOINTS.values()
}


@cache
def _fields_of(result_type: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(grouping fields, metric fields) of a result class, from the endpoint table."""
    groups = next((e.group_by for e in ENDPOINTS.values() if e.result_type is result_type), ())
    names = [f.name for f in attrs.fields(result_type)]
    if result_type is CostsResult:
        metrics = ("amount", "currency", "quantity", "quantity_unit")
    else:
        metrics = tuple(n for n in names if n not in groups)
    return tuple(n for n in names if n in groups), metrics


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
    result_type: type, group_by: Sequence[str] | None = None, *, names: bool = False
) -> list[str]:
    """Column names of the rows of ``result_type``: times, grouping fields, metrics.

    ``group_by`` narrows the grouping columns to the ones requested (and orders them so);
    without it every grouping field of the result type is a column. With ``names``, each of
    ``project_id``, ``user_id``, ``api_key_id`` among them is followed by its name column
    (``project_name``, ``user_email``, ``api_key_name``).
    """
    columns = _columns(result_type, tuple(group_by) if group_by is not None else None)
    return list(_named(columns) if names else columns)


@cache
def _named(columns: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for column in columns:
        out.append(column)
        if column in NAME_COLUMNS:
            out.append(NAME_COLUMNS[column])
    return tuple(out)


def _with_names(row: dict[str, Any], result: Any, names: Names | None) -> dict[str, Any]:
    """``row`` with each named ID followed by its name: the result's own (costs rows may
    carry ``project_name`` and ``user_email``), else the directory's."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        out[column] = value
        name_column = NAME_COLUMNS.get(column)
        if name_column is not None:
            name = getattr(result, name_column, None)
            if name is None and names is not None and value is not None:
                name = getattr(names, name_column)(value)
            out[name_column] = name
    return out


@cache
def _columns(result_type: type, group_by: tuple[str, ...] | None) -> tuple[str, ...]:
    # Cached: rows are built per result, and the columns depend only on these two.
    groups, metrics = _fields_of(result_type)
    chosen = [g for g in group_by if g in groups] if group_by is not None else groups
    return ("start_time", "end_time", *chosen, *metrics)


def _row(start: str, end: str, result: Any, columns: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"start_time": start, "end_time": end}
    if isinstance(result, CostsResult):
        amount = result.amount
        for name in columns[2:]:
            if name == "amount":
                row[name] = amount.value
            elif name == "currency":
                row[name] = amount.currency
            else:
                row[name] = getattr(result, name)
        return row
    for name in columns[2:]:
        row[name] = getattr(result, name)
    return row


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
    """The rows of one bucket, one per result; ``bucket.unknown`` gives none (logged).

    With ``names`` (a ``ua.Directory``), name columns follow the IDs they name.
    """
    start, end = iso_utc(bucket.start_time), iso_utc(bucket.end_time)
    chosen = tuple(group_by) if group_by is not None else None
    if bucket.unknown:
        _warn_untyped(bucket, start)
    if names is None:
        return [_row(start, end, r, _columns(r.__class__, chosen)) for r in bucket.results]
    return [
        _with_names(_row(start, end, r, _columns(r.__class__, chosen)), r, names)
        for r in bucket.results
    ]


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
    """
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
            self.add_row(row, _LEVELS.get(type(result), frozenset()))

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
