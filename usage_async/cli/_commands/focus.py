"""``usage-async focus``: an organization's costs as a FOCUS 1.2 file (CSV or Parquet).

The export itself is ``cli._focus``'s, imported when the command runs: the FOCUS library
reads the client's streams, which registering the command must not load.
"""

from __future__ import annotations

import argparse

from ..._endpoints import ENDPOINTS
from .._arguments import (
    DEFAULT_CONCURRENCY,
    WHEN_HELP,
    CommaSeparated,
    Common,
    Subcommands,
    number,
)

__all__ = ["ALWAYS_GROUPED", "EXTRA_GROUPS", "FOCUS_FORMATS", "register"]

ALWAYS_GROUPED = ("line_item", "project_id")
# The other costs dimensions; each fills its x_ column.
EXTRA_GROUPS = tuple(g for g in ENDPOINTS["costs"].group_by if g not in ALWAYS_GROUPED)
FOCUS_FORMATS = ("csv", "parquet")
"""``ua.focus.FORMATS``, restated so that ``--help`` needs no FOCUS library (a test keeps
the two equal)."""


def register(commands: Subcommands, common: Common) -> None:
    """Add ``focus``, with the connection and the period."""
    parser = commands.add_parser(
        "focus",
        parents=[common.connection, common.period],
        allow_abbrev=False,
        help="costs as a FOCUS 1.2 file for FinOps tools (CSV or Parquet)",
        description="Export the organization's daily costs, grouped by line item and "
        "project, as FOCUS 1.2 (the FinOps Foundation's billing schema). Without --output "
        "the file goes to stdout; an --output directory gets one file per billing month "
        f"under BillingPeriodStart=YYYY-MM-01/. {WHEN_HELP}",
    )
    _add_output_flags(parser)
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
        type=CommaSeparated(EXTRA_GROUPS),
        action="extend",
        help=f"also split rows by: {', '.join(EXTRA_GROUPS)} (each fills its x_ column)",
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=number(int, 1),
        default=DEFAULT_CONCURRENCY,
        help=f"one-page time windows fetched at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.set_defaults(run=run, parser=parser)


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FOCUS_FORMATS,
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
        "in part (it starts or ends mid-month), or write it beside that month's file of the "
        "other format; without it that is refused",
    )


def run(args: argparse.Namespace, now: int) -> int:
    """Export the period's costs as FOCUS; returns the exit code."""
    from .._focus import export_focus

    return export_focus(args, now, group_by=[*ALWAYS_GROUPED, *(args.group_by or ())])
