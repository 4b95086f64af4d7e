"""What the commands share once they run: exit codes, the key, the client, and failures.

A usage error (``usage_error``) is argparse's: the command's usage, one line, exit 2, and no
request sent. An API or network failure is one line on stderr and exit 1 (``complete``,
``fail``). The client, the network and the library's log are imported here only inside the
functions that need them, so that importing this module to parse arguments stays cheap.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from .._exceptions import InvalidParameterError
from .._time import DAY
from ._arguments import COMMON_FLAGS, KEY_ENV, URL_ENV
from ._period import Period, PeriodError, resolve_period

if TYPE_CHECKING:
    from .._client import UsageClient
    from .._exceptions import APIError

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_BROKEN_PIPE",
    "EXIT_BUDGET_CROSSED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TEMPFAIL",
    "EXIT_USAGE",
    "Run",
    "admin_key",
    "checked",
    "client_options",
    "complete",
    "fail",
    "make_client",
    "requested_period",
    "usage_error",
]

T = TypeVar("T")

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_BUDGET_CROSSED = 3  # budget check: a budget crossed a threshold (alerted or not)
EXIT_TEMPFAIL = 75  # sysexits' EX_TEMPFAIL: busy now, try again later (sync --no-wait)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `yes | head` reports

Run = Callable[[argparse.Namespace, int], int]
"""What runs a command: its parsed arguments and the time it started -> its exit code."""


def usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    """Say ``message`` under the command's usage and exit 2, as argparse does."""
    parser: argparse.ArgumentParser = args.parser
    parser.error(message)


def requested_period(args: argparse.Namespace, now: int, grid: int = DAY) -> Period:
    """``--start``/``--end`` for buckets ``grid`` seconds wide (default: days, as costs).

    A range that cannot be asked for (``--end`` before ``--start``) is a usage error.
    """
    try:
        return resolve_period(args.start_time, args.end_time, grid, now)
    except PeriodError as exc:
        usage_error(args, str(exc))


def checked(
    args: argparse.Namespace, make: Callable[[], T], flags: Mapping[str, str] = COMMON_FLAGS
) -> T:
    """``make()``; a parameter the library rejects is a usage error (exit 2, no request).

    The command line checks what users get wrong in its own words first; this names the
    flag (``flags``: parameter -> flag) for anything the library still refuses.
    """
    try:
        return make()
    except InvalidParameterError as exc:
        flag = flags.get(exc.param or "")
        usage_error(args, f"{flag}: {exc.message}" if flag else exc.message)


def admin_key(args: argparse.Namespace) -> str:
    """The admin key: the first line of ``--api-key-file``, else ``$OPENAI_ADMIN_KEY``.

    No key, or an unreadable file, is a usage error.
    """
    from .._keyfile import read_key_file

    if args.api_key_file is not None:
        try:
            return read_key_file(args.api_key_file)
        except ValueError as exc:
            usage_error(args, f"--api-key-file: {exc}")
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        usage_error(
            args, f"no admin key: set {KEY_ENV} to an sk-admin-... key, or pass --api-key-file"
        )
    return key


