"""``usage-async report``: every endpoint and the costs of a period, on one screen, as JSON, or
as an HTML chargeback report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._arguments import WHEN_HELP, Common, Subcommands, add_names_flag
from .._running import EXIT_OK, checked, complete, make_client, requested_period, usage_error
from .._voice import say
from .sync import DEFAULT_DATABASE

__all__ = ["REPORT_FORMATS", "register"]

REPORT_FORMATS = ("text", "json")


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
        "name the projects (and in --html the users and API keys) from the organization's "
        "directory (default; --no-names shows their IDs and reads no directory)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        default="text",
        help="text for people (default), or json for programs: the period, the total cost per "
        "currency, cost per day, per line item and per project, each endpoint's totals by "
        "model and by project; amounts as exact decimal strings",
    )
    output.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        help="write the chargeback report of the period to FILE instead: one self-contained "
        "HTML page (charts, who spent what by project, user and API key) to open in a browser "
        "or print to PDF",
    )
    budgets = parser.add_argument_group(
        "budgets in the HTML report",
        "With --html, each budget of a budgets.toml as a bar with its forecast, evaluated "
        "on the database usage-async sync keeps, as 'usage-async budget check --dry-run' "
        "would (nothing is sent or recorded).",
    )
    budgets.add_argument(
        "--budgets", metavar="FILE", help="budgets.toml: the budgets to draw (needs --html)"
    )
    budgets.add_argument(
        "--database",
        metavar="DATABASE_URL",
        help=f"the database the budgets are evaluated on (default {DEFAULT_DATABASE})",
    )
    budgets.add_argument(
        "--prefix", metavar="NAME_", help="prefix of its table names, as sync's (default none)"
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace, now: int) -> int:
    """Pull the period's daily usage and costs and show the report; returns the exit code."""
    from .._report import report_queries, show_report, write_html_report

    period = requested_period(args, now)
    end = period.end if period.end is not None else now
    checked(args, lambda: report_queries(period.start, end))
    names = args.names is not False
    if args.html is None and (args.budgets, args.database, args.prefix) != (None, None, None):
        usage_error(
            args,
            "--budgets, --database and --prefix draw budgets in the HTML report: add --html "
            "FILE (in a terminal, usage-async budget check shows them)",
        )
    if args.html is not None:
        if not args.html.parent.is_dir():
            usage_error(args, f"--html {args.html}: no such directory {args.html.parent}")
        if args.html.is_dir():
            usage_error(args, f"--html {args.html} is a directory: name the file to write")
        statuses = None
        if args.budgets is not None:
            from .._budget import report_budgets

            database = args.database or DEFAULT_DATABASE
            statuses = report_budgets(args, args.budgets, database, args.prefix or "")
        client, key = make_client(args)
        html = write_html_report(
            client, period.start, end, args.html, names=names, now=now, budgets=statuses
        )
        code = complete(html, key, base_url=client.base_url)
        if code == EXIT_OK:
            say(f"wrote the chargeback report to {args.html}")
            sys.stderr.flush()
        return code
    client, key = make_client(args)
    shown = show_report(client, period.start, end, names=names, fmt=args.format)
    return complete(shown, key, base_url=client.base_url)
