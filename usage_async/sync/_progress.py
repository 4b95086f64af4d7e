"""How a sync reports its progress: a protocol the caller implements (no terminal here).

The command line passes bars drawn on stderr (``cli``'s ``BucketBars``); a service can pass
anything with these two methods, a metrics gauge say. ``progress=True`` logs each commit on
the ``usage_async`` logger (INFO); by default nothing is reported.
"""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = ["NO_PROGRESS", "SyncProgress", "progress_of"]

logger = logging.getLogger("usage_async")


class SyncProgress(Protocol):
    """Told what each table expects and what it has written, as the run goes."""

    def track(self, label: str, buckets: int) -> None:
        """A table ``label`` starts; it expects to write about ``buckets`` buckets."""

    def advance(self, label: str, buckets: int, count: int) -> None:
        """``buckets`` more buckets (``count`` more rows) were committed for ``label``."""


class _NoProgress:
    def track(self, label: str, buckets: int) -> None:
        pass

    def advance(self, label: str, buckets: int, count: int) -> None:
        pass


NO_PROGRESS: SyncProgress = _NoProgress()
"""Reports nothing."""


class _LoggedProgress:
    def __init__(self) -> None:
        self._expected: dict[str, int] = {}
        self._done: dict[str, int] = {}

    def track(self, label: str, buckets: int) -> None:
        self._expected[label] = buckets
        self._done[label] = 0

    def advance(self, label: str, buckets: int, count: int) -> None:
        done = self._done[label] = self._done.get(label, 0) + buckets
        expected = max(self._expected.get(label, 0), done)
        logger.info("sync %s: %d of %d buckets (+%d rows)", label, done, expected, count)


def progress_of(progress: SyncProgress | bool | None) -> SyncProgress:
    """The reporter for ``sync(progress=...)``: an object as given, ``True`` logs, else none."""
    if progress is True:
        return _LoggedProgress()
    if progress is None or progress is False:
        return NO_PROGRESS
    return progress
