"""``usage-async completions``, ``costs``... : one command per endpoint, from ``ENDPOINTS``.

Each row of the table becomes a command: its filters repeatable singular flags
(``project_ids`` -> ``--project-id``), its bucket widths and group-by fields the choices of
``--bucket-width`` and ``--group-by``, its result's fields those of ``--columns``. The rows
are pulled page by page and written as a table, csv, jsonl or json (``_output``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..._endpoints import BUCKET_SECONDS, ENDPOINTS, Endpoint, Filter
from ..._row_columns import NAME_COLUMNS, row_fields
from ..._time import utc_text
from .._arguments import (
    COMMON_FLAGS,
    DEFAULT_CONCURRENCY,
    WHEN_HELP,
    CommaSeparated,
    Common,
    Subcommands,
    add_format_flag,
    add_names_flag,
    number,
    whole_value,
)
from .._period import Period, ServerClock
from .._running import EXIT_OK, checked, complete, make_client, requested_period, usage_error

__all__ = ["NAMES_HELP", "param_flags", "register"]

NAMES_HELP = (
    "name the IDs grouped by: project_name, user_email and api_key_name from the "
    "organization's directory (default: in the table, where a name stands in for its ID; "
    "--names adds the name columns to csv, jsonl and json; --no-names reads no directory)"
)


def register(commands: Subcommands, common: Common) -> None:
    """Add one command per endpoint, with the connection and the period."""
    for endpoint in ENDPOINTS.values():
        _add_endpoint_command(commands, endpoint, [common.connection, common.period])


def _filter_flag(spec: Filter) -> str:
    # Wire filters are plural lists (project_ids); one flag occurrence names one value.
    name = spec.name[:-1] if spec.kind == "strings" and spec.name.endswith("s") else spec.name
    return "--" + name.replace("_", "-")


def param_flags(endpoint: Endpoint) -> dict[str, str]:
    """The flag of each library parameter of ``endpoint``'s command (``line_items`` ->
    ``--line-item``): the one mapping that names the arguments, the flags in error messages
    and the filters restated to the user. Each flag stores its value under the parameter."""
    return {**COMMON_FLAGS, **{spec.name: _filter_flag(spec) for spec in endpoint.filters}}


# --- Arguments ---------------------------------------------------------------------------------


def _add_endpoint_command(
    commands: Subcommands, endpoint: Endpoint, parents: list[argparse.ArgumentParser]
) -> None:
    # The table's line for people, shown without its reStructuredText literals.
    summary = endpoint.summary.replace("``", "")
    parser = commands.add_parser(
        endpoint.name,
        parents=parents,
        allow_abbrev=False,
        help=summary,
        description=f"{summary} {WHEN_HELP}",
    )
    flags = param_flags(endpoint)
    _add_bucket_flags(parser, endpoint, flags)
    for spec in endpoint.filters:
        _add_filter(parser, spec, flags[spec.name])
    _add_paging_flags(parser, endpoint, flags)
    _add_output_flags(parser, endpoint)
    parser.set_defaults(run=run, endpoint=endpoint.name, parser=parser)


def _add_bucket_flags(
    parser: argparse.ArgumentParser, endpoint: Endpoint, flags: dict[str, str]
) -> None:
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
        type=CommaSeparated(endpoint.group_by),
        action="extend",
        help=f"one result row per distinct value of: {', '.join(endpoint.group_by)}",
    )


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
        kind: Callable[[str], list[str]] = CommaSeparated(spec.choices)
        several = f"repeat the flag or comma-separate for several; one of {', '.join(spec.choices)}"
    else:
        kind = whole_value
        several = "repeat the flag for several; a comma is part of the value"
    parser.add_argument(
        flag,
        dest=spec.name,
        metavar=flag[2:].upper().replace("-", "_"),
        type=kind,
        action="extend",
        help=f"only this {noun} ({several})",
    )


def _add_paging_flags(
    parser: argparse.ArgumentParser, endpoint: Endpoint, flags: dict[str, str]
) -> None:
    limits = ", ".join(
        f"{width}: default {limit.default}, at most {limit.maximum}"
        for width, limit in endpoint.limits.items()
    )
    parser.add_argument(
        flags["limit"],
        dest="limit",
        metavar="N",
        type=number(int, 1),
        help=f"buckets per page request ({limits})",
    )
    parser.add_argument(
        flags["concurrency"],
        dest="concurrency",
        metavar="N",
        type=number(int, 1),
        default=DEFAULT_CONCURRENCY,
        help="one-page time windows fetched at once; rows stay in time order "
        f"(default {DEFAULT_CONCURRENCY})",
    )


def _add_output_flags(parser: argparse.ArgumentParser, endpoint: Endpoint) -> None:
    add_format_flag(
        parser,
        "; the table ends with a total row, a line per currency, of the columns that add up; "
        "csv, jsonl and json carry the rows only",
    )
    fields = row_fields(endpoint.result_type, endpoint.group_by, names=True)
    parser.add_argument(
        "--columns",
        metavar="FIELD[,FIELD...]",
        type=CommaSeparated(fields),
        action="extend",
        help="exactly these columns, in this order, in any format (default: csv, jsonl and "
        "json carry all; the table those that fit the terminal); grouping fields and their "
        "names need --group-by. Fields: " + ", ".join(fields),
    )
    if any(field in NAME_COLUMNS for field in endpoint.group_by):
        add_names_flag(parser, NAMES_HELP)


# --- Running -----------------------------------------------------------------------------------


def run(args: argparse.Namespace, now: int) -> int:
    """Pull the endpoint's rows for the period and write them; returns the exit code."""
    from ..._protocol import validate
    from .._names import NameLookup
    from .._output import open_writer, pull

    endpoint = ENDPOINTS[args.endpoint]
    flags = param_flags(endpoint)
    width = args.bucket_width or endpoint.default_width
    period = requested_period(args, now, BUCKET_SECONDS[width])
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
    query = checked(args, lambda: validate(endpoint, params), flags)
    _check_columns(args, endpoint, query.group_by)
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    needs = _names_shown(args, query.group_by, fmt)
    client, key = make_client(args)
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

    code = complete(work(), key, flags, base_url=client.base_url)
    if code == EXIT_OK and not written:
        print(_nothing_found(args, endpoint, period, clock.now), file=sys.stderr)
    return code


def _check_limit(args: argparse.Namespace, endpoint: Endpoint, width: str) -> None:
    most = endpoint.page_limit(width).maximum
    if args.limit is not None and args.limit > most:
        usage_error(
            args,
            f"--limit {args.limit} is more than a page holds: at most {most} for "
            f"{endpoint.name} with --bucket-width {width}",
        )


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
        return [column for column in args.columns if column in NAME_COLUMNS.values()]
    names = getattr(args, "names", None)  # only commands with IDs to name have the flag
    wanted = names if names is not None else fmt == "table"
    return [NAME_COLUMNS[group] for group in group_by if group in NAME_COLUMNS] if wanted else []


def _check_columns(args: argparse.Namespace, endpoint: Endpoint, group_by: Sequence[str]) -> None:
    from .._names import ID_OF

    for column in args.columns or ():
        grouping = ID_OF.get(column, column)
        if grouping in endpoint.group_by and grouping not in group_by:
            usage_error(
                args,
                f"--columns {column} needs --group-by {grouping}: rows carry a grouping field "
                "and its name only when grouped by it",
            )
        if column in ID_OF and getattr(args, "names", None) is False:
            usage_error(args, f"--columns {column} is a name, which --no-names turns off")
