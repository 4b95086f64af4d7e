"""What the commands' arguments share: the command line's grammar for them, in argparse.

The parser (``Parser``: argparse's, with a guess for a misspelling), the parent parsers every
command picks from (``Common``: the connection, the period), the argparse types (WHEN, name
lists, bounded numbers), the flags several commands offer (``--format``, ``--names``) and the
help texts they repeat. Parsing needs only this, the endpoint table and the time grammar:
nothing here imports the client, aiohttp or rich, so ``--help`` and a mistyped flag answer
at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeVar

import attrs

from .._time import TimeSyntaxError, When, parse_when

__all__ = [
    "COMMON_FLAGS",
    "DEFAULT_CONCURRENCY",
    "FORMATS",
    "KEY_ENV",
    "URL_ENV",
    "WHEN_HELP",
    "Common",
    "CommaSeparated",
    "Parser",
    "RefuseKeyOnCommandLine",
    "ShowVersion",
    "Subcommands",
    "add_format_flag",
    "add_names_flag",
    "common_parents",
    "number",
    "program_parser",
    "when",
    "whole_value",
]

N = TypeVar("N", int, float)

KEY_ENV = "OPENAI_ADMIN_KEY"
URL_ENV = "OPENAI_BASE_URL"

FORMATS = ("table", "csv", "jsonl", "json")
DEFAULT_CONCURRENCY = 4

WHEN_HELP = (
    "WHEN is an ISO-8601 date or datetime (2026-11-01, 2026-11-01T12:00, 2026-11-01T12:00+02:00;"
    " UTC unless an offset is given), a span before now (90m, 24h, 7d, 2w), 'now', or the start of"
    " a UTC day or month: today, yesterday, this-month, last-month (--start last-month --end"
    " this-month is last month); spans are rounded down to whole buckets (UTC midnight for daily"
    " ones)."
)

COMMON_FLAGS: Mapping[str, str] = {
    "start_time": "--start",
    "end_time": "--end",
    "bucket_width": "--bucket-width",
    "group_by": "--group-by",
    "limit": "--limit",
    "concurrency": "--concurrency",
    "base_url": "--base-url",
    "api_key": "--api-key-file",
}
"""The flag of each library parameter the commands share (``start_time`` -> ``--start``), for
the arguments and for naming the flag in an error about its parameter."""


class Subcommands(Protocol):
    """Where a command registers: what ``ArgumentParser.add_subparsers()`` returns."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


# --- The parser --------------------------------------------------------------------------------


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was most likely meant to be, if any is close enough."""
    import difflib  # only on the way to an error

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


class Parser(argparse.ArgumentParser):
    """argparse's parser, which says what a misspelt flag or choice was likely meant to be.

    ``--groupby`` gets "did you mean --group-by?", ``usage-async cots`` "did you mean
    'costs'?" (argparse's ``suggest_on_error``, which only Python 3.12+ has). The commands'
    parsers are of this class too: ``add_subparsers`` makes them of the program's class.
    """

    summary = ""
    """A command's line in the program's ``--help`` (``add_parser(help=...)``)."""

    @property
    def actions(self) -> list[argparse.Action]:
        """Every argument of this parser, as argparse holds them (for shell completion)."""
        return self._actions

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # argparse leaves a command's unknown flags to the program's parser, which knows
            # none of the command's flags: the command's own parser names the close ones.
            command = getattr(parsed, "parser", None)
            (command if isinstance(command, Parser) else self).error_for_unknown(extras)
        return parsed

    def error_for_unknown(self, extras: Sequence[str]) -> NoReturn:
        """Say argparse's "unrecognized arguments", with the flag each one likely meant."""
        message = f"unrecognized arguments: {' '.join(extras)}"
        options = [o for action in self._actions for o in action.option_strings]
        for extra in extras:
            flag = extra.split("=", 1)[0]
            meant = _closest(flag, options) if flag.startswith("--") else None
            if meant is not None:
                message += f"; did you mean {meant}?"
                break
        self.error(message)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check, whole (three lines), with the guess added to its message.
        choices = action.choices
        if choices is None or value in choices:
            return
        meant = _closest(str(value), [str(choice) for choice in choices])
        guess = f"; did you mean {meant!r}?" if meant is not None else ""
        listed = ", ".join(repr(choice) for choice in choices)
        raise argparse.ArgumentError(
            action, f"invalid choice: {value!r}{guess} (choose from {listed})"
        )


# --- Argument types ----------------------------------------------------------------------------


def when(now: int) -> Callable[[str], When]:
    """An argparse type for a WHEN (``_time.parse_when``), relative to ``now``."""

    def parse(text: str) -> When:
        try:
            return parse_when(text, now)
        except TimeSyntaxError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


class CommaSeparated:
    """An argparse type for a comma-separated list of names from ``choices``; shell
    completion offers them (``_completion``)."""

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)

    def __call__(self, text: str) -> list[str]:
        items = [item.strip() for item in text.split(",")]
        for item in items:
            if not item:
                raise argparse.ArgumentTypeError(f"empty value in {text!r}")
            if item not in self.choices:
                meant = _closest(item, self.choices)
                guess = f"did you mean {meant!r}? " if meant is not None else ""
                raise argparse.ArgumentTypeError(
                    f"unknown value {item!r}; {guess}choose from {', '.join(self.choices)}"
                )
        return items


