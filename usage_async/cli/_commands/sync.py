"""``usage-async sync``: keep a database current, once or every N minutes.

    usage-async sync                                   # sqlite:///usage.db, all twelve endpoints
    usage-async sync postgresql://usage@db/usage --since 90d --every 15m
    usage-async sync --config sync.toml                # several organizations at once
    usage-async sync --describe                        # every table and view, column by column

The admin key, WHEN (``--since``), name lists and numbers are the rest of the command line's,
so the grammars agree; only ``--settle`` and ``--every`` take durations of their own
(``parse_duration``). The runs are ``cli._sync``'s, imported when the command runs with the
database libraries.
"""

from __future__ import annotations

import argparse
import datetime as _dt

from ..._endpoints import ENDPOINTS
from ..._time import parse_duration
from .._arguments import DEFAULT_CONCURRENCY, CommaSeparated, Common, Subcommands, number

__all__ = ["DEFAULT_DATABASE", "register"]

DEFAULT_DATABASE = "sqlite:///usage.db"
GROUP_FIELDS = tuple(dict.fromkeys(f for e in ENDPOINTS.values() for f in e.group_by))


def _duration(text: str) -> int:
    # --settle and --every: durations, which the rest of the command line has no flag for.
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return seconds


def _positive_duration(text: str) -> int:
    seconds = _duration(text)
    if seconds < 1:
        raise argparse.ArgumentTypeError("must be at least 1s")
    return seconds


def _since(text: str) -> int | _dt.timedelta:
    # The library's reading of `since`, which sync.toml shares; loaded when --since is given.
    from ...sync._config import ConfigError, parse_since

    try:
        return parse_since(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Subcommands, common: Common) -> None:
    """Add ``sync``, with the connection (``--base-url``, ``--api-key-file``)."""
    parser = commands.add_parser(
        "sync",
        parents=[common.connection],
        allow_abbrev=False,
        help="keep a SQLite or PostgreSQL database current with every endpoint",
        description="Bring one table per endpoint (and sync_state) up to the server's now: "
        "each run re-reads from where the data is settled, replacing the re-read buckets "
        "page by page, one transaction each. Safe to kill at any moment and to run again.",
    )
    parser.add_argument(
        "database",
        metavar="DATABASE_URL",
        nargs="?",
        help=f"sqlite:///PATH or postgresql://USER@HOST/DB (default {DEFAULT_DATABASE})",
    )
    _add_scope_flags(parser)
    _add_timing_flags(parser)
    parser.add_argument("--source", metavar="LABEL", help="label of the rows (default 'default')")
    parser.add_argument(
        "--prefix", metavar="NAME_", help="prefix of the table names (default none)"
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=number(int, 1),
        default=DEFAULT_CONCURRENCY,
        help=f"time windows fetched at once per table (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a sync.toml listing several organizations (see the README)",
    )
    parser.add_argument(
        "--budgets",
        metavar="FILE",
        help="after each run, check the budgets of FILE (a budgets.toml) and send the alerts "
        "due, as usage-async budget check does; the exit code is the sync's if it failed, "
        "else the check's (0, 3 a budget crossed a threshold, 1 an alert not delivered)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="if another run is syncing the same source into the database, exit 75 at once "
        "instead of waiting for it (wait = false in a sync.toml does the same)",
    )
    parser.add_argument(
        "--describe",
        action="store_true",
        help="print every table and view with its columns and exit: those DATABASE_URL "
        "has, or without it those a sync creates (no key needed)",
    )
    parser.set_defaults(run=run, parser=parser)


def _add_scope_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        metavar="WHEN",
        type=_since,
        help="where a table's first run starts: a span before the server's now (90d, 2w, "
        "36h) or an ISO date or datetime, as --start elsewhere (default 30d); later runs "
        "continue from their state, and one earlier than a table's first bucket adds the "
        "older range",
    )
    parser.add_argument(
        "--endpoint",
        metavar="NAME",
        dest="endpoints",
        type=CommaSeparated(tuple(ENDPOINTS)),
        action="extend",
        help="sync only this endpoint (repeat or comma-separate; default all twelve)",
    )
    parser.add_argument(
        "--bucket-width", choices=("1h", "1d"), help="usage bucket width (default 1h)"
    )
    parser.add_argument(
        "--group-by",
        metavar="FIELD[,FIELD...]",
        type=CommaSeparated(GROUP_FIELDS),
        action="extend",
        help="group by these fields where an endpoint offers them (default: every field "
        "each endpoint offers)",
    )


def _add_timing_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settle",
        metavar="DURATION",
        type=_duration,
        help="buckets younger than this are read again on every run (default 2d)",
    )
    parser.add_argument(
        "--every",
        metavar="DURATION",
        type=_positive_duration,
        help="keep running: one run per DURATION (15m, 1h) until SIGTERM or Ctrl-C",
    )
    parser.add_argument(
        "--directory-max-age",
        metavar="DURATION",
        type=_duration,
        help="list a project's API keys again once its list is this old (default 24h); "
        "sooner only when new rows name a key the database does not know",
    )


def run(args: argparse.Namespace, now: int) -> int:
    """Run ``usage-async sync``; returns the exit code."""
    if args.describe:
        from .._describe import run_describe

        return run_describe(args)
    from .._sync import run_sync

    return run_sync(args, default_database=DEFAULT_DATABASE)
