"""Every ``usage-async`` command line of the README's own sections runs, against the emulator.

Only the sections about trying it and the command line (``SECTIONS``): commands elsewhere
(a database sync, say) may write files, and their sections test them.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator

import pytest

from usage_async.cli._main import build_parser

from ..test_readme import blocks
from .conftest import Result

Cli = Callable[..., Result]


SECTIONS = ("Quick start", "Command line", "From the command line")


def command_lines() -> Iterator[list[str]]:
    """``usage-async`` invocations in console blocks, without prompts, pipes or redirections."""
    for block in blocks():
        if block.language != "console" or block.heading not in SECTIONS:
            continue
        for line in block.code.replace("\\\n", " ").splitlines():
            words = shlex.split(line.removeprefix("$ "), comments=True)
            while words and "=" in words[0]:  # VAR=value usage-async ...
                words.pop(0)
            if words[:1] != ["usage-async"]:
                continue
            for stop in (">", "|", "&", "&&"):
                if stop in words:
                    words = words[: words.index(stop)]
            yield words[1:]


def test_the_readme_shows_the_commands_a_new_user_needs() -> None:
    assert {"demo", "completions", "costs", "report", "emulator"} <= {
        argv[0] for argv in command_lines()
    }


@pytest.mark.parametrize("argv", list(command_lines()), ids=shlex.join)
def test_every_readme_command_line_runs(cli: Cli, argv: list[str]) -> None:
    if argv[0] == "emulator":  # serves until stopped: its arguments are checked only
        build_parser(0).parse_args(argv)
        return
    result = cli(*argv)
    assert result.code == 0, result.err
    assert result.out or result.err.startswith("usage-async: no ")
