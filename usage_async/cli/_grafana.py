"""Running ``usage-async grafana``: make the provisioning files, write them, say what was done.

Exit codes: 0 written; 2 a URL Grafana cannot read (SQLite among them) or a bad prefix,
nothing written; 1 a database ``--inspect`` cannot read, or a file that cannot be written.
Every line goes to stderr, with the URL's password blanked out.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._running import EXIT_API_ERROR, EXIT_OK, usage_error
from ._voice import plural, say

if TYPE_CHECKING:
    from ..grafana import Catalog, Omitted, Provisioning

__all__ = ["run_grafana"]


def _password(url: str) -> str | None:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        return None


def _inspected(args: argparse.Namespace, prefix: str, secret: str | None) -> Catalog | None:
    """What the database has, for ``--inspect``; ``None`` once the failure is said."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..grafana import database_catalog, postgres_source

    postgres_source(args.database)  # SQLite and bad URLs are refused before connecting
    try:
        catalog = asyncio.run(database_catalog(args.database, prefix))
    except (SQLAlchemyError, OSError) as exc:
        say(f"cannot read the database: {type(exc).__name__}: {exc}", secret)
        return None
    if not catalog.columns:
        under = f" under the prefix {prefix}" if prefix else ""
        say(f"the database has no table or view of a sync{under}: run usage-async sync first")
        return None
    return catalog


def _report(args: argparse.Namespace, made: Provisioning, omitted: Sequence[Omitted]) -> None:
    from ..grafana import DASHBOARDS_FOLDER, PASSWORD_ENV

    dashboards = [name for name in made.files if name.startswith(DASHBOARDS_FOLDER + "/")]
    say(f"wrote {plural(len(dashboards), 'dashboard')} and a data source under {args.output}")
    say(f"mount {args.output} at /etc/grafana/provisioning")
    note = " (the one in DATABASE_URL is not written)" if made.source.url_had_password else ""
    say(f"Grafana reads the database password from ${PASSWORD_ENV}{note}")
    for left in omitted:
        say(f"left out {left.dashboard}: {left.panel}, which reads {', '.join(left.missing)}")


def run_grafana(args: argparse.Namespace) -> int:
    """Run ``usage-async grafana``; returns the exit code."""
    from .._exceptions import InvalidParameterError
    from ..grafana import provisioning

    prefix = args.prefix or ""
    secret = _password(args.database)
    try:
        catalog = _inspected(args, prefix, secret) if args.inspect else None
        if args.inspect and catalog is None:
            return EXIT_API_ERROR
        made = provisioning(
            args.database, prefix=prefix, dashboards_path=args.dashboards_path, catalog=catalog
        )
    except InvalidParameterError as exc:
        usage_error(args, exc.message)
    try:
        made.write(args.output)
    except OSError as exc:
        say(f"cannot write under {args.output}: {exc}", secret)
        return EXIT_API_ERROR
    _report(args, made, made.omitted)
    return EXIT_OK
