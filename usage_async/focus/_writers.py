"""FOCUS files: CSV (exact text, empty cells for null) and Parquet (typed columns).

Both are written bucket by bucket as the rows arrive. A file written to a path appears only
when complete (it is written beside and renamed), so a failed export never leaves half a
file where a loader would pick it up. ``partitioned=True`` writes one file per billing month
under ``BillingPeriodStart=YYYY-MM-01/``, the hive layout that Spark, DuckDB and BigQuery
external tables read as a partitioned table.

Layer: part of focus, a library over the core; never cli, sync or emulator.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import importlib
import os
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, Protocol

from .._exceptions import InvalidParameterError, UsageError
from .._time import DAY, floor_to, iso_utc, utc_datetime
from .._version import __version__
from ._columns import FOCUS_COLUMNS, FOCUS_VERSION, FocusColumn, focus_number
from ._rows import FocusRow, FocusRows

__all__ = [
    "DECIMAL_PRECISION",
    "DECIMAL_SCALE",
    "FORMATS",
    "FocusExportError",
    "PartialMonth",
    "describe_part",
    "parquet_schema",
    "partial_months",
    "refuse_partial_replacements",
    "require_pyarrow",
    "write_focus",
]

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")

# Parquet decimals: 38 digits is what DuckDB, Spark and BigQuery (BIGNUMERIC) all read. 24 of
# them after the point keep every digit the API sends in practice (its amounts carry at most
# ~10 significant decimals; quantities in GiB-hours ~20); 14 before it allow up to 10**14
# dollars or tokens per row and day. A value that does not fit is refused, never rounded.
DECIMAL_PRECISION = 38
DECIMAL_SCALE = 24

PARQUET_EXTRA_HINT = "pip install 'usage-async[parquet]'"


class FocusExportError(UsageError):
    """A FOCUS file could not be written as asked (a value that a Parquet column cannot hold)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return focus_number(value)
    return str(value)


def require_pyarrow() -> Any:
    # Imported by name: pyarrow is optional and ships no type information.
    try:
        pyarrow = importlib.import_module("pyarrow")
        importlib.import_module("pyarrow.parquet")
    except ModuleNotFoundError as missing:
        raise ModuleNotFoundError(
            f"writing Parquet needs pyarrow: {PARQUET_EXTRA_HINT}", name=missing.name
        ) from None
    return pyarrow


def _arrow_type(pa: Any, column: FocusColumn) -> Any:
    if column.type == "Decimal":
        return pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)
    if column.type == "DateTime":
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def parquet_schema() -> Any:
    """The ``pyarrow.Schema`` of FOCUS Parquet files, with the FOCUS metadata.

    Money and quantities are ``decimal128(38, 24)``, times UTC timestamps, text strings;
    columns that are never null are marked non-nullable.
    """
    pa = require_pyarrow()
    fields = [
        pa.field(column.name, _arrow_type(pa, column), nullable=column.nullable)
        for column in FOCUS_COLUMNS
    ]
    metadata = {
        "FocusVersion": FOCUS_VERSION,
        "DataGenerator": f"usage-async {__version__}",
        "CreationDate": iso_utc(int(time.time())),
    }
    return pa.schema(fields, metadata=metadata)


class _Sink(Protocol):
    def write(self, rows: Sequence[FocusRow]) -> None: ...

    def commit(self) -> Path | None: ...

    def abort(self) -> None: ...


class _Target:
    """Where a file goes: a path (written beside, renamed into place) or an open stream."""

    def __init__(self, where: Path | IO[Any], binary: bool) -> None:
        self.path = where if isinstance(where, Path) else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._partial: Path | None = self.path.with_name(f".{self.path.name}.partial")
            self.file: IO[Any] = (
                open(self._partial, "wb")  # noqa: SIM115 - closed in commit/abort
                if binary
                else open(self._partial, "w", encoding="utf-8", newline="")  # noqa: SIM115
            )
        else:
            assert not isinstance(where, Path)
            self._partial = None
            self.file = getattr(where, "buffer", where) if binary else where

    def commit(self) -> Path | None:
        if self.path is None or self._partial is None:
            self.file.flush()
            return None
        self.file.close()
        os.replace(self._partial, self.path)
        return self.path

    def abort(self) -> None:
        if self._partial is not None:
            self.file.close()
            with contextlib.suppress(FileNotFoundError):
                self._partial.unlink()


