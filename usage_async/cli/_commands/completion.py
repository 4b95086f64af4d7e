"""``usage-async completion SHELL``: a completion script for bash, zsh or fish, on stdout.

The script is generated from the parser (``cli._completion``): every command, flag and
offered value the program has, so it is never out of date with the program that wrote it.
"""

from __future__ import annotations

import argparse
import sys

from .._arguments import Common, Subcommands
from .._completion import SHELLS, script
from .._running import EXIT_OK

__all__ = ["register"]


def register(commands: Subcommands, common: Common) -> None:
    """Add ``completion``: it talks to no API, so no parent parser."""
    parser = commands.add_parser(
        "completion",
        allow_abbrev=False,
        help="a shell completion script for bash, zsh or fish",
        description="Print a script that completes usage-async's commands, flags and the "
        "values they take in SHELL: bash, zsh or fish. Its first lines say how to load it, in "
        "the shell you are in or in every new one.",
    )
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS, help=", ".join(SHELLS))
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace, now: int) -> int:
    """Print the completion script of the program's parser for ``args.shell``."""
    sys.stdout.write(script(args.shell, args.program))
    return EXIT_OK
