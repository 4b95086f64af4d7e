"""``usage-async focus``: an organization's costs as a FOCUS 1.2 file.

Daily costs grouped by line item and project (plus any ``--group-by`` fields), fetched with
the client's concurrency, written as CSV or Parquet to stdout, a file, or a directory of
monthly ``BillingPeriodStart=YYYY-MM-01/`` partitions. WHEN parsing, the admin key and the
exit codes are the rest of the command line's (``cli._main``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._client import UsageClient
from .._endpoints import ENDPOINTS
from .._exceptions import APIError, InvalidParameterError
from .._protocol import validate
from ..cli._voice import say
from ._rows import FocusRows, FocusSummary, ProjectDirectory, focus_rows
from ._writers import (
    FORMATS,
    PARQUET_EXTRA_HINT,
    FocusExportError,
    Format,
    PartialMonth,
    describe_part,
    partial_months,
    refuse_partial_replacements,
    require_pyarrow,
    write_focus,
)

__all__ = ["add_focus_command"]

ALWAYS_GROUPED = ("line_item", "project_id")
# The other costs dimensions; each fills its x_ column.
EXTRA_GROUPS = tuple(g for g in ENDPOINTS["costs"].group_by if g not in ALWAYS_GROUPED)


def add_focus_command(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``focus`` on the ``usage-async`` subparsers (``parents``: key and period)."""
    from ..cli._main import DEFAULT_CONCURRENCY, WHEN_HELP, _number, _values

    parser: argparse.ArgumentParser = commands.add_parser(
        "focus",
        parents=parents,
        allow_abbrev=False,
        help="costs as a FOCUS 1.2 file for FinOps tools (CSV or Parquet)",
        description="Export the organization's daily costs, grouped by line item and "
        "project, as FOCUS 1.2 (the FinOps Foundation's billing schema). Without --output "
        "the file goes to stdout; an --output directory gets one file per billing month "
        f"under BillingPeriodStart=YYYY-MM-01/. {WHEN_HELP}",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="csv (empty cells for null) or parquet (typed columns; needs the parquet extra). "
        "Default: parquet for an --output ending in .parquet, else csv",
    )
    parser.add_argument(
        "--output",
        metavar="PATH",
        help="a file, or a directory (existing, or ending in /) for monthly partitions",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="with an --output directory, replace the file of a month the period covers only "
        "in part (it starts or ends mid-month); without it that is refused",
    )
    parser.add_argument(
        "--organization",
        metavar="ORG_ID",
        help="BillingAccountId for costs whose rows name no organization (default: $OPENAI_ORG_ID)",
    )
    parser.add_argument(
        "--organization-name",
        metavar="NAME",
        help="BillingAccountName for costs whose rows name none",
    )
    parser.add_argument(
        "--group-by",
        metavar="FIELD[,FIELD...]",
        type=_values(EXTRA_GROUPS),
        action="extend",
        help=f"also split rows by: {', '.join(EXTRA_GROUPS)} (each fills its x_ column)",
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=_number(int, 1),
        default=DEFAULT_CONCURRENCY,
        help=f"one-page time windows fetched at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.set_defaults(run=_run_focus, parser=parser)


def _format(args: argparse.Namespace) -> Format:
    if args.format is not None:
        chosen: Format = args.format
        return chosen
    if args.output is not None and args.output.endswith(".parquet"):
        return "parquet"
    return "csv"


def _partitioned(output: str) -> bool:
    return output.endswith(("/", "\\")) or Path(output).is_dir()


async def _project_directory(client: UsageClient, key: str) -> ProjectDirectory | None:
    """The project names for SubAccountName: the organization's projects (not its users or
    keys: one request per hundred projects), or ``None`` (with one line on stderr) when they
    cannot be read; rows that carry ``project_name`` keep it. A part left unread is logged by
    the library, and the command line says that once (``cli._voice.library_log``)."""
    try:
        directory = await client.directory(parts=("projects",))
    except APIError as exc:
        say(f"no project names (the directory: {exc})", key)
        return None
    return directory


def _run_focus(args: argparse.Namespace, now: int) -> int:
    from ..cli._main import _checked, _client, _complete, _period, _usage_error

    start, end = _period(args, now)
    params = {
        "start_time": start,
        "end_time": end,
        "bucket_width": "1d",
        "group_by": [*ALWAYS_GROUPED, *(args.group_by or ())],
        "concurrency": args.concurrency,
    }
    query = _checked(args, lambda: validate(ENDPOINTS["costs"], params))
    fmt = _format(args)
    partitioned = args.output is not None and _partitioned(args.output)
    if fmt == "parquet":
        try:
            require_pyarrow()
        except ModuleNotFoundError:
            _usage_error(args, f"--format parquet needs pyarrow: {PARQUET_EXTRA_HINT}")
        if args.output is None and sys.stdout.isatty():
            _usage_error(args, "Parquet is binary: give --output PATH, or redirect stdout")
    if partitioned and not args.partial:
        # Here, not only in write_focus: before the project names are fetched too.
        try:
            refuse_partial_replacements(
                Path(args.output),
                fmt,
                partial_months(start, end),
                "Give --start on the 1st of a month (and --end on one, or none), or pass "
                "--partial to replace them anyway",
            )
        except InvalidParameterError as exc:
            _usage_error(args, exc.message)
    client, key = _client(args)
    outcome: dict[str, Any] = {}

    async def export() -> None:
        async with client:
            directory = await _project_directory(client, key)
            rows = focus_rows(
                client.costs(**query.kwargs()),
                directory=directory,
                billing_account_id=args.organization,
                billing_account_name=args.organization_name,
            )
            outcome["rows"] = rows
            output: Any = sys.stdout if args.output is None else args.output
            try:
                outcome["files"] = await write_focus(
                    rows, output, format=fmt, partitioned=partitioned, partial=args.partial
                )
            except (InvalidParameterError, FocusExportError) as exc:
                outcome["error"] = exc

    code = _complete(export(), key)
    error = outcome.get("error")
    if isinstance(error, InvalidParameterError):
        if error.param == "billing_account_id":
            _usage_error(
                args,
                "no billing account: the API's cost rows name no organization; pass "
                "--organization org-... or set OPENAI_ORG_ID",
            )
        _usage_error(args, error.message)  # a month file that appeared meanwhile, say
    if isinstance(error, FocusExportError):
        print(f"usage-async: error: {error}", file=sys.stderr)
        return 1
    rows = outcome.get("rows")
    if code == 0 and isinstance(rows, FocusRows):
        partly = partial_months(start, end) if partitioned else []
        _report(rows.summary, outcome.get("files", []), args.output, partitioned, partly)
    return code


def _report(
    summary: FocusSummary,
    files: list[Path],
    output: str | None,
    partitioned: bool,
    partly: list[PartialMonth],
) -> None:
    """What was written, which month files hold part of their month, and what the API left
    out or incomplete, on stderr."""
    err = sys.stderr
    if output is not None:
        where = f"{len(files)} file(s) under {output}" if partitioned else output
        print(f"usage-async: wrote {summary.rows:,} FOCUS rows to {where}", file=err)
    written = {path.parent.name for path in files}
    for month in partly:
        folder = f"BillingPeriodStart={month.month[:10]}"
        if folder in written:
            print(
                f"usage-async: {folder} holds {describe_part(month)} only: the period covers part "
                "of that month",
                file=err,
            )
    if summary.gaps:
        gaps = ", ".join(f"{name} {count:,}" for name, count in sorted(summary.gaps.items()))
        print(
            f"usage-async: rows left null where FOCUS wants a value (the API did not give "
            f"it): {gaps}",
            file=err,
        )
    if summary.unknown:
        print(f"usage-async: {len(summary.unknown):,} cost result(s) not exported:", file=err)
        for day, untyped in summary.unknown:
            print(f"  {day}: {untyped.reason}", file=err)
