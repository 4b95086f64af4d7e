"""The ``usage-async`` command line: pull any endpoint, summarise a period, try it offline.

    usage-async demo                                   # a report from the embedded emulator
    usage-async completions --start 7d --group-by model --format csv > usage.csv
    usage-async costs --start 2026-11-01 --end 2026-12-01 --group-by line_item
    usage-async report --start 30d
    usage-async emulator --port 8089                   # a local stand-in for the API
    usage-async budget check --config budgets.toml     # budgets on the synced database

One subcommand per endpoint, generated from ``ENDPOINTS``: its filters become repeatable
singular flags (``project_ids`` -> ``--project-id``), enum filters, ``--group-by`` and
``--bucket-width`` take their choices from the table. The admin key comes from
``OPENAI_ADMIN_KEY`` or ``--api-key-file``, never from a flag's value.

Exit codes: 0 success, 1 the API or the network failed, 2 bad arguments (including a missing
key), 3 ``budget check`` (and ``sync --budgets``) found a budget past a threshold, 75
``sync --no-wait`` found another run syncing its source, 130 interrupted, 141 stdout closed
early (``| head``). ``budget check`` also exits 1 when an alert could not be delivered,
which outranks 3.

The rule: this package is the only place with argparse, rich, exit codes and terminal
output (print, stdout, stderr). The libraries (``usage_async.sync``, ``usage_async.focus``,
``usage_async.emulator``, the core) never import it; it imports them.

Adding a command is one module and one line:

- ``_commands/NAME.py`` with exactly one ``register(commands, common)``: it adds the
  subparser (``commands.add_parser``, with the parent parsers it needs from ``common``:
  ``connection`` for a command that talks to the API, ``period``) and
  ``set_defaults(run=run, parser=parser)``; ``run(args, now) -> int`` returns the exit code
  (``_running.make_client`` makes a client as the connection flags say);
- its ``register`` in ``_main.REGISTRARS``, where ``--help`` should list it.

Registering stays cheap: ``--help`` and argument errors load no client, aiohttp, SQLAlchemy,
rich or pyarrow. ``run`` imports what the command needs inside itself (a long run lives in
its own module, as ``_sync`` and ``_focus``). What commands share is public within the
package: ``_arguments`` (parent parsers, argparse types, help texts) for parsing,
``_running`` (exit codes, the key, the client, failures as one line) for running.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    # Importing the commands takes a moment: a Ctrl-C then is an interruption like any
    # other (130), not a traceback out of the console script.
    try:
        from ._main import main as run
    except KeyboardInterrupt:
        return 130
    return run(argv)
