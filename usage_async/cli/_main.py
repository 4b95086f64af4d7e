"""``main()`` and the commands it knows: ``REGISTRARS``, one ``register`` per command module.

See the package docstring for how to add a command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from ._arguments import Common, Subcommands, common_parents, program_parser
from ._commands import (
    budget,
    completion,
    demo,
    emulator,
    endpoints,
    focus,
    grafana,
    listings,
    report,
    sync,
)
from ._running import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, Run

__all__ = ["REGISTRARS", "build_parser", "main"]

REGISTRARS: Sequence[Callable[[Subcommands, Common], None]] = (
    endpoints.register,
    report.register,
    listings.register,
    focus.register,
    demo.register,
    emulator.register,
    sync.register,
    budget.register,
    grafana.register,
    completion.register,
)
"""Every command's ``register``, in the order ``--help`` lists the commands."""


def build_parser(now: int) -> argparse.ArgumentParser:
    """The argument parser of every command; ``now`` anchors relative WHEN spans like ``7d``."""
    parser, commands = program_parser()
    common = common_parents(now)
    for register in REGISTRARS:
        register(commands, common)
    # For a command that describes the whole command line (``completion``).
    parser.set_defaults(program=parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    now = int(time.time())
    try:
        try:
            args = build_parser(now).parse_args(argv)
            command: Run = args.run
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
