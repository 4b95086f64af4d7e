"""Running ``usage-async sync``: one run, or with ``--every`` one run per period.

One run per invocation, or with ``--every`` one run per period until SIGTERM or SIGINT, which
let the transaction in progress commit and then exit 0. Each run prints one summary line on
stderr. Exit codes: 0 done; 1 a table failed (the line names it; what the others and the
earlier pages committed stays); 2 bad arguments, a bad config or a table grouped otherwise
(nothing changed); 75 (EX_TEMPFAIL) with ``--no-wait``, another run was syncing the same
source into the database (nothing written). Without ``--no-wait`` a run waits for the other,
saying once for whom. A one-shot run stopped by a signal exits 128 + its number.

With ``--budgets FILE`` each run is followed by a budget check (``cli._budget``) on the same
database, read before the first run (a bad file is exit 2, nothing synced). A run's code is
then the sync's failure (1) if it failed, else the check's: 0, 3 a budget past a threshold,
1 an alert not delivered.

The flags merge with a ``sync.toml`` here: the file's ``database`` gives way to the
``DATABASE_URL`` argument, and its ``[defaults]`` and every source's settings to
``--since``, ``--endpoint``, ``--bucket-width``, ``--group-by``, ``--settle`` and
``--prefix`` (``load_config``'s ``overrides``). What names one organization (``--source``,
``--base-url``, ``--api-key-file``) is refused beside a file of several. The database
libraries are imported when a run starts.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._redact import redact
from .._time import iso_utc
from ..sync._config import ConfigError, SourceConfig, SyncConfig, load_config
from ._running import (
    EXIT_API_ERROR,
    EXIT_OK,
    EXIT_TEMPFAIL,
    admin_key,
    client_options,
    usage_error,
)
from ._voice import library_log, say

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from .._client import UsageClient
    from ._budget import SyncBudgets

__all__ = ["run_sync"]


def run_sync(args: argparse.Namespace, *, default_database: str) -> int:
    """Run ``usage-async sync`` into ``args.database``, the file's database or
    ``default_database``; returns the exit code."""
    try:
        config = _configuration(args)
    except ConfigError as exc:
        usage_error(args, str(exc))
    database = args.database or config.database or default_database
    budgets = _budgets(args, config)
    secrets = [source.api_key for source in config.sources]
    try:
        with library_log(*secrets, *(budgets.secrets if budgets else ())):
            return asyncio.run(
                _serve(config, database, args.every, args.concurrency, args, budgets)
            )
    except KeyboardInterrupt:  # a second Ctrl-C while the first one's transaction commits
        return 128 + signal.SIGINT


def _budgets(args: argparse.Namespace, config: SyncConfig) -> SyncBudgets | None:
    """``--budgets``: read (a bad one is exit 2) before anything is synced."""
    from ._budget import SyncBudgets

    return SyncBudgets.from_args(args, [(s.name, s.prefix) for s in config.sources])


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
    if args.directory_max_age is not None:
        settings["directory_max_age"] = args.directory_max_age
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
                usage_error(
                    args,
                    f"{flag} is for a single organization; with --config, the sources {instead}",
                )
        return load_config(args.config, overrides=settings)
    key = admin_key(args)  # $OPENAI_ADMIN_KEY or --api-key-file, as every command
    source = SourceConfig(
        name=args.source or "default",
        api_key=key,
        base_url=args.base_url,
        **settings,
    )
    return SyncConfig(sources=(source,))


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
    budgets: SyncBudgets | None = None,
) -> int:
    from .._exceptions import InvalidParameterError
    from ..sync._store import open_engine

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    stopped: list[int] = []

    def stop(signum: int) -> None:
        if not stopped:
            stopped.append(signum)
            main.cancel()

    clients = _clients(config, args)
    try:
        engine = open_engine(database)
    except InvalidParameterError as exc:
        usage_error(args, exc.message)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        while True:
            started = loop.time()
            code = await _run_once(config, clients, engine, concurrency, args)
            if budgets is not None:
                code = await budgets.after(code, engine, args)
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


def _clients(config: SyncConfig, args: argparse.Namespace) -> list[UsageClient]:
    """A client per source, sharing one cap on the requests in flight; a base URL the
    client refuses is a usage error (no client has sent anything yet)."""
    from .._client import UsageClient
    from .._exceptions import InvalidParameterError

    limiter = asyncio.Semaphore(config.max_in_flight)
    try:
        return [
            UsageClient(
                source.api_key,
                base_url=source.base_url,
                organization=source.organization,
                limiter=limiter,
                **client_options(args),
            )
            for source in config.sources
        ]
    except InvalidParameterError as exc:
        usage_error(args, _redact(exc.message, config))


async def _run_once(
    config: SyncConfig,
    clients: Sequence[UsageClient],
    engine: AsyncEngine,
    concurrency: int,
    args: argparse.Namespace,
) -> int:
    """One run of every source, concurrently; the exit code of a one-shot run."""
    from sqlalchemy.exc import SQLAlchemyError

    from .._exceptions import InvalidParameterError, UsageError
    from ..sync._lock import SyncBusyError
    from ..sync._run import SyncError, sync
    from ..sync._store import GroupingChangedError
    from ._output import BucketBars

    def notice(line: str) -> None:  # whom a run waits for, history it adds
        _log(line, config)

    with BucketBars(sys.stderr.isatty() and len(config.sources) == 1, counted="rows") as bars:
        options: dict[str, Any] = {
            "concurrency": concurrency,
            "wait": config.wait and not args.no_wait,
            "on_notice": notice,
        }
        runs = [
            sync(client, engine, progress=bars, **options, **source.sync_options())
            for source, client in zip(config.sources, clients, strict=True)
        ]
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
    code = EXIT_OK
    refused: list[str] = []
    for source, outcome in zip(config.sources, outcomes, strict=True):
        if isinstance(outcome, SyncBusyError):
            why = "--no-wait" if args.no_wait else "wait = false in the config"
            _log(f"sync {source.name}: {outcome} ({why})", config)
            code = code or EXIT_TEMPFAIL
        elif isinstance(outcome, GroupingChangedError | InvalidParameterError):
            # Nothing of this source was changed, and running again will not help; the
            # other sources' runs are said first (they committed what they read).
            refused.append(f"source {source.name}: {outcome}")
        elif isinstance(outcome, SyncError):
            _log(outcome.report.summary(), config)
            code = EXIT_API_ERROR  # a failure outranks a source that was busy
        elif isinstance(outcome, UsageError | SQLAlchemyError | OSError):
            _log(f"sync {source.name}: FAILED: {type(outcome).__name__}: {outcome}", config)
            code = EXIT_API_ERROR
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            _log(outcome.summary(), config)
    if refused:
        usage_error(args, _redact("; ".join(refused), config))
    return code