def whole_value(text: str) -> list[str]:
    """An argparse type for one free-text value, taken whole: ids, models and cost line items
    may contain commas ("gpt-4o-2024-08-06, input"), so a comma never splits them."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty value")
    return [text]


def number(convert: Callable[[str], N], low: N, high: N | None = None) -> Callable[[str], N]:
    """An argparse type for a number in ``[low, high]`` (``high=None``: no upper bound)."""
    what = "a whole number" if convert is int else "a number"

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        # Written so that NaN fails too.
        if not (low <= value and (high is None or value <= high)):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return parse


# --- Actions -----------------------------------------------------------------------------------


class RefuseKeyOnCommandLine(argparse.Action):
    """``--api-key`` would put the key in the process list and shell history: refuse it.

    Without this, argparse would echo the value back in its "unrecognized arguments" error.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> NoReturn:
        parser.error(
            f"{option_string} is not accepted: a key on the command line is visible to other "
            f"users in the process list. Set {KEY_ENV} or pass --api-key-file PATH."
        )


class ShowVersion(argparse.Action):
    """``--version``, as argparse's own, but the installed version is looked up only when
    asked for: ``importlib.metadata`` is a noticeable part of starting up."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> NoReturn:
        from .._version import __version__

        # On stdout, as argparse's own version action writes it.
        sys.stdout.write(f"{parser.prog} {__version__}\n")
        parser.exit()


# --- Parsers -----------------------------------------------------------------------------------


@attrs.frozen
class Common:
    """The parent parsers commands pick from (``parents=[common.connection, ...]``)."""

    connection: argparse.ArgumentParser
    """What every command that talks to the API takes: ``--base-url``, ``--api-key-file``
    (and the refusal of ``--api-key``), ``--allow-insecure``, ``--timeout`` and
    ``--max-retries``."""
    period: argparse.ArgumentParser
    """``--start`` (required) and ``--end``, as WHENs."""
    when: Callable[[str], When]
    """The argparse type of any other flag that takes a WHEN (``budget check --at``), with
    the same ``now`` as the period's."""


def common_parents(now: int) -> Common:
    """The shared parent parsers; ``now`` anchors relative WHEN spans like ``7d``."""
    connection = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    connection.add_argument(
        COMMON_FLAGS["base_url"],
        dest="base_url",
        metavar="URL",
        help=f"API base URL (default: ${URL_ENV}, else https://api.openai.com/v1)",
    )
    connection.add_argument(
        COMMON_FLAGS["api_key"],
        dest="api_key_file",
        metavar="PATH",
        help=f"read the admin key from the first line of PATH (default: ${KEY_ENV})",
    )
    connection.add_argument(
        "--api-key", nargs="?", action=RefuseKeyOnCommandLine, help=argparse.SUPPRESS
    )
    connection.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow a plain http:// base URL on another machine (the key travels unencrypted; "
        "loopback needs no flag)",
    )
    connection.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=number(float, 0.1),
        help="seconds one request may take before it is tried again (default 60)",
    )
    connection.add_argument(
        "--max-retries",
        metavar="N",
        type=number(int, 0),
        help="retries of a request that failed for a reason that may pass: 429, 5xx, a timeout, "
        "a dropped connection (default 5; a refused connection or a host name that does not "
        "resolve is retried once, at once)",
    )
    period = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    period.add_argument(
        COMMON_FLAGS["start_time"],
        dest="start_time",
        metavar="WHEN",
        type=when(now),
        required=True,
        help="start, inclusive",
    )
    period.add_argument(
        COMMON_FLAGS["end_time"],
        dest="end_time",
        metavar="WHEN",
        type=when(now),
        help="end, exclusive (default: now)",
    )
    return Common(connection=connection, period=period, when=when(now))


def program_parser() -> tuple[argparse.ArgumentParser, Subcommands]:
    """The ``usage-async`` parser, with no commands yet, and where commands register."""
    parser = Parser(
        prog="usage-async",
        allow_abbrev=False,
        description="Query the OpenAI organization Usage and Costs API.",
        epilog=f"{WHEN_HELP} The admin key is read from ${KEY_ENV} or --api-key-file. "
        "Start with 'usage-async demo': it needs no key and no network.",
    )
    parser.add_argument("-V", "--version", action=ShowVersion)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, _Registry(commands)


class _Registry:
    """Where commands register: argparse's subparsers, which also note each command's help
    line on its parser (``Parser.summary``), where shell completion reads it."""

    def __init__(self, commands: Subcommands) -> None:
        self._commands = commands

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser = self._commands.add_parser(name, **kwargs)
        if isinstance(parser, Parser):
            parser.summary = kwargs.get("help") or ""
        return parser


def add_format_flag(parser: argparse.ArgumentParser, more: str = "") -> None:
    """``--format``, one of ``FORMATS``; ``more`` is said after the default."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help=f"output format (default: table on a terminal, csv otherwise{more})",
    )


def add_names_flag(parser: argparse.ArgumentParser, text: str) -> None:
    """``--names`` / ``--no-names`` (default ``None``: the command decides), helped by
    ``text``."""
    parser.add_argument("--names", action=argparse.BooleanOptionalAction, default=None, help=text)
