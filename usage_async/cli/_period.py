"""WHEN arguments and the range a command asks for, in the words the user typed.

A WHEN is an ISO-8601 date or datetime, a span before now (``7d``), a named UTC day or month
(``today``, ``last-month``) or ``now``. Relative ones
are rounded down to the bucket grid (whole minutes, hours or UTC days, as the bucket width),
so ``--start 2d`` gives whole buckets and only the last one is still in progress, instead of
buckets that start at whatever second the command ran. Errors quote the flags and values as
typed (``--end 2026-11-24 is before --start 2026-11-25``), never Unix seconds.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs

from .._time import DAY, HOUR, MINUTE, When, floor_to, utc_text

__all__ = [
    "Period",
    "PeriodError",
    "ServerClock",
    "resolve_period",
]

_WIDTH_NAMES = {MINUTE: "minute", HOUR: "hour", DAY: "UTC day"}


@attrs.define
class ServerClock:
    """What "now" is for a command's output: the server's clock once a response has told it
    (``BucketStream.server_time``, its ``Date``), else this machine's (``local``).

    The API ends an open range, and decides which bucket is still in progress, by its own
    clock; this machine's may be minutes off, or the server an emulator pinned in the past.
    Ranges typed as spans (``7d``) are still anchored to this machine's clock: they are
    resolved before anything is sent.
    """

    local: int
    server: int | None = None

    @property
    def now(self) -> int:
        return self.server if self.server is not None else self.local

    def observe(self, server_time: int | None) -> None:
        """Take the server's time from the first response that carried one."""
        if self.server is None:
            self.server = server_time


class PeriodError(ValueError):
    """A range that cannot be asked for; the message quotes the flags as typed."""


class Period(NamedTuple):
    """A command's range: ``end`` is ``None`` for "up to now" (no --end, ``now`` or later).

    A tuple, so ``start, end = period`` reads as well as ``period.start``.
    """

    start: int
    end: int | None


def _on_grid(when: When, grid: int) -> int:
    return floor_to(when.seconds, grid) if when.relative else when.seconds


def resolve_period(start: When, end: When | None, grid: int, now: int) -> Period:
    """The range of ``--start``/``--end`` for buckets ``grid`` seconds wide.

    Relative WHENs are rounded down to the grid (for ``--end``, ``now`` means up to now and
    is not rounded). An end at or after now becomes ``None``: the API ends the range at its
    own now, and a future ``end_time`` has been seen to fail. Raises ``PeriodError`` when the
    end is not after the start, or when the range is wholly in the future (it could hold
    nothing: said before any request, rather than an empty result).
    """
    first = _on_grid(start, grid)
    if first > now:
        raise PeriodError(
            f"--start {start.text} is in the future (now is {utc_text(now)}): there is no usage "
            "after now to read"
        )
    if end is None or end.is_now:
        return Period(first, None)
    last = _on_grid(end, grid)
    if last <= first:
        if (start.relative or end.relative) and end.seconds > start.seconds:
            width = _WIDTH_NAMES.get(grid, f"{grid}-second bucket")
            raise PeriodError(
                f"--start {start.text} and --end {end.text} fall in the same {width} "
                f"(from {utc_text(first)}); give an earlier --start"
                + (" or a narrower --bucket-width" if grid > MINUTE else "")
            )
        relation = "before" if end.seconds < start.seconds else "the same moment as"
        raise PeriodError(f"--end {end.text} is {relation} --start {start.text}")
    return Period(first, None if last >= now else last)
