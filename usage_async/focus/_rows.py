"""Costs buckets to FOCUS rows, lazily: ``focus_rows(client.costs(...))``.

One FOCUS row per costs result, computed by evaluating ``FOCUS_COLUMNS`` on the result's
costs row: the row ``ua.rows`` makes (``row_fields(CostsResult, extras=True)``: every
grouping field and what costs rows carry besides, the columns of the sync's table), read
straight from the wire for a ``BucketStream`` (``row_buckets``), else from the result
objects by the same column paths. So this export and the sync's ``focus`` view read one
description of a costs row. Rows are dicts in column order: money and quantities as exact
``Decimal``s, times as ``YYYY-MM-DDTHH:MM:SSZ`` text, ``None`` for null. Nothing is
invented: what the API did not give stays null and is counted in the ``FocusSummary``; a
result without an amount is counted there and left out.

Layer: part of focus, a library over the core; never cli, sync or emulator.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Mapping,
)
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import attrs

from .._exceptions import InvalidParameterError
from .._models import Bucket, CostsResult, UnknownResult
from .._row_columns import object_values, row_fields
from .._rows import row_dicts
from .._streams import BucketStream
from .._time import iso_utc
from ._columns import (
    FOCUS_COLUMNS,
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
    exact_sum,
    focus_unit,
)

__all__ = ["BilledKey", "FocusRows", "FocusSummary", "ProjectDirectory", "focus_rows"]

FocusRow = dict[str, Any]
Source = Mapping[str, Any]
Compiled = Callable[[Source], Any]


class ProjectDirectory(Protocol):
    """Anything that names projects: ``UsageClient.directory()``'s result, or a test's stub."""

    def project_name(self, project_id: str, /) -> str | None: ...


class BilledKey(NamedTuple):
    """What FOCUS totals are reconciled by: billing account, billing period and currency."""

    billing_account_id: str
    billing_period_start: str
    billing_currency: str


@attrs.define
class FocusSummary:
    """What an export wrote and what it could not, filled in as rows are produced.

    ``rows`` counts the rows produced (one per costs result). ``billed`` sums BilledCost
    exactly per ``BilledKey``: it equals the sum of the API's amounts over the same
    buckets. ``gaps`` counts, per column, rows left null where FOCUS wants a value because
    the API did not give it (a result without a line item, quantity or project name).
    ``unknown`` holds each result left out, with the start of its bucket: a cost without an
    amount is reported here, never exported as zero.
    """

    rows: int = 0
    billed: dict[BilledKey, Decimal] = attrs.field(factory=dict)
    gaps: collections.Counter[str] = attrs.field(factory=collections.Counter)
    unknown: list[tuple[str, UnknownResult]] = attrs.field(factory=list)


def _month_start(moment: str) -> str:
    return moment[:8] + "01T00:00:00Z"


def _next_month_start(moment: str) -> str:
    year, month = int(moment[:4]), int(moment[5:7])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00Z"


def _field(name: str) -> Compiled:
    def field(row: Source) -> Any:
        value = row.get(name)
        return None if value == "" else value  # FOCUS: null, never an empty string

    return field


def _first_of(parts: list[Compiled]) -> Compiled:
    """``Coalesce``: the first of ``parts`` that is not null."""

    def coalesce(row: Source) -> Any:
        for part in parts:
            value = part(row)
            if value is not None:
                return value
        return None

    return coalesce


def _only_with(value_of: Compiled, needed: list[Compiled]) -> Compiled:
    """``OnlyWith``: ``value_of``, or null while one of ``needed`` is null."""

    def only_with(row: Source) -> Any:
        if any(need(row) is None for need in needed):
            return None
        return value_of(row)

    return only_with


def _compile(
    expr: Expr, settings: Mapping[str, str | None], directory: ProjectDirectory | None
) -> Compiled:
    """A function of the source row that computes ``expr`` (the table's Python evaluator)."""

    def sub(inner: Expr) -> Compiled:
        return _compile(inner, settings, directory)

    def lift(function: Callable[[Any], Any], inner: Expr) -> Compiled:
        compute = sub(inner)

        def apply(row: Source) -> Any:
            value = compute(row)
            return None if value is None else function(value)

        return apply

    match expr:
        case Field(name):
            return _field(name)
        case Literal(value):
            return lambda row: value
        case Setting(name):
            setting = settings.get(name)
            return lambda row: setting
        case ProjectName(project_id):
            if directory is None:
                return lambda row: None
            return lift(lambda pid: directory.project_name(pid) or None, project_id)
        case Coalesce(items):
            return _first_of([sub(item) for item in items])
        case Upper(item):
            return lift(str.upper, item)
        case UtcTime(seconds):
            return sub(seconds)  # a row's times are FOCUS text already (``iso_utc``)
        case MonthStart(seconds):
            return lift(_month_start, seconds)
        case NextMonthStart(seconds):
            return lift(_next_month_start, seconds)
        case UnitName(unit):
            return lift(focus_unit, unit)
        case OnlyWith(item, others):
            return _only_with(sub(item), [sub(other) for other in others])
    raise TypeError(f"not a FOCUS source expression: {expr!r}")  # pragma: no cover


def _typed(bucket: Bucket[Any]) -> Bucket[Any]:
    # Without what could not be typed: FocusSummary.unknown reports it (row_dicts would log).
    return Bucket(bucket.start_time, bucket.end_time, bucket.results) if bucket.unknown else bucket


# Every field a costs result carries, grouped by or not: what the API sends is kept.
_FIELDS = tuple(row_fields(CostsResult, None, extras=True))


async def _costs_rows(
    stream: AsyncIterable[Bucket[Any]],
) -> AsyncGenerator[tuple[Bucket[Any], list[dict[str, Any]]]]:
    """Each bucket of ``stream`` and the costs rows of its results, through ``ua.rows``'
    description: from the wire for a ``BucketStream``, else from the result objects."""
    if isinstance(stream, BucketStream):
        async with contextlib.aclosing(stream.row_buckets(_FIELDS[2:])) as buckets:
            async for bucket in buckets:
                yield bucket, row_dicts(_typed(bucket), _FIELDS)
        return
    values = object_values(CostsResult, _FIELDS[2:])  # the paths the wire rows read
    async for bucket in stream:
        tuples = tuple(values(result) for result in bucket.results)
        yield bucket, row_dicts(Bucket(bucket.start_time, bucket.end_time, tuples), _FIELDS)


def _client_organization(stream: object) -> str | None:
    # A stream's pages come from any PageSource; a UsageClient's carries the organization.
    if isinstance(stream, BucketStream):
        organization = getattr(stream.client, "organization", None)
        if isinstance(organization, str):
            return organization
    return None


class FocusRows:
    """The FOCUS rows of a costs stream: ``async for row in rows``; ``rows.summary`` after.

    Iterating pulls the costs stream bucket by bucket, so a long range is never held in
    memory. Each iteration starts over (and refetches) with a fresh ``summary``.
    """

    columns: tuple[str, ...] = tuple(c.name for c in FOCUS_COLUMNS)

    def __init__(
        self,
        stream: AsyncIterable[Bucket[CostsResult]],
        *,
        directory: ProjectDirectory | None = None,
        billing_account_id: str | None = None,
        billing_account_name: str | None = None,
    ) -> None:
        endpoint = getattr(stream, "endpoint", "costs")
        if endpoint != "costs":
            raise InvalidParameterError(
                f"FOCUS rows are made from costs, not {endpoint}: pass client.costs(...)",
                param="stream",
            )
        for name, value in (
            ("billing_account_id", billing_account_id),
            ("billing_account_name", billing_account_name),
        ):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidParameterError(
                    f"{name} must be a non-empty string, got {value!r}", param=name
                )
        if directory is not None and not callable(getattr(directory, "project_name", None)):
            raise InvalidParameterError(
                "directory must have a project_name(project_id) method", param="directory"
            )
        self._stream = stream
        self._account = billing_account_id or _client_organization(stream)
        settings = {
            "billing_account_id": self._account,
            "billing_account_name": billing_account_name,
        }
        self._columns: list[tuple[FocusColumn, Compiled]] = [
            (column, _compile(column.source, settings, directory)) for column in FOCUS_COLUMNS
        ]
        self.summary = FocusSummary()

    def __repr__(self) -> str:
        return f"<FocusRows of {self._stream!r}>"

    @property
    def period(self) -> tuple[int, int | None] | None:
        """The range ``[start, end)`` of the costs the rows cover, in Unix seconds (``end``
        ``None``: up to now; ``start`` at UTC midnight, where the first bucket starts, or for
        a stream resumed from a checkpoint where it stood), or ``None`` when the rows come
        from another iterable of buckets than a costs stream."""
        if not isinstance(self._stream, BucketStream):
            return None
        return self._stream.first_start, self._stream.query.end_time

    def __aiter__(self) -> AsyncIterator[FocusRow]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[FocusRow]:
        async for bucket in self.buckets():
            for row in bucket:
                yield row

    async def buckets(self) -> AsyncIterator[list[FocusRow]]:
        """The rows bucket by bucket (one list per costs bucket, empty for an idle day)."""
        self.summary = summary = FocusSummary()
        async with contextlib.aclosing(_costs_rows(self._stream)) as buckets:
            async for bucket, sources in buckets:
                if bucket.unknown:
                    start = iso_utc(bucket.start_time)
                    summary.unknown.extend((start, untyped) for untyped in bucket.unknown)
                yield [self._row(bucket, source, summary) for source in sources]

    def _row(self, bucket: Bucket[Any], source: Source, summary: FocusSummary) -> FocusRow:
        row: FocusRow = {}
        for column, compute in self._columns:
            value = compute(source)
            if value is None:
                if not column.nullable:
                    raise self._missing(column, bucket)
                if column.expected or (
                    column.expected_with is not None and row.get(column.expected_with) is not None
                ):
                    summary.gaps[column.name] += 1
            row[column.name] = value
        key = BilledKey(row["BillingAccountId"], row["BillingPeriodStart"], row["BillingCurrency"])
        summary.billed[key] = exact_sum(summary.billed.get(key, Decimal(0)), row["BilledCost"])
        summary.rows += 1
        return row

    def _missing(self, column: FocusColumn, bucket: Bucket[Any]) -> InvalidParameterError:
        day = iso_utc(bucket.start_time)
        if column.name == "BillingAccountId":
            return InvalidParameterError(
                f"no billing account for the costs of {day}: the API's rows carry no "
                "organization_id and none is configured; pass billing_account_id='org-...' "
                "(or set the client's organization, OPENAI_ORG_ID)",
                param="billing_account_id",
            )
        return InvalidParameterError(  # pragma: no cover - other non-null columns are constant
            f"the costs of {day} give no value for {column.name}, which FOCUS needs",
            param="stream",
        )


def focus_rows(
    stream: AsyncIterable[Bucket[CostsResult]],
    *,
    directory: ProjectDirectory | None = None,
    billing_account_id: str | None = None,
    billing_account_name: str | None = None,
) -> FocusRows:
    """FOCUS 1.2 rows of a costs stream, one per costs result, lazily (``async for``).

    Args:
        stream: ``client.costs(...)``, ideally ``group_by=["line_item", "project_id"]`` (an
            ungrouped result has no line item, so its SKU and description stay null).
        directory: Names projects (SubAccountName) when a row does not carry
            ``project_name``; anything with ``project_name(project_id) -> str | None``.
        billing_account_id: The organization id for rows that carry no ``organization_id``.
            Default: the stream's client's ``organization`` (``OPENAI_ORG_ID``).
        billing_account_name: The organization's name for rows without ``organization_name``.

    Returns a ``FocusRows``: iterate it for dict rows in ``FocusRows.columns`` order; its
    ``summary`` counts what was written and what could not be.

    Raises ``InvalidParameterError`` at the call for a stream of another endpoint or an
    empty setting, and during iteration at the first row whose billing account is unknown
    (no ``organization_id`` in the row and none configured): an id is never made up.
    """
    return FocusRows(
        stream,
        directory=directory,
        billing_account_id=billing_account_id,
        billing_account_name=billing_account_name,
    )
