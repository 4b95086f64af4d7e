"""Argument parsing and the commands of ``usage-async``; see the package docstring."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from .._base_url import DEFAULT_BASE_URL, base_url_problem
from .._client import UsageClient, __version__
from .._concurrency import FanOutError
from .._endpoints import BUCKET_SECONDS, ENDPOINTS, Endpoint, Filter
from .._exceptions import APIError, APIStatusError, InvalidParameterError
from .._keyfile import read_key_file
from .._protocol import validate
from .._rows import NAME_COLUMNS, row_fields
from .._time import DAY, TimeSyntaxError, When, parse_when, utc_text
from ._names import ID_OF
from ._period import Period, PeriodError, ServerClock, resolve_period
from ._voice import library_log, redact, say

__all__ = ["main", "param_flags"]

N = TypeVar("N", int, float)
T = TypeVar("T")

KEY_ENV = "OPENAI_ADMIN_KEY"
URL_ENV = "OPENAI_BASE_URL"

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `yes | head` reports

FORMATS = ("table", "csv", "jsonl", "json")
DEFAULT_CONCURRENCY = 4
DEMO_DAYS = 7

WHEN_HELP = (
    "WHEN is an ISO-8601 date or datetime (2026-11-01, 2026-11-01T12:00, 2026-11-01T12:00+02:00;"
    " UTC unless an offset is given), a span before now (90m, 24h, 7d, 2w) or 'now'; spans are"
    " rounded down to whole buckets (UTC midnight for daily ones)."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    now = int(time.time())
    try:
        try:
            args = build_parser(now).parse_args(argv)
            command: Callable[[argparse.Namespace, int], int] = args.run
            code = command(args, now)
        except SystemExit as stop:  # argparse: --help, --version and usage errors
            code = stop.code if isinstance(stop.code, int) else EXIT_USAGE
        # A reader that left while output sat in the buffer is found here, not at exit.
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): point stdout at devnull so the interpreter's final
        # flush does not complain about the closed pipe on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except ModuleNotFoundError as missing:
        if missing.name != "rich":
            raise
        print(
            "usage-async: the command line needs rich: pip install 'usage-async[cli]'",
            file=sys.stderr,
        )
        return EXIT_USAGE


# --- Arguments ---------------------------------------------------------------------------------


def _when(now: int) -> Callable[[str], When]:
    def when(text: str) -> When:
        try:
            return parse_when(text, now)
        except TimeSyntaxError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return when


def _values(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type for a comma-separated list of names from ``choices``."""

    def values(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",")]
        for item in items:
            if not item:
                raise argparse.ArgumentTypeError(f"empty value in {text!r}")
            if item not in choices:
                raise argparse.ArgumentTypeError(
                    f"unknown value {item!r}; choose from {', '.join(choices)}"
                )
        return items

    return values


def _whole_value(text: str) -> list[str]:
    """An argparse type for one free-text value, taken whole: ids, models and cost line items
    may contain commas ("gpt-4o-2024-08-06, input"), so a comma never splits them."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty value")
    return [text]


def _number(convert: Callable[[str], N], low: N, high: N | None = None) -> Callable[[str], N]:
    """An argparse type for a number in ``[low, high]`` (``high=None``: no upper bound)."""
    what = "a whole number" if convert is int else "a number"

    def number(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        # Written so that NaN fails too.
        if not (low <= value and (high is None or value <= high)):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return number


class _RefuseKeyOnCommandLine(argparse.Action):
    """``--api-key`` would put the key in the process list and shell history: refuse it.

    Without this, argparse would echo the value back in its "unrecognized arguments" error.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            f"{option_string} is not accepted: a key on the command line is visible to other "
            f"users in the process list. Set {KEY_ENV} or pass --api-key-file PATH."
        )


