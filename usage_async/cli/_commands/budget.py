"""``usage-async budget check``: every budget against the synced database, and its alerts.

    usage-async budget check --config budgets.toml               # sqlite:///usage.db
    usage-async budget check postgresql://usage@db/usage --config budgets.toml --dry-run
    usage-async budget check --config budgets.toml --at 2026-03-01   # as of another time

The check is ``usage_async.budgets.check``; the run and the table are ``cli._budget``'s,
imported when the command runs with the database libraries.
"""

from __future__ import annotations

import argparse

from .._arguments import Common, Subcommands
from .sync import DEFAULT_DATABASE

__all__ = ["BUDGET_EXIT_CODES", "FORECAST_RULE", "ANOMALY_RULE", "register"]

FORECAST_RULE = (
    "The forecast is the period's settled spend plus, for each day left, the mean daily cost "
    "of the last 28 settled days."
)
ANOMALY_RULE = (
    "An anomaly is a settled day of the last week on which a project's line item cost at "
    "least min_amount, 3 times its median day of the lookback_days before, and 6 robust "
    "standard deviations (1.4826 x MAD) above that median."
)
BUDGET_EXIT_CODES = (
    "Exit codes: 0 every budget within its thresholds; 3 a budget crossed a threshold or its "
    "forecast reached the amount (alerted or not); 1 an alert could not be delivered (it stays "
    "pending for the next check) or the check could not run, which outranks 3; 2 a bad config "
    "or argument (nothing read, nothing sent)."
)


def register(commands: Subcommands, common: Common) -> None:
    """Add ``budget`` and its ``check``: they read a database, so no parent parser."""
    parser = commands.add_parser(
        "budget",
        allow_abbrev=False,
        help="check spending against budgets.toml and send the alerts due (Slack, webhooks)",
        description="Budgets and alerts over the database usage-async sync keeps.",
    )
    actions = parser.add_subparsers(dest="budget_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        allow_abbrev=False,
        help="evaluate every budget, print a table and send the alerts due, each once",
        description="Evaluate every budget of --config in its current period: the UTC month "
        "or day that holds the database's last synced server time (not this machine's "
        "clock), or --at. Print the spent, settled and forecast figures, send the alerts due "
        "(once per budget, period and threshold; once per anomaly), and retry those left "
        f"pending. {FORECAST_RULE} {ANOMALY_RULE}",
        epilog=BUDGET_EXIT_CODES,
    )
    check.add_argument(
        "database",
        metavar="DATABASE_URL",
        nargs="?",
        help=f"the database usage-async sync keeps (default {DEFAULT_DATABASE})",
    )
    check.add_argument(
        "--config",
        metavar="FILE",
        required=True,
        help="budgets.toml: the budgets, the [anomaly] rule and the receivers of alerts",
    )
    check.add_argument(
        "--at",
        metavar="WHEN",
        type=common.when,
        help="evaluate as of this time instead of the last sync (an ISO date or datetime, "
        "UTC unless an offset is given, or a span before now such as 7d): its periods, and "
        "the days that ended by then",
    )
    check.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be sent (kind, budget, receiver and its host); send and "
        "record nothing",
    )
    check.add_argument(
        "--prefix", metavar="NAME_", help="prefix of the table names, as sync's (default none)"
    )
    check.set_defaults(run=run, parser=check)


def run(args: argparse.Namespace, now: int) -> int:
    """Run ``usage-async budget check``; returns the exit code."""
    from .._budget import run_check

    return run_check(args, default_database=DEFAULT_DATABASE)