def _base_url_refusal(args: argparse.Namespace, refusal: InvalidParameterError) -> str:
    """Why the base URL was refused, naming where it came from: the flag or the variable.

    The library's one check names the rule the URL broke; this says it in the command
    line's words (``--allow-insecure``, not ``allow_insecure=True``).
    """
    from .._base_url import DEFAULT_BASE_URL, base_url_problem

    source, url = (
        ("--base-url", args.base_url) if args.base_url else (f"${URL_ENV}", os.environ[URL_ENV])
    )
    problem = base_url_problem(url, args.allow_insecure)
    if problem == "not-http":
        return f"{source} {url} is not an http(s) URL with a host ({DEFAULT_BASE_URL})"
    if problem == "credentials":
        return (
            f"{source} must not carry a user name or password; the key comes from {KEY_ENV} "
            "or --api-key-file"
        )
    if problem == "insecure":
        return (
            f"{source} {url} is plain http to another machine: the admin key would cross the "
            "network unencrypted. Use https, or pass --allow-insecure if you must."
        )
    return f"{source} {url}: {refusal.message}"


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``UsageClient`` settings of the connection flags (``Common.connection``) besides
    the key and base URL: ``--allow-insecure``, ``--timeout`` and ``--max-retries`` (the
    client's defaults where they are not given)."""
    options: dict[str, Any] = {"allow_insecure": args.allow_insecure}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    return options


def make_client(args: argparse.Namespace) -> tuple[UsageClient, str]:
    """A client for the key and base URL the command was given (and ``client_options``),
    and the key (to blank out of what is said). A missing key or a refused base URL is a
    usage error."""
    from .._client import UsageClient
    from .._redact import redact

    key = admin_key(args)
    try:
        client = UsageClient(key, base_url=args.base_url, **client_options(args))
    except InvalidParameterError as exc:
        if exc.param != "base_url":
            raise
        # A URL may carry the key in its query string (?key=...): blanked like any message.
        usage_error(args, redact(_base_url_refusal(args, exc), key))
    return client, key


def fail(message: str, secret: str | None) -> int:
    """Say ``error: message`` on stderr, ``secret`` blanked out; returns exit code 1."""
    from ._voice import say

    # The real API masks keys in its messages; a proxy or emulator might not.
    say(f"error: {message}", secret)
    return EXIT_API_ERROR


def _api_message(exc: APIError, flags: Mapping[str, str], base_url: str | None) -> str:
    """The error as the library words it, the flag of the parameter the API refused, and
    what to check when the base URL is the likely cause."""
    from .._exceptions import APIStatusError

    flag = flags.get(exc.param or "") if isinstance(exc, APIStatusError) else None
    message = f"{exc} - check {flag}" if flag else str(exc)
    hint = _base_url_hint(exc, base_url) if base_url is not None else None
    return f"{message.rstrip('.')}. {hint}" if hint else message


def _base_url_hint(exc: APIError, base_url: str) -> str | None:
    """What to check when ``exc`` says the base URL is likely wrong: nothing answered at
    it (is the emulator running?), or it answered 404 and names no ``/v1``."""
    from urllib.parse import urlsplit

    from .._base_url import is_loopback, with_version
    from .._exceptions import APIConnectionError, NotFoundError

    if isinstance(exc, APIConnectionError) and exc.unreachable:
        hint = f"Is the base URL {base_url} right (--base-url, else ${URL_ENV})?"
        if is_loopback(urlsplit(base_url).hostname or ""):
            hint += " If it is the emulator's, start it first: usage-async emulator"
        return hint
    versioned = with_version(base_url)
    if isinstance(exc, NotFoundError) and versioned is not None:
        return f"The base URL {base_url} has no /v1: try --base-url {versioned}"
    return None


def complete(
    work: Coroutine[Any, Any, object],
    secret: str | None,
    flags: Mapping[str, str] | None = None,
    *,
    base_url: str | None = None,
) -> int:
    """Run ``work``; returns 0, or 1 when an API or network failure ended it, said in one
    line (with the flag of a parameter the API refused, ``flags``: parameter -> flag, and
    what to check when the client's ``base_url`` looks like the cause).

    Whatever the library logs meanwhile (retries, parts of the directory it could not read)
    is said on stderr as it happens, one line each, with ``secret`` blanked out.
    """
    import asyncio

    from .._concurrency import FanOutError
    from .._exceptions import APIError
    from ._voice import library_log

    try:
        with library_log(secret):
            asyncio.run(work)
    except FanOutError as exc:
        if not isinstance(exc.error, APIError):
            raise
        return fail(f"{exc.key}: {_api_message(exc.error, {}, base_url)}", secret)
    except APIError as exc:
        return fail(_api_message(exc, flags or {}, base_url), secret)
    return EXIT_OK