def _filter_flag(spec: Filter) -> str:
    # Wire filters are plural lists (project_ids); one flag occurrence names one value.
    name = spec.name[:-1] if spec.kind == "strings" and spec.name.endswith("s") else spec.name
    return "--" + name.replace("_", "-")


_COMMON_FLAGS: Mapping[str, str] = {
    "start_time": "--start",
    "end_time": "--end",
    "bucket_width": "--bucket-width",
    "group_by": "--group-by",
    "limit": "--limit",
    "concurrency": "--concurrency",
    "base_url": "--base-url",
    "api_key": "--api-key-file",
}


def param_flags(endpoint: Endpoint) -> dict[str, str]:
    """The flag of each library parameter of ``endpoint``'s command (``line_items`` ->
    ``--line-item``): the one mapping that names the arguments, the flags in error messages
    and the filters restated to the user. Each flag stores its value under the parameter."""
    return {**_COMMON_FLAGS, **{spec.name: _filter_flag(spec) for spec in endpoint.filters}}


def _add_filter(parser: argparse.ArgumentParser, spec: Filter, flag: str) -> None:
    if spec.kind == "bool":
        parser.add_argument(
            flag,
            dest=spec.name,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"only {spec.name} requests (--{spec.name}) or only others (--no-{spec.name})",
        )
        return
    noun = flag[2:].replace("-", " ")
    if spec.choices:
        kind: Callable[[str], list[str]] = _values(spec.choices)
        several = f"repeat the flag or comma-separate for several; one of {', '.join(spec.choices)}"
    else:
        kind = _whole_value
        several = "repeat the flag for several; a comma is part of the value"
    parser.add_argument(
        flag,
        dest=spec.name,
        metavar=flag[2:].upper().replace("-", "_"),
        type=kind,
        action="extend",
        help=f"only this {noun} ({several})",
    )


def _add_endpoint_command(
    commands: Any, endpoint: Endpoint, parents: list[argparse.ArgumentParser]
) -> None:
    # The table's line for people, shown without its reStructuredText literals.
    summary = endpoint.summary.replace("``", "")
    parser: argparse.ArgumentParser = commands.add_parser(
        endpoint.name,
        parents=parents,
        allow_abbrev=False,
        help=summary,
        description=f"{summary} {WHEN_HELP}",
    )
    flags = param_flags(endpoint)
    limits = ", ".join(
        f"{width}: default {limit.default}, at most {limit.maximum}"
        for width, limit in endpoint.limits.items()
    )
    parser.add_argument(
        flags["bucket_width"],
        dest="bucket_width",
        choices=endpoint.bucket_widths,
        help=f"bucket width (default {endpoint.default_width})",
    )
    parser.add_argument(
        flags["group_by"],
        dest="group_by",
        metavar="FIELD[,FIELD...]",
        type=_values(endpoint.group_by),
        action="extend",
        help=f"one result row per distinct value of: {', '.join(endpoint.group_by)}",
    )
    for spec in endpoint.filters:
        _add_filter(parser, spec, flags[spec.name])
    parser.add_argument(
        flags["limit"],
        dest="limit",
        metavar="N",
        type=_number(int, 1),
        help=f"buckets per page request ({limits})",
    )
    parser.add_argument(
        flags["concurrency"],
        dest="concurrency",
        metavar="N",
        type=_number(int, 1),
        default=DEFAULT_CONCURRENCY,
        help="one-page time windows fetched at once; rows stay in time order "
        f"(default {DEFAULT_CONCURRENCY})",
    )
    _add_format_flag(parser)
    fields = row_fields(endpoint.result_type, endpoint.group_by, names=True)
    parser.add_argument(
        "--columns",
        metavar="FIELD[,FIELD...]",
        type=_values(fields),
        action="extend",
        help="exactly these columns, in this order, in any format (default: csv, jsonl and "
        "json carry all; the table those that fit the terminal); grouping fields and their "
        "names need --group-by. Fields: " + ", ".join(fields),
    )
    if any(field in NAME_COLUMNS for field in endpoint.group_by):
        _add_names_flag(parser, NAMES_HELP)
    parser.set_defaults(run=_run_endpoint, endpoint=endpoint.name, parser=parser)


