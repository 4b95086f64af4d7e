"""What the command line writes: rows as csv / jsonl / json or a table, and pull progress.

Machine formats carry exact values: ``Decimal`` amounts and quantities as their exact
decimal text (a JSON string, as the live API sends decimal strings), times as the ISO-8601
UTC text of the rows, ``None`` as an empty CSV cell or JSON ``null``. They are written page
by page, so a long pull streams out instead of piling up in memory; ``--columns`` picks and
orders their fields. The table (``_table``) is for people at a terminal: it needs every row
to size its columns, so it is the one format that waits for the end.

Everything reaches stdout in pieces its buffer holds, so a reader that leaves (``| head``)
is noticed as ``BrokenPipeError`` (see ``_SmallWrites``). Progress goes to stderr through
``rich.progress`` and only when stderr is a terminal, so pipes and log files never see it.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from .._client import UsageClient
from .._protocol import Query
from .._rows import row_dicts
from .._streams import BucketStream
from ._names import NameLookup
from ._period import ServerClock
from ._voice import plural

if TYPE_CHECKING:
    from ._table import TablePlan

__all__ = [
    "BucketBars",
    "RowWriter",
    "expected_buckets",
    "human_number",
    "machine_writer",
    "open_writer",
    "print_table",
    "progress_wanted",
    "pull",
    "stdout_console",
]

Row = Mapping[str, Any]


# Characters per write to stdout; at 4 bytes a character still within its 8 KiB buffer.
_WRITE_CHARS = 2048


class _SmallWrites:
    """Stdout handed at most ``_WRITE_CHARS`` characters per write, so a closed pipe raises.

    When the reader leaves (``| head``) in the middle of one write larger than stdout's
    buffer, CPython (3.11, 3.13) can take the short count the kernel returns as the end of
    that write: the rest is dropped and nothing is raised, so the command would exit 0.
    Writes that fit the buffer are flushed by a loop that raises ``BrokenPipeError``.
    """

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def write(self, text: str) -> int:
        for start in range(0, len(text), _WRITE_CHARS):
            self._file.write(text[start : start + _WRITE_CHARS])
        return len(text)

    def flush(self) -> None:
        self._file.flush()

    def isatty(self) -> bool:
        return self._file.isatty()

    def fileno(self) -> int:
        return self._file.fileno()

    @property
    def encoding(self) -> str:
        return str(getattr(self._file, "encoding", None) or "utf-8")


def small_writes(file: IO[str]) -> IO[str]:
    """``file`` written in pieces that its buffer holds (see ``_SmallWrites``)."""
    return cast(IO[str], _SmallWrites(file))


class RowWriter(Protocol):
    """Takes rows as they arrive (``write``) and finishes the output (``close``)."""

    def write(self, rows: Iterable[Row]) -> None: ...

    def close(self) -> None: ...


def _exact_text(value: Any) -> str:
    """A cell as text that parses back to the same value (bools as JSON spells them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(row: Row) -> bytes:
    return orjson.dumps(row, default=_json_default)


class _CsvWriter:
    """CSV under a header row that waits for the first page: a failed pull writes nothing."""

    def __init__(self, fields: Sequence[str], file: IO[str]) -> None:
        self._file = file
        self._writer = csv.writer(file, lineterminator="\n")
        self._fields = fields
        self._started = False

    def write(self, rows: Iterable[Row]) -> None:
        if not self._started:
            self._writer.writerow(self._fields)
            self._started = True
        self._writer.writerows([_exact_text(row.get(f)) for f in self._fields] for row in rows)
        self._file.flush()

    def close(self) -> None:
        self.write(())


class _JsonLinesWriter:
    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def write(self, rows: Iterable[Row]) -> None:
        self._file.write("".join(_json(row).decode() + "\n" for row in rows))
        self._file.flush()

    def close(self) -> None:
        self._file.flush()


class _JsonArrayWriter:
    """One JSON array, one row per line, streamed: ``[`` with the first row, ``]`` on close."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self._separator = "[\n"

    def write(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self._file.write(self._separator + _json(row).decode())
            self._separator = ",\n"
        self._file.flush()

    def close(self) -> None:
        self._file.write("[]\n" if self._separator == "[\n" else "\n]\n")
        self._file.flush()


def human_number(value: Any) -> str:
    """A cell for people: thousands separators, amounts without trailing zeros, no ``None``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        # normalize() drops trailing zeros (and "0E-6176" becomes 0); "f" keeps it out of
        # exponent notation. The value shown is still exact.
        return f"{value.normalize():,f}"
    if isinstance(value, float):
        return f"{value:,}"
    return str(value)


class _StdoutConsole(Console):
    def on_broken_pipe(self) -> None:
        # rich's default exits with status 1, which the command line documents as an API
        # failure; raising lets main() report a closed stdout as the shell does (141).
        self.quiet = True
        raise BrokenPipeError


def stdout_console(redirected_width: int) -> Console:
    """A console on stdout: the terminal's width there; redirected, the width ``COLUMNS``
    says, else ``redirected_width``.

    Redirected output has no width of its own to fit; rich would assume 80 columns and
    wrap. A closed stdout raises ``BrokenPipeError``.
    """
    stdout = small_writes(sys.stdout)
    if sys.stdout.isatty():
        return _StdoutConsole(file=stdout)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else redirected_width
    return _StdoutConsole(file=stdout, width=width)


def print_table(plan: Callable[[int | None], TablePlan]) -> None:
    """Print on stdout the table ``plan(width)`` lays out for the terminal's width; redirected,
    a table has no width to fit (``None``): every column, each row on one line."""
    from ._table import render_table

    console = stdout_console(redirected_width=80)
    render_table(plan(console.width if sys.stdout.isatty() else None), console)


class _TableWriter:
    """Collects every row, then prints the table that fits the terminal (see ``_table``)."""

    def __init__(
        self,
        query: Query,
        clock: ServerClock,
        columns: Sequence[str] | None,
        names: NameLookup | None,
    ) -> None:
        self._query = query
        self._clock = clock
        self._columns = columns
        self._names = names
        self._rows: list[Row] = []

    def write(self, rows: Iterable[Row]) -> None:
        self._rows.extend(rows)

    def close(self) -> None:
        from ._table import plan_table

        if not self._rows:
            return  # the command says so on stderr
        shared = self._names.shared() if self._names is not None else None
        print_table(
            lambda width: plan_table(
                self._rows,
                self._query,
                now=self._clock.now,
                width=width,
                columns=self._columns,
                shared=shared,
            )
        )


class _Projected:
    """Rows cut down to the ``--columns`` asked for, in that order, for a machine format."""

    def __init__(self, writer: RowWriter, columns: Sequence[str]) -> None:
        self._writer = writer
        self._columns = columns

    def write(self, rows: Iterable[Row]) -> None:
        self._writer.write({name: row.get(name) for name in self._columns} for row in rows)

    def close(self) -> None:
        self._writer.close()


def open_writer(
    fmt: str,
    query: Query,
    fields: Sequence[str],
    file: IO[str],
    *,
    clock: ServerClock,
    columns: Sequence[str] | None = None,
    names: NameLookup | None = None,
) -> RowWriter:
    """A writer of ``fmt`` (table, csv, jsonl or json) for the rows of ``query``, onto ``file``.

    Machine formats carry ``fields`` (the rows' fields, as ``pull`` makes them) or exactly
    ``columns`` in that order; the table chooses its own (see ``_table``), names IDs by
    ``names`` and marks buckets still in progress by ``clock``.
    """
    if fmt == "table":
        return _TableWriter(query, clock, columns, names)
    return machine_writer(fmt, fields, file, columns)


def machine_writer(
    fmt: str, fields: Sequence[str], file: IO[str], columns: Sequence[str] | None = None
) -> RowWriter:
    """A csv, jsonl or json writer onto ``file`` of rows with ``fields`` (csv's header), or
    of exactly ``columns`` in that order."""
    file = small_writes(file)
    writer: RowWriter
    if fmt == "csv":
        writer = _CsvWriter(list(columns) if columns else fields, file)
    elif fmt == "jsonl":
        writer = _JsonLinesWriter(file)
    elif fmt == "json":
        writer = _JsonArrayWriter(file)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return _Projected(writer, columns) if columns else writer


def expected_buckets(query: Query, now: int) -> int:
    """How many buckets the query's range holds, known before the first page.

    Usage buckets start at ``start_time``; costs buckets are whole UTC days from the start
    floored to midnight. Without ``end_time`` the range ends now.
    """
    end = query.end_time if query.end_time is not None else now
    return max(0, -(-(end - query.origin) // query.width_seconds))


class BucketBars:
    """One bar per stream or table, drawn on stderr: buckets done against the expected
    total, and a running count of ``counted`` (``pages``, ``rows``).

    Draws nothing at all unless ``enabled``. The same bars serve a pull (one per stream)
    and a sync (one per table: it is the sync's ``SyncProgress``).
    """

    def __init__(self, enabled: bool, counted: str = "pages") -> None:
        self._counted = counted
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("buckets, {task.fields[counted]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            # Live's stdout redirect would send our rows to the progress console (stderr).
            redirect_stdout=False,
            redirect_stderr=False,
            disable=not enabled,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> BucketBars:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def track(self, label: str, buckets: int) -> None:
        """A bar for ``label``, expecting ``buckets`` buckets."""
        self._tasks[label] = self._progress.add_task(
            label, total=max(buckets, 1), count=0, counted=self._said(0)
        )

    def _said(self, count: int) -> str:
        return plural(count, self._counted.removesuffix("s"), self._counted)

    def advance(self, label: str, buckets: int, count: int) -> None:
        """``buckets`` more buckets (and ``count`` more pages or rows) done for ``label``."""
        task = self._tasks.get(label)
        if task is None:
            return
        state = self._progress.tasks[self._progress.task_ids.index(task)]
        completed = state.completed + buckets
        self._progress.update(
            task,
            completed=completed,
            # An open range ends at the server's "now", a moment after ours: one more bucket.
            total=max(state.total or 0, completed),
            count=state.fields["count"] + count,
            counted=self._said(state.fields["count"] + count),
        )


def progress_wanted(streaming_to_stdout: bool) -> bool:
    """Whether to draw progress: only on a terminal, and not over rows streaming onto it."""
    if not sys.stderr.isatty():
        return False
    return not (streaming_to_stdout and sys.stdout.isatty())


async def pull(
    client: UsageClient,
    query: Query,
    fields: Sequence[str],
    writer: RowWriter,
    *,
    clock: ServerClock,
    streaming: bool,
    names: NameLookup | None = None,
) -> int:
    """Write every row of ``query``, with ``fields`` (``row_fields`` of the query, with the
    name columns when ``names`` is given), page by page, with progress; close ``writer`` at
    the end.

    ``names`` is read beside the first page and names every row; ``clock`` learns the
    server's time from the first response. Returns how many rows were written.
    """
    written = 0
    async with client:
        if names is not None:
            names.start(client)
        try:
            # The query is validated already; the rows come straight from the wire, as
            # ua.rows and the sync read them.
            stream: BucketStream[Any] = BucketStream(client, query)
            with BucketBars(progress_wanted(streaming)) as progress:
                label = query.endpoint.name
                progress.track(label, expected_buckets(query, clock.local))
                async for page in stream.row_pages(fields[2:]):
                    clock.observe(stream.server_time)
                    directory = await names.directory() if names is not None else None
                    rows = [
                        row
                        for bucket in page.data
                        for row in row_dicts(bucket, fields, names=directory)
                    ]
                    writer.write(rows)
                    written += len(rows)
                    progress.advance(label, len(page.data), 1)
        finally:
            if names is not None:
                await names.aclose()
    writer.close()
    return written