class _CsvSink:
    """CSV under a header written with the first rows (or at the end): a pull that fails
    before its first page writes nothing, not even to stdout."""

    def __init__(self, where: Path | IO[Any]) -> None:
        self._target = _Target(where, binary=False)
        self._writer = csv.writer(self._target.file, lineterminator="\n")
        self._names = [column.name for column in FOCUS_COLUMNS]
        self._started = False

    def write(self, rows: Sequence[FocusRow]) -> None:
        if not self._started:
            self._writer.writerow(self._names)
            self._started = True
        self._writer.writerows([_cell(row[name]) for name in self._names] for row in rows)
        self._target.file.flush()

    def commit(self) -> Path | None:
        self.write(())
        return self._target.commit()

    def abort(self) -> None:
        self._target.abort()


_ROW_GROUP = 16384


class _ParquetSink:
    """Rows buffered into row groups of ``_ROW_GROUP``; times parsed back to timestamps."""

    def __init__(self, where: Path | IO[Any]) -> None:
        self._pa = pa = require_pyarrow()
        self._schema = parquet_schema()
        self._target = _Target(where, binary=True)
        self._writer = pa.parquet.ParquetWriter(self._target.file, self._schema)
        self._buffer: list[FocusRow] = []
        self._times = {c.name for c in FOCUS_COLUMNS if c.type == "DateTime"}

    def write(self, rows: Sequence[FocusRow]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= _ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        arrays = []
        for field in self._schema:
            values = [row[field.name] for row in rows]
            if field.name in self._times:
                values = [None if v is None else _dt.datetime.fromisoformat(v) for v in values]
            try:
                arrays.append(self._pa.array(values, type=field.type))
            except self._pa.ArrowInvalid as exc:
                raise FocusExportError(
                    f"{field.name} has a value that {field.type} cannot hold exactly ({exc}); "
                    "export CSV, which keeps every digit"
                ) from None
        self._writer.write_batch(self._pa.RecordBatch.from_arrays(arrays, schema=self._schema))

    def commit(self) -> Path | None:
        self._flush()
        self._writer.close()
        return self._target.commit()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        self._target.abort()


def _open(fmt: Format, where: Path | IO[Any]) -> _Sink:
    return _ParquetSink(where) if fmt == "parquet" else _CsvSink(where)


def partition_file(directory: Path, billing_period_start: str, fmt: Format) -> Path:
    """The file of one billing month: ``DIR/BillingPeriodStart=YYYY-MM-01/focus.EXT``."""
    return directory / f"BillingPeriodStart={billing_period_start[:10]}" / f"focus.{fmt}"


class PartialMonth(NamedTuple):
    """A billing month that a range covers only in part: ``month`` is its
    BillingPeriodStart, ``start`` where the range's part of it begins and ``end`` where it
    ends (exclusive; ``None``: at the month's end, or now), as ISO-8601 UTC text."""

    month: str
    start: str
    end: str | None


def _month(moment: _dt.datetime, months: int = 0) -> _dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return _dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=_dt.UTC)


def partial_months(start: int, end: int | None) -> list[PartialMonth]:
    """The billing months the costs of ``[start, end)`` cover only in part: the first if
    its first day (``start`` floored to UTC midnight, as the costs' buckets are) is not the
    1st, the last if ``end`` is not the 1st of a month at midnight. An open range
    (``end=None``) holds its last month to now: the month so far, not a part of it.
    """
    first = utc_datetime(floor_to(start, DAY))
    last = None if end is None else utc_datetime(end)
    if last is not None and last <= first:
        return []

    def text(moment: _dt.datetime) -> str:
        return iso_utc(int(moment.timestamp()))

    months = []
    head = _month(first)
    cut = last if last is not None and last < _month(first, 1) else None
    if first > head or cut is not None:
        months.append(PartialMonth(text(head), text(first), None if cut is None else text(cut)))
    if last is not None and _month(last) > head and last > _month(last):
        months.append(PartialMonth(text(_month(last)), text(_month(last)), text(last)))
    return months