NAMES_HELP = (
    "name the IDs grouped by: project_name, user_email and api_key_name from the "
    "organization's directory (default: in the table, where a name stands in for its ID; "
    "--names adds the name columns to csv, jsonl and json; --no-names reads no directory)"
)


def _add_names_flag(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--names", action=argparse.BooleanOptionalAction, default=None, help=text)


def _add_format_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: table on a terminal, csv otherwise)",
    )


def build_parser(now: int) -> argparse.ArgumentParser:
    """The argument parser; ``now`` anchors relative WHEN spans like ``7d``."""
    connection = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    connection.add_argument(
        _COMMON_FLAGS["base_url"],
        dest="base_url",
        metavar="URL",
        help=f"API base URL (default: ${URL_ENV}, else https://api.openai.com/v1)",
    )
    connection.add_argument(
        _COMMON_FLAGS["api_key"],
        dest="api_key_file",
        metavar="PATH",
        help=f"read the admin key from the first line of PATH (default: ${KEY_ENV})",
    )
    connection.add_argument(
        "--api-key", nargs="?", action=_RefuseKeyOnCommandLine, help=argparse.SUPPRESS
    )
    # Only for commands whose client is made by _client(), which honours it.
    insecure = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    insecure.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow a plain http:// base URL on another machine (the key travels unencrypted; "
        "loopback needs no flag)",
    )
    period = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    period.add_argument(
        _COMMON_FLAGS["start_time"],
        dest="start_time",
        metavar="WHEN",
        type=_when(now),
        required=True,
        help="start, inclusive",
    )
    period.add_argument(
        _COMMON_FLAGS["end_time"],
        dest="end_time",
        metavar="WHEN",
        type=_when(now),
        help="end, exclusive (default: now)",
    )

    parser = argparse.ArgumentParser(
        prog="usage-async",
        allow_abbrev=False,
        description="Query the OpenAI organization Usage and Costs API.",
        epilog=f"{WHEN_HELP} The admin key is read from ${KEY_ENV} or --api-key-file. "
        "Start with 'usage-async demo': it needs no key and no network.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for endpoint in ENDPOINTS.values():
        _add_endpoint_command(commands, endpoint, [connection, insecure, period])

    report = commands.add_parser(
        "report",
        parents=[connection, insecure, period],
        allow_abbrev=False,
        help="one screen summarising every endpoint and the costs of a period",
        description="Totals per endpoint, model, project and line item, and cost per day, "
        f"in daily buckets from UTC midnight of the start day. {WHEN_HELP}",
    )
    _add_names_flag(
        report,
        "name the projects in 'Cost by project' from the organization's directory "
        "(default; --no-names shows their IDs and reads no directory)",
    )
    report.set_defaults(run=_run_report, parser=report)

    _add_listing_commands(commands, [connection, insecure])

    from ..focus._cli import add_focus_command  # usage-async focus: its code lives there

    add_focus_command(commands, [connection, period])

    demo = commands.add_parser(
        "demo",
        allow_abbrev=False,
        help="a report on sample data from the embedded emulator (no key, no network)",
        description=f"Start the embedded emulator and report the last {DEMO_DAYS} full UTC "
        "days of its sample data. Ignores OPENAI_ADMIN_KEY and OPENAI_BASE_URL.",
    )
    demo.set_defaults(run=_run_demo, parser=demo)

    emulator = commands.add_parser(
        "emulator",
        allow_abbrev=False,
        help="serve the API emulator locally until Ctrl-C",
        description="Serve a local stand-in for the Usage and Costs API, with deterministic "
        "sample data, and print the base URL and key to use with it.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    emulator.add_argument(
        "--port", type=_number(int, 0, 65535), default=8089, help="default 8089; 0 picks one"
    )
    emulator.add_argument("--seed", type=int, default=0, help="sample data seed (default 0)")
    emulator.add_argument(
        "--latency",
        metavar="S",
        type=_number(float, 0.0),
        default=0.0,
        help="seconds added to each response (default 0)",
    )
    emulator.add_argument(
        "--fault-rate",
        metavar="P",
        type=_number(float, 0.0, 1.0),
        default=0.0,
        help="probability 0..1 that a request fails, split evenly between 429 rate limits, "
        "500 server errors and dropped connections (default 0)",
    )
    emulator.set_defaults(run=_run_emulator, parser=emulator)

    from ..sync._cli import add_sync_command

    add_sync_command(commands, [connection])
    return parser


# --- Commands ----------------------------------------------------------------------------------


def _usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    parser: argparse.ArgumentParser = args.parser
    parser.error(message)


def _period(args: argparse.Namespace, now: int, grid: int = DAY) -> Period:
    """``--start``/``--end`` for buckets ``grid`` seconds wide (default: days, as costs)."""
    try:
        return resolve_period(args.start_time, args.end_time, grid, now)
    except PeriodError as exc:
        _usage_error(args, str(exc))


def _checked(
    args: argparse.Namespace, make: Callable[[], T], flags: Mapping[str, str] = _COMMON_FLAGS
) -> T:
    """``make()``; a parameter the library rejects is a usage error (exit 2, no request).

    The command line checks what users get wrong in its own words first; this names the
    flag (``flags``: parameter -> flag) for anything the library still refuses.
    """
    try:
        return make()
    except InvalidParameterError as exc:
        flag = flags.get(exc.param or "")
        _usage_error(args, f"{flag}: {exc.message}" if flag else exc.message)


def _check_limit(args: argparse.Namespace, endpoint: Endpoint, width: str) -> None:
    most = endpoint.page_limit(width).maximum
    if args.limit is not None and args.limit > most:
        _usage_error(
            args,
            f"--limit {args.limit} is more than a page holds: at most {most} for "
            f"{endpoint.name} with --bucket-width {width}",
        )


def _admin_key(args: argparse.Namespace) -> str:
    if args.api_key_file is not None:
        try:
            return read_key_file(args.api_key_file)
        except ValueError as exc:
            _usage_error(args, f"--api-key-file: {exc}")
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        _usage_error(
            args, f"no admin key: set {KEY_ENV} to an sk-admin-... key, or pass --api-key-file"
        )
    return key


def _base_url_problem(args: argparse.Namespace, refusal: InvalidParameterError) -> str:
    """Why the base URL was refused, naming where it came from: the flag or the variable.

    The library's one check names the rule the URL broke; this says it in the command
    line's words (``--allow-insecure``, not ``allow_insecure=True``).
    """
    source, url = (
        ("--base-url", args.base_url) if args.base_url else (f"${URL_ENV}", os.environ[URL_ENV])
    )
    problem = base_url_problem(url, getattr(args, "allow_insecure", False))
    if problem == "not-http":
        return f"{source} {url} is not an http(s) URL with a host ({DEFAULT_BASE_URL})"
    if problem == "credentials":
        return (
            f"{source} must not carry a user name or password; the key comes from {KEY_ENV} "
            "or --api-key-file"
        )
    if problem == "insecure":
        flag = ", or pass --allow-insecure if you must" if hasattr(args, "allow_insecure") else ""
        return (
            f"{source} {url} is plain http to another machine: the admin key would cross the "
            f"network unencrypted. Use https{flag}."
        )
    return f"{source} {url}: {refusal.message}"


def _client(args: argparse.Namespace) -> tuple[UsageClient, str]:
    key = _admin_key(args)
    try:
        client = UsageClient(
            key, base_url=args.base_url, allow_insecure=getattr(args, "allow_insecure", False)
        )
    except InvalidParameterError as exc:
        if exc.param != "base_url":
            raise
        # A URL may carry the key in its query string (?key=...): blanked like any message.
        _usage_error(args, redact(_base_url_problem(args, exc), key))
    return client, key


def _fail(message: str, secret: str | None) -> int:
    # The real API masks keys in its messages; a proxy or emulator might not.
    say(f"error: {message}", secret)
    return EXIT_API_ERROR


def _api_message(exc: APIError, flags: Mapping[str, str]) -> str:
    """The error as the library words it, and the flag of the parameter the API refused."""
    flag = flags.get(exc.param or "") if isinstance(exc, APIStatusError) else None
    return f"{exc} - check {flag}" if flag else str(exc)


def _complete(
    work: Coroutine[Any, Any, None], secret: str | None, flags: Mapping[str, str] | None = None
) -> int:
    """Run ``work``; an API or network failure becomes a one-line message and exit 1.

    Whatever the library logs meanwhile (retries, parts of the directory it could not read)
    is said on stderr as it happens, one line each, with ``secret`` blanked out.
    """
    try:
        with library_log(secret):
            asyncio.run(work)
    except FanOutError as exc:
        if not isinstance(exc.error, APIError):
            raise
        return _fail(f"{exc.key}: {exc.error}", secret)
    except APIError as exc:
        return _fail(_api_message(exc, flags or {}), secret)
    return EXIT_OK


def _restated_filters(args: argparse.Namespace, endpoint: Endpoint) -> list[str]:
    """The filters given, as flags the user could type again."""
    flags = param_flags(endpoint)
    given: list[str] = []
    for spec in endpoint.filters:
        value = getattr(args, spec.name)
        if isinstance(value, bool):
            given.append(flags[spec.name] if value else f"--no-{flags[spec.name][2:]}")
        elif value:
            given.extend(f"{flags[spec.name]} {shlex.quote(item)}" for item in value)
    return given


def _nothing_found(args: argparse.Namespace, endpoint: Endpoint, period: Period, now: int) -> str:
    """Why stdout holds no rows: the range and filters asked, said on stderr; ``now`` is the
    server's, when it answered."""
    until = utc_text(period.end) if period.end is not None else f"now ({utc_text(now)})"
    text = f"usage-async: no {endpoint.name} results from {utc_text(period.start)} to {until}"
    filters = _restated_filters(args, endpoint)
    if filters:
        text += " with " + " ".join(filters)
    if period.start >= now:
        text += f"; --start {args.start_time.text} is in the future"
    return text


def _names_shown(args: argparse.Namespace, group_by: Sequence[str], fmt: str) -> list[str]:
    """The name columns the output will show: what the directory must be read for.

    ``--columns`` says exactly; otherwise the names of the grouped IDs, by default in the
    table only (csv, jsonl and json keep IDs unless ``--names``).
    """
    if args.columns is not None:
        return [column for column in args.columns if column in ID_OF]
    names = getattr(args, "names", None)  # only commands with IDs to name have the flag
    wanted = names if names is not None else fmt == "table"
    return [NAME_COLUMNS[group] for group in group_by if group in NAME_COLUMNS] if wanted else []


def _check_columns(args: argparse.Namespace, endpoint: Endpoint, group_by: Sequence[str]) -> None:
    for column in args.columns or ():
        grouping = ID_OF.get(column, column)
        if grouping in endpoint.group_by and grouping not in group_by:
            _usage_error(
                args,
                f"--columns {column} needs --group-by {grouping}: rows carry a grouping field "
                "and its name only when grouped by it",
            )
        if column in ID_OF and getattr(args, "names", None) is False:
            _usage_error(args, f"--columns {column} is a name, which --no-names turns off")


def _run_endpoint(args: argparse.Namespace, now: int) -> int:
    from ._names import NameLookup
    from ._output import open_writer, pull

    endpoint = ENDPOINTS[args.endpoint]
    flags = param_flags(endpoint)
    width = args.bucket_width or endpoint.default_width
    period = _period(args, now, BUCKET_SECONDS[width])
    _check_limit(args, endpoint, width)
    params: dict[str, Any] = {
        "start_time": period.start,
        "end_time": period.end,
        "bucket_width": args.bucket_width,
        "limit": args.limit,
        "group_by": args.group_by,
        "concurrency": args.concurrency,
    }
    params.update({spec.name: getattr(args, spec.name) for spec in endpoint.filters})
    query = _checked(args, lambda: validate(endpoint, params), flags)
    _check_columns(args, endpoint, query.group_by)
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    needs = _names_shown(args, query.group_by, fmt)
    client, key = _client(args)
    clock = ServerClock(now)
    names = NameLookup(needs) if needs else None
    # The rows' fields, for the reader of the wire and the writer alike.
    fields = row_fields(endpoint.result_type, query.group_by, names=names is not None)
    writer = open_writer(
        fmt, query, fields, sys.stdout, clock=clock, columns=args.columns, names=names
    )
    written = 0

    async def work() -> None:
        nonlocal written
        written = await pull(
            client, query, fields, writer, clock=clock, streaming=fmt != "table", names=names
        )

    code = _complete(work(), key, flags)
    if code == EXIT_OK and not written:
        print(_nothing_found(args, endpoint, period, clock.now), file=sys.stderr)
    return code


def _run_report(args: argparse.Namespace, now: int) -> int:
    from ._names import NameLookup
    from ._report import report_queries, show_report

    period = _period(args, now)
    end = period.end if period.end is not None else now
    queries = _checked(args, lambda: report_queries(period.start, end))
    client, key = _client(args)
    names = NameLookup(["project_name"]) if args.names is not False else None
    return _complete(show_report(client, queries, now, names=names), key)


def _run_demo(args: argparse.Namespace, now: int) -> int:
    from ._report import demo_report

    return _complete(demo_report(now, DEMO_DAYS), None)


# --- The directory ------------------------------------------------------------------------------

# The listing commands' flags, by the client parameter each sets (for API errors).
LISTING_FLAGS: Mapping[str, str] = {
    "include_archived": "--include-archived",
    "emails": "--email",
    "project_id": "--project-id",
    "owner_project_access": "--owner-project-access",
}


def _add_listing_commands(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        # The endpoint commands are spelled as the client's methods (file_search_calls):
        # the same spelling works here too.
        snake = name.replace("-", "_")
        parser: argparse.ArgumentParser = commands.add_parser(
            name,
            aliases=[snake] if snake != name else [],
            parents=parents,
            allow_abbrev=False,
            help=summary,
            description=description,
        )
        _add_format_flag(parser)
        parser.set_defaults(run=_run_listing, listing=name, parser=parser)
        return parser

    def project_ids(parser: argparse.ArgumentParser, noun: str) -> None:
        parser.add_argument(
            LISTING_FLAGS["project_id"],
            dest="project_ids",
            metavar="ID",
            type=_whole_value,
            action="extend",
            help=f"only this project's {noun} (repeat the flag for several; default: every "
            "project's, archived ones included)",
        )
        _add_names_flag(
            parser,
            "name each project (default: in the table, where the name stands in for the ID; "
            "--names adds project_name to csv, jsonl and json; --no-names reads no project "
            "list when --project-id is given)",
        )

    projects = command(
        "projects",
        "the organization's projects",
        "The organization's projects: ID, name, status, and when each was created and "
        "archived (UTC).",
    )
    projects.add_argument(
        LISTING_FLAGS["include_archived"],
        dest="include_archived",
        action="store_true",
        help="archived projects too",
    )
    users = command(
        "users",
        "the organization's users",
        "The organization's users: ID, email, name, role, and when each was added (UTC).",
    )
    users.add_argument(
        LISTING_FLAGS["emails"],
        dest="emails",
        metavar="ADDRESS",
        type=_whole_value,
        action="extend",
        help="only the user with this email address (repeat the flag for several)",
    )
    api_keys = command(
        "api-keys",
        "the projects' API keys and who owns each",
        "Every project's API keys, archived projects included: ID, name, owner (a user or "
        "a service account), and when each was created and last used (UTC). The secret is "
        "never shown, only its redacted form.",
    )
    project_ids(api_keys, "keys")
    api_keys.add_argument(
        LISTING_FLAGS["owner_project_access"],
        dest="owner_project_access",
        choices=("active", "inactive", "any"),
        default="any",
        help="keys whose owner still has access to the project (active), no longer has it "
        "(inactive), or either (any, the default)",
    )
    service_accounts = command(
        "service-accounts",
        "the projects' service accounts",
        "Every project's service accounts, archived projects included: ID, name, role, and "
        "when each was created (UTC).",
    )
    project_ids(service_accounts, "service accounts")


def _nothing_listed(args: argparse.Namespace, noun: str) -> str:
    filters = [
        f"{LISTING_FLAGS[param]} {shlex.quote(value)}"
        for param, values in (
            ("emails", getattr(args, "emails", None)),
            ("project_id", getattr(args, "project_ids", None)),
        )
        for value in values or ()
    ]
    access = getattr(args, "owner_project_access", "any")
    if access != "any":
        filters.append(f"{LISTING_FLAGS['owner_project_access']} {access}")
    return f"usage-async: no {noun}" + (" with " + " ".join(filters) if filters else "")


def _run_listing(args: argparse.Namespace, now: int) -> int:
    from ._listings import LISTINGS, Listed, fetch_listing, write_listing

    listing = LISTINGS[args.listing]
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    names = listing.in_projects and (args.names if args.names is not None else fmt == "table")
    client, key = _client(args)
    listed = Listed([])

    async def work() -> None:
        nonlocal listed
        listed = await fetch_listing(
            client,
            listing,
            names=names,
            include_archived=getattr(args, "include_archived", False),
            emails=getattr(args, "emails", None),
            project_ids=getattr(args, "project_ids", None),
            owner_project_access=getattr(args, "owner_project_access", "any"),
        )

    code = _complete(work(), key, LISTING_FLAGS)
    if code != EXIT_OK:
        return code
    if listed.unread:
        return _fail(f"cannot list {listing.noun}: the projects list could not be read", key)
    write_listing(listing, listed, fmt, names=names)
    if not listed.rows:
        print(_nothing_listed(args, listing.noun), file=sys.stderr)
    return EXIT_OK


def _run_emulator(args: argparse.Namespace, now: int) -> int:
    from ..emulator import DEFAULT_API_KEY, Faults, serve_forever

    share = args.fault_rate / 3
    faults = (
        Faults(rate_limit=share, server_error=share, disconnect=share, seed=args.seed)
        if args.fault_rate
        else None
    )

    def ready(base_url: str) -> None:
        print(
            f"usage-async emulator listening on {base_url} (Ctrl-C to stop)\n"
            f"  export OPENAI_BASE_URL={base_url}\n"
            f"  export {KEY_ENV}={DEFAULT_API_KEY}",
            flush=True,
        )

    try:
        asyncio.run(
            serve_forever(
                host=args.host,
                port=args.port,
                seed=args.seed,
                latency=args.latency,
                faults=faults,
                api_key=DEFAULT_API_KEY,
                ready=ready,
            )
        )
    except KeyboardInterrupt:
        # Ctrl-C is how the emulator is meant to stop, but the shell is told the truth (130),
        # as for every other command.
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except OSError as exc:  # the port is taken, the host is not ours...
        return _fail(f"cannot serve on {args.host}:{args.port}: {exc}", None)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
