"""Flat rows and totals: buckets turned into what CSV writers, pandas and databases take.

A row is one result of one bucket: ``start_time`` and ``end_time`` as ISO-8601 UTC strings,
the grouping fields, then the metrics. Costs rows carry ``amount`` as an exact ``Decimal`` and
``currency`` beside it. Totals sum metrics by chosen fields; money is summed as ``Decimal`` and
never across currencies.

Which columns a row has and where each is read from is ``_row_columns``' description. Both
ways of making rows use it: from result objects (``bucket_rows``, anything iterable), and
straight from the wire (``BucketStream.row_buckets`` / ``row_pages``, which decode each
result into a tuple of the row's values with the same checks and build no objects). ``rows``
takes the second way when it is given a stream.

Core layer, above the streams: imports the standard library and the core only.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from ._endpoints import ENDPOINTS
from ._exceptions import InvalidParameterError
from ._models import Bucket
from ._row_columns import NAME_COLUMNS, named_columns, object_values, row_columns
from ._streams import BucketStream
from ._time import iso_utc

__all__ = [
    "Names",
    "Number",
    "Totals",
    "bucket_rows",
    "row_dicts",
    "rows",
    "totals",
]

logger = logging.getLogger("usage_async")

Number = int | float | Decimal


# Metrics of each result class that are levels (see ``Endpoint.level_metrics``).
_LEVELS: Mapping[type, frozenset[str]] = {
    e.result_type: frozenset(e.level_metrics) for e in ENDPOINTS.values()
}


class Names(Protocol):
    """What turns IDs into names for rows: ``ua.Directory`` is one (``client.directory()``)."""

    def project_name(self, project_id: str | None, /) -> str | None: ...

    def user_email(self, user_id: str | None, /) -> str | None: ...

    def api_key_name(self, api_key_id: str | None, /) -> str | None: ...


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
    columns = row_columns(result_type, chosen)
    fields = named_columns(columns) if names is not None else columns
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
    if isinstance(stream, BucketStream):
        result_type: type = stream.query.endpoint.result_type
        chosen = tuple(group_by) if group_by is not None else stream.query.group_by
        columns = row_columns(result_type, chosen)
        fields = named_columns(columns) if names is not None else columns
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
            row = _row(start, end, result, row_columns(result.__class__, None))
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
        key = totals_key(by)(*[row.get(name) for name in by])
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
