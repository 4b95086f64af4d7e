"""``usage-async report``: every endpoint and the costs of a period on one screen."""

from __future__ import annotations

import argparse

from .._arguments import WHEN_HELP, Common, Subcommands, add_names_flag
from .._running import checked, complete, make_client, requested_period

__all__ = ["register"]


def register(commands: Subcommands, common: Common) -> None:
    """Add ``report``, with the connection and the period."""
    parser = commands.add_parser(
        "report",
        parents=[common.connection, common.period],
        allow_abbrev=False,
        help="one screen summarising every endpoint and the costs of a period",
        description="Totals per endpoint, model, project and line item, and cost per day, "
        f"in daily buckets from UTC midnight of the start day. {WHEN_HELP}",
    )
    add_names_flag(
        parser,
        "name the projects in 'Cost by project' from the organization's directory "
        "(default; --no-names shows their IDs and reads no directory)",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace, now: int) -> int:
    """Pull the period's daily usage and costs and draw the report; returns the exit code."""
    from .._names import NameLookup
    from .._report import report_queries, show_report

    period = requested_period(args, now)
    end = period.end if period.end is not None else now
    queries = checked(args, lambda: report_queries(period.start, end))
    client, key = make_client(args)
    names = NameLookup(["project_name"]) if args.names is not False else None
    return complete(show_report(client, queries, now, names=names), key, base_url=client.base_url)