async def write_focus(
    rows: FocusRows,
    output: str | os.PathLike[str] | IO[Any],
    *,
    format: Format = "csv",
    partitioned: bool = False,
    partial: bool = False,
) -> list[Path]:
    """Write ``rows`` as a FOCUS file, or one file per billing month; return the files.

    ``output`` is a file path, an open file (text for CSV; for Parquet a binary file, or a
    text file with a ``buffer``), or with ``partitioned=True`` a directory that receives
    ``BillingPeriodStart=YYYY-MM-01/focus.csv`` (or ``.parquet``) per month, replacing a
    month's earlier file. A month the export covers only in part (``partial_months`` of
    ``rows.period``: it starts mid-month, or ends mid-month) would replace a whole month's
    file with part of it, or sit beside the month's file of the other format: that is
    refused, before anything is fetched, unless ``partial`` is true; a month with no file
    yet, in either format, is written. Rows are written as they arrive; a path
    gets its file only once it is complete. Returns the paths written (none for an open
    file).

    Raises ``InvalidParameterError`` for a bad format, a partitioned open file or a month
    file a partial month would replace or sit beside (``param="partial"``), ``ModuleNotFoundError``
    naming the ``parquet`` extra when pyarrow is missing, ``FocusExportError`` for a value a
    Parquet decimal cannot hold exactly, and whatever fetching the costs raises.
    """
    target = _checked_target(rows, output, format, partitioned=partitioned, partial=partial)
    if isinstance(target, Path) and partitioned:
        return await _write_months(rows, target, format)
    sink = _open(format, target)
    try:
        async for batch in rows.buckets():
            if batch:
                sink.write(batch)
    except BaseException:
        sink.abort()
        raise
    return _committed(sink)


def _checked_target(
    rows: FocusRows,
    output: str | os.PathLike[str] | IO[Any],
    format: Format,
    *,
    partitioned: bool,
    partial: bool,
) -> Path | IO[Any]:
    """Where ``write_focus`` writes, once its arguments check out (see its Raises)."""
    if format not in FORMATS:
        raise InvalidParameterError(
            f"format must be one of {', '.join(FORMATS)}, got {format!r}", param="format"
        )
    if format == "parquet":
        require_pyarrow()
    target = Path(output) if isinstance(output, str | os.PathLike) else output
    if partitioned and not isinstance(target, Path):
        raise InvalidParameterError(
            "partitioned output needs a directory path, not an open file", param="output"
        )
    if partitioned and not partial and rows.period is not None:
        assert isinstance(target, Path)
        refuse_partial_replacements(target, format, partial_months(*rows.period))
    return target


async def _write_months(rows: FocusRows, directory: Path, format: Format) -> list[Path]:
    """One file per billing month under ``directory``; the paths written, in order."""
    written: list[Path] = []
    sink: _Sink | None = None
    month = None
    try:
        async for batch in rows.buckets():
            if not batch:
                continue
            start = batch[0]["BillingPeriodStart"]
            if start != month:
                if sink is not None:
                    done, sink = sink, None
                    written.extend(_committed(done))
                sink = _open(format, partition_file(directory, start, format))
                month = start
            assert sink is not None
            sink.write(batch)
        if sink is not None:
            done, sink = sink, None
            written.extend(_committed(done))
    finally:
        if sink is not None:
            sink.abort()
    return written


_WHOLE_MONTHS = (
    "Export whole months (from the 1st, to the 1st of the next month or now), or pass "
    "partial=True to replace them anyway"
)


def refuse_partial_replacements(
    directory: Path, fmt: Format, months: Sequence[PartialMonth], advice: str = _WHOLE_MONTHS
) -> None:
    """Raise ``InvalidParameterError`` (``param="partial"``) if a month of ``months`` has a
    file in ``directory`` already, in any format: part of a month must neither replace the
    month's file nor be written beside it (a half-month CSV beside a full-month Parquet
    would be read as the month by whoever reads the CSVs). The message ends with ``advice``
    (the command line gives its own, in flags)."""
    said = []
    for month in months:
        written = partition_file(directory, month.month, fmt)
        for other in sorted(FORMATS, key=lambda name: name != fmt):  # its own format first
            found = partition_file(directory, month.month, other)
            if not found.exists():
                continue
            beside = "" if other == fmt else f", beside {found}"
            said.append(f"{written} would hold {describe_part(month)} only{beside}")
            break
    if not said:
        return
    raise InvalidParameterError(
        f"not writing part of a month where that month has a file: {'; '.join(said)}. {advice}",
        param="partial",
    )


def describe_part(month: PartialMonth) -> str:
    """What a partial month holds, in words: ``2026-01-30 to the month's end``."""
    end = "the month's end" if month.end is None else f"{month.end[:10]} (exclusive)"
    return f"{month.start[:10]} to {end}"


def _committed(sink: _Sink) -> list[Path]:
    """Finish ``sink``; if finishing fails (the last row group, say), leave nothing behind."""
    try:
        path = sink.commit()
    except BaseException:
        sink.abort()
        raise
    return [path] if path is not None else []
