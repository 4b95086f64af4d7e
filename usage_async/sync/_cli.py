"""``usage-async sync``: keep a database current, once or every N minutes.

    usage-async sync                                   # sqlite:///usage.db, all twelve endpoints
    usage-async sync postgresql://usage@db/usage --since 90d --every 15m
    usage-async sync --config sync.toml                # several organizations at once

One run per invocation, or with ``--every`` one run per period until SIGTERM or SIGINT, which
let the transaction in progress commit and then exit 0. Each run prints one summary line on
stderr. Exit codes: 0 done; 1 a table failed (the line names it; what the others and the
earlier pages committed stays); 2 bad arguments, a bad config or a table grouped otherwise
(nothing changed). A one-shot run stopped by a signal exits 128 + its number.

The admin key, WHEN (``--since``), name lists, numbers, exit codes and error output are the
rest of the command line's (``cli._main``, ``cli._period``), so the grammars agree; only
``--settle`` and ``--every`` take durations of their own (``parse_duration``). Only
``add_sync_command`` is imported with the command line; the database libraries are
imported when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from .._endpoints import ENDPOINTS
from .._time import iso_utc, parse_duration
from ..cli._main import (
    DEFAULT_CONCURRENCY,
    EXIT_API_ERROR,
    EXIT_OK,
    _admin_key,
    _number,
    _usage_error,
    _values,
)
from ..cli._voice import library_log, redact, say
from ._config import ConfigError, SourceConfig, SyncConfig, load_config, parse_since

__all__ = ["add_sync_command"]

DEFAULT_DATABASE = "sqlite:///usage.db"
_GROUP_FIELDS = tuple(dict.fromkeys(f for e in ENDPOINTS.values() for f in e.group_by))


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
    try:
        return parse_since(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_sync_command(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``sync`` to the subcommands; ``parents`` give ``--base-url`` and ``--api-key-file``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "sync",
        parents=parents,
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
    parser.add_argument(
        "--since",
        metavar="WHEN",
        type=_since,
        help="where a table's first run starts: a span before the server's now (90d, 2w, "
        "36h) or an ISO date or datetime, as --start elsewhere (default 30d); later runs "
        "continue from their state",
    )
    parser.add_argument(
        "--endpoint",
        metavar="NAME",
        dest="endpoints",
        type=_values(tuple(ENDPOINTS)),
        action="extend",
        help="sync only this endpoint (repeat or comma-separate; default all twelve)",
    )
    parser.add_argument(
        "--bucket-width", choices=("1h", "1d"), help="usage bucket width (default 1h)"
    )
    parser.add_argument(
        "--group-by",
        metavar="FIELD[,FIELD...]",
        type=_values(_GROUP_FIELDS),
        action="extend",
        help="group by these fields where an endpoint offers them (default: every field "
        "each endpoint offers)",
    )
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
    parser.add_argument("--source", metavar="LABEL", help="label of the rows (default 'default')")
    parser.add_argument(
        "--prefix", metavar="NAME_", help="prefix of the table names (default none)"
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=_number(int, 1),
        default=DEFAULT_CONCURRENCY,
        help=f"time windows fetched at once per table (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a sync.toml listing several organizations (see the README)",
    )
    parser.set_defaults(run=run_sync_command, parser=parser)


def _command_line_settings(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if args.endpoints:
        settings["endpoints"] = tuple(dict.fromkeys(args.endpoints))
    if args.bucket_width:
        settings["bucket_width"] = args.bucket_width
    if args.group_by:
        settings["group_by"] = list(dict.fromkeys(args.group_by))
    if args.settle is not None:
        settings["settle"] = {"default": args.settle}
    if args.since is not None:
        settings["since"] = args.since
    if args.prefix is not None:
        settings["prefix"] = args.prefix
    return settings


def _configuration(args: argparse.Namespace) -> SyncConfig:
    settings = _command_line_settings(args)
    if args.config is not None:
        # What names one organization has no place beside a file of several: refused,
        # rather than applied to all of them or ignored.
        for flag, value, instead in (
            ("--source", args.source, "are named by their [sources.NAME] tables"),
            ("--base-url", args.base_url, "set their own base_url"),
            ("--api-key-file", args.api_key_file, "name their own api_key_env or api_key_file"),
        ):
            if value is not None:
                raise ConfigError(
                    f"{flag} is for a single organization; with --config, the sources {instead}"
                )
        return load_config(args.config, overrides=settings)
    key = _admin_key(args)  # $OPENAI_ADMIN_KEY or --api-key-file, as every command
    source = SourceConfig(
        name=args.source or "default",
        api_key=key,
        base_url=args.base_url,
        **settings,
    )
    return SyncConfig(sources=(source,))


def run_sync_command(args: argparse.Namespace, now: int) -> int:
    """Run ``usage-async sync``; returns the exit code."""
    try:
        config = _configuration(args)
    except ConfigError as exc:
        _usage_error(args, str(exc))
    database = args.database or config.database or DEFAULT_DATABASE
    try:
        with library_log(*(source.api_key for source in config.sources)):
            return asyncio.run(_serve(config, database, args.every, args.concurrency, args))
    except KeyboardInterrupt:  # a second Ctrl-C while the first one's transaction commits
        return 128 + signal.SIGINT


def _redact(text: str, config: SyncConfig) -> str:
    """``text`` with every run of 8 or more characters of any source's key blanked out (a
    config has several keys; ``say`` and ``library_log`` blank one)."""
    for source in config.sources:
        text = redact(text, source.api_key)
    return text


def _log(line: str, config: SyncConfig) -> None:
    """One line on stderr, in the command line's voice, stamped: ``--every`` runs for days."""
    say(f"{iso_utc(int(time.time()))} {_redact(line, config)}")
    sys.stderr.flush()


