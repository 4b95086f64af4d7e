"""``usage-async grafana``: Grafana's provisioning files for the database a sync keeps.

    usage-async grafana --output provisioning postgresql://grafana@db:5432/usage
    usage-async grafana --output provisioning --prefix acme_ --inspect postgresql://...

The files (a data source, a dashboard provider, three dashboards) are ``cli._grafana``'s to
write, with the library ``usage_async.grafana``, imported when the command runs.
"""

from __future__ import annotations

import argparse

from .._arguments import Common, Subcommands

__all__ = ["DEFAULT_DATABASE", "DEFAULT_DASHBOARDS_PATH", "PASSWORD_ENV", "register"]

DEFAULT_DATABASE = "postgresql://usage@postgres:5432/usage?sslmode=disable"
"""The database of the docs' ``docker compose`` example, as Grafana's container reaches it."""
DEFAULT_DASHBOARDS_PATH = "/etc/grafana/provisioning/dashboards/usage-async"
"""``usage_async.grafana.DEFAULT_DASHBOARDS_PATH``, restated so that ``--help`` loads no
library (a test keeps the two equal)."""
PASSWORD_ENV = "USAGE_ASYNC_PG_PASSWORD"
"""``usage_async.grafana.PASSWORD_ENV``, restated likewise."""


def register(commands: Subcommands, common: Common) -> None:
    """Add ``grafana``: it reads no API, so no parent parser."""
    parser = commands.add_parser(
        "grafana",
        allow_abbrev=False,
        help="Grafana provisioning files: dashboards of costs, usage and freshness over a "
        "synced PostgreSQL database",
        description="Write Grafana's file provisioning for the PostgreSQL database that "
        "usage-async sync keeps: datasources/usage-async.yaml, dashboards/usage-async.yaml "
        "and the dashboards' JSON, to mount at /etc/grafana/provisioning. The password is "
        f"never written: Grafana reads it from its environment variable {PASSWORD_ENV}. "
        "Grafana has no built-in SQLite data source: sync into PostgreSQL.",
    )
    parser.add_argument(
        "database",
        metavar="DATABASE_URL",
        nargs="?",
        default=DEFAULT_DATABASE,
        help="postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=MODE], as Grafana reaches it "
        f"(default {DEFAULT_DATABASE}, the docs' docker compose database); sslmode defaults "
        "to disable on this machine, require elsewhere",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        required=True,
        help="the provisioning directory to write into (made if missing; other files in it "
        "are left alone)",
    )
    parser.add_argument(
        "--prefix", metavar="NAME_", help="the sync's prefix of the table names (default none)"
    )
    parser.add_argument(
        "--dashboards-path",
        metavar="PATH",
        default=DEFAULT_DASHBOARDS_PATH,
        help="where Grafana sees DIR/dashboards/usage-async (default "
        f"{DEFAULT_DASHBOARDS_PATH}, DIR mounted at /etc/grafana/provisioning)",
    )
    parser.add_argument(
        "--inspect",
        action="store_true",
        help="connect to DATABASE_URL and leave out the panels its tables and columns cannot "
        "answer (default: every panel, for what a sync creates grouped by every field)",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace, now: int) -> int:
    """Write the provisioning files; returns the exit code."""
    from .._grafana import run_grafana

    return run_grafana(args)
