"""The ``usage-async`` command line: pull any endpoint, summarise a period, try it offline.

    usage-async demo                                   # a report from the embedded emulator
    usage-async completions --start 7d --group-by model --format csv > usage.csv
    usage-async costs --start 2026-11-01 --end 2026-12-01 --group-by line_item
    usage-async report --start 30d
    usage-async emulator --port 8089                   # a local stand-in for the API

One subcommand per endpoint, generated from ``ENDPOINTS``: its filters become repeatable
singular flags (``project_ids`` -> ``--project-id``), enum filters, ``--group-by`` and
``--bucket-width`` take their choices from the table. The admin key comes from
``OPENAI_ADMIN_KEY`` or ``--api-key-file``, never from a flag's value.

Exit codes: 0 success, 1 the API or the network failed, 2 bad arguments (including a missing
key), 130 interrupted, 141 stdout closed early (``| head``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    # The client and aiohttp take a moment to import: a Ctrl-C then is an interruption like
    # any other (130), not a traceback out of the console script.
    try:
        from ._main import main as run
    except KeyboardInterrupt:
        return 130
    return run(argv)