async def _serve(
    config: SyncConfig,
    database: str,
    every: int | None,
    concurrency: int,
    args: argparse.Namespace,
) -> int:
    from .._client import UsageClient
    from .._exceptions import InvalidParameterError
    from ._store import open_engine

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    stopped: list[int] = []

    def stop(signum: int) -> None:
        if not stopped:
            stopped.append(signum)
            main.cancel()

    try:
        engine = open_engine(database)
    except InvalidParameterError as exc:
        _usage_error(args, exc.message)
    limiter = asyncio.Semaphore(config.max_in_flight)
    clients = []
    try:
        for source in config.sources:
            clients.append(
                UsageClient(
                    source.api_key,
                    base_url=source.base_url,
                    organization=source.organization,
                    limiter=limiter,
                )
            )
    except InvalidParameterError as exc:
        _usage_error(args, _redact(exc.message, config))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        while True:
            started = loop.time()
            code = await _run_once(config, clients, engine, concurrency, args)
            if every is None:
                return code
            await asyncio.sleep(max(0.0, started + every - loop.time()))
    except asyncio.CancelledError:
        if not stopped:
            raise
        name = signal.Signals(stopped[0]).name
        _log(f"stopped by signal {name}; what was read is committed", config)
        return EXIT_OK if every is not None else 128 + stopped[0]
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        for client in clients:
            await client.close()
        await engine.dispose()


async def _run_once(
    config: SyncConfig,
    clients: Sequence[Any],
    engine: Any,
    concurrency: int,
    args: argparse.Namespace,
) -> int:
    """One run of every source, concurrently; the exit code of a one-shot run."""
    from sqlalchemy.exc import SQLAlchemyError

    from .._exceptions import InvalidParameterError, UsageError
    from ..cli._output import BucketBars
    from ._run import SyncError, sync
    from ._store import GroupingChangedError

    with BucketBars(sys.stderr.isatty() and len(config.sources) == 1, counted="rows") as bars:
        runs = [
            sync(client, engine, concurrency=concurrency, progress=bars, **source.sync_options())
            for source, client in zip(config.sources, clients, strict=True)
        ]
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
    code = EXIT_OK
    refused: list[str] = []
    for source, outcome in zip(config.sources, outcomes, strict=True):
        if isinstance(outcome, GroupingChangedError | InvalidParameterError):
            # Nothing of this source was changed, and running again will not help; the
            # other sources' runs are said first (they committed what they read).
            refused.append(f"source {source.name}: {outcome}")
        elif isinstance(outcome, SyncError):
            _log(outcome.report.summary(), config)
            code = EXIT_API_ERROR
        elif isinstance(outcome, UsageError | SQLAlchemyError | OSError):
            _log(f"sync {source.name}: FAILED: {type(outcome).__name__}: {outcome}", config)
            code = EXIT_API_ERROR
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            _log(outcome.summary(), config)
    if refused:
        _usage_error(args, _redact("; ".join(refused), config))
    return code
