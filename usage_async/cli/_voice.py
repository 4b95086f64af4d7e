"""How the command line speaks on stderr: one line each, ``usage-async: ...``, never the key.

And how it counts: ``plural`` puts a count and its noun together (``1 file``, ``2 files``)
wherever the command line says how many of something there are.

Everything the command line says about a run goes through here: its errors (``say``) and
the records the library logs while the run is under way (``library_log``), a retried
request or a part of the directory the key may not read, in the same one-line form
(``usage-async: warning: ...``), never with a traceback.

The key is blanked out of every line (``redact``), not only when whole: an error message
quotes the first bytes of a body, so a proxy that echoes the ``Authorization`` header leaks
a piece of the key, cut wherever the snippet ends.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from .._redact import redact

__all__ = ["library_log", "plural", "say"]

_LOGGER = "usage_async"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and the noun that goes with it: ``1 page``, ``2 pages``, ``1,234 rows``;
    ``nouns`` is the plural where it is not the noun and an s (``1 entry``, ``2 entries``)."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def say(message: str, secret: str | None = None) -> None:
    """Print ``usage-async: MESSAGE`` on stderr, on one line, with ``secret`` blanked out."""
    print(f"usage-async: {redact(_one_line(message), secret)}", file=sys.stderr)


class _StderrLines(logging.Handler):
    """Each record as one ``usage-async: LEVEL: message`` line on stderr: no traceback."""

    def __init__(self, secrets: tuple[str | None, ...]) -> None:
        super().__init__(logging.WARNING)
        self._secrets = secrets

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format
            message = str(record.msg)
        # sys.stderr as it is now, not when the handler was made (tests swap it); a closed
        # stderr leaves nowhere to say anything, and must not fail the code that logged.
        for secret in self._secrets:
            message = redact(message, secret)
        with contextlib.suppress(OSError, ValueError):
            say(f"{record.levelname.lower()}: {message}")


@contextlib.contextmanager
def library_log(*secrets: str | None) -> Iterator[None]:
    """For the block, say each record logged on the library's ``usage_async`` logger (and
    the command line's own, beneath it) at WARNING or above, once, with each of ``secrets``
    blanked (a sync config has a key per source).

    The records are not passed on to the root logger's handlers meanwhile: the command line
    owns stderr, and Python's fallback would print the same warning again, without the prefix
    and unredacted.
    """
    logger = logging.getLogger(_LOGGER)
    handler = _StderrLines(secrets)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)
