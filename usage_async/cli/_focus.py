"""Running ``usage-async focus``: the FOCUS export, and what it says about it on stderr.

Daily costs grouped by line item and project (plus any ``--group-by`` fields), fetched with
the client's concurrency, written as CSV or Parquet to stdout, a file, or a directory of
monthly ``BillingPeriodStart=YYYY-MM-01/`` partitions by the FOCUS library
(``usage_async.focus``). What can be refused is refused before anything is fetched.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._client import UsageClient
from .._endpoints import ENDPOINTS
from .._exceptions import APIError, InvalidParameterError
from .._protocol import Query, validate
from ..focus import (
    FocusExportError,
    FocusRows,
    FocusSummary,
    ProjectDirectory,
    focus_rows,
    write_focus,
)
from ..focus._writers import (
    PARQUET_EXTRA_HINT,
    Format,
    PartialMonth,
    describe_part,
    partial_months,
    refuse_partial_replacements,
    require_pyarrow,
)
from ._running import EXIT_OK, checked, complete, fail, make_client, requested_period, usage_error
from ._voice import plural, say

__all__ = ["export_focus"]


@attrs.define
class _Export:
    """What the export left behind for the command to report, once the loop is gone."""

    rows: FocusRows | None = None
    files: list[Path] = attrs.Factory(list)
    error: InvalidParameterError | FocusExportError | None = None


def export_focus(args: argparse.Namespace, now: int, *, group_by: Sequence[str]) -> int:
    """Export the costs of the period ``args`` give, grouped by ``group_by``; returns the
    exit code. Bad arguments, an output that would lose a whole month to part of it and a
    missing pyarrow are usage errors (exit 2), before any request."""
    start, end = requested_period(args, now)
    params = {
        "start_time": start,
        "end_time": end,
        "bucket_width": "1d",
        "group_by": list(group_by),
        "concurrency": args.concurrency,
    }
    query = checked(args, lambda: validate(ENDPOINTS["costs"], params))
    fmt = _format(args)
    partitioned = args.output is not None and _partitioned(args.output)
    _check_output(args, fmt, partitioned, partial_months(start, end))
    client, key = make_client(args)
    outcome = _Export()
    export = _export(client, key, query, args, fmt, partitioned, outcome)
    code = complete(export, key, base_url=client.base_url)
    if isinstance(outcome.error, InvalidParameterError):
        if outcome.error.param == "billing_account_id":
            usage_error(
                args,
                "no billing account: the API's cost rows name no organization; pass "
                "--organization org-... or set OPENAI_ORG_ID",
            )
        usage_error(args, outcome.error.message)  # a month file that appeared meanwhile, say
    if isinstance(outcome.error, FocusExportError):
        return fail(str(outcome.error), key)
    if code == EXIT_OK and outcome.rows is not None:
        partly = partial_months(start, end) if partitioned else []
        _report(outcome.rows.summary, outcome.files, args.output, partitioned, partly)
    return code


def _format(args: argparse.Namespace) -> Format:
    if args.format is not None:
        chosen: Format = args.format
        return chosen
    if args.output is not None and args.output.endswith(".parquet"):
        return "parquet"
    return "csv"


def _partitioned(output: str) -> bool:
    return output.endswith(("/", "\\")) or Path(output).is_dir()


def _check_output(
    args: argparse.Namespace, fmt: Format, partitioned: bool, partly: list[PartialMonth]
) -> None:
    """Refuse what the writer would refuse after the fetch, before it."""
    if fmt == "parquet":
        try:
            require_pyarrow()
        except ModuleNotFoundError:
            usage_error(args, f"--format parquet needs pyarrow: {PARQUET_EXTRA_HINT}")
        if args.output is None and sys.stdout.isatty():
            usage_error(args, "Parquet is binary: give --output PATH, or redirect stdout")
    if partitioned and not args.partial:
        # Here, not only in write_focus: before the project names are fetched too.
        try:
            refuse_partial_replacements(
                Path(args.output),
                fmt,
                partly,
                "Give --start on the 1st of a month (and --end on one, or none), or pass "
                "--partial to replace them anyway",
            )
        except InvalidParameterError as exc:
            usage_error(args, exc.message)


async def _export(
    client: UsageClient,
    key: str,
    query: Query,
    args: argparse.Namespace,
    fmt: Format,
    partitioned: bool,
    outcome: _Export,
) -> None:
    async with client:
        directory = await _project_directory(client, key)
        rows = focus_rows(
            client.costs(**query.kwargs()),
            directory=directory,
            billing_account_id=args.organization,
            billing_account_name=args.organization_name,
        )
        outcome.rows = rows
        output: Any = sys.stdout if args.output is None else args.output
        try:
            outcome.files = await write_focus(
                rows, output, format=fmt, partitioned=partitioned, partial=args.partial
            )
        except (InvalidParameterError, FocusExportError) as exc:
            outcome.error = exc


async def _project_directory(client: UsageClient, key: str) -> ProjectDirectory | None:
    """The project names for SubAccountName: the organization's projects (not its users or
    keys: one request per hundred projects), or ``None`` (with one line on stderr) when they
    cannot be read; rows that carry ``project_name`` keep it. A part left unread is logged by
    the library, and the command line says that once (``_voice.library_log``)."""
    try:
        directory = await client.directory(parts=("projects",))
    except APIError as exc:
        say(f"no project names (the directory: {exc})", key)
        return None
    return directory


def _report(
    summary: FocusSummary,
    files: list[Path],
    output: str | None,
    partitioned: bool,
    partly: list[PartialMonth],
) -> None:
    """What was written, which month files hold part of their month, and what the API left
    out or incomplete, on stderr."""
    if output is not None:
        where = f"{plural(len(files), 'file')} under {output}" if partitioned else output
        say(f"wrote {plural(summary.rows, 'FOCUS row')} to {where}")
    written = {path.parent.name for path in files}
    for month in partly:
        folder = f"BillingPeriodStart={month.month[:10]}"
        if folder in written:
            say(f"{folder} holds {describe_part(month)} only: the period covers part of that month")
    if summary.gaps:
        gaps = ", ".join(f"{name} {count:,}" for name, count in sorted(summary.gaps.items()))
        say(f"rows left null where FOCUS wants a value (the API did not give it): {gaps}")
    if summary.unknown:
        say(f"{plural(len(summary.unknown), 'cost result')} not exported:")
        for day, untyped in summary.unknown:
            print(f"  {day}: {untyped.reason}", file=sys.stderr)
