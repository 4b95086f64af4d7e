"""Time in the library's terms: named durations, one grammar for times and spans, UTC text.

Every layer reads times through this module: the command line's ``--start 7d``, the sync's
``--since``, ``--settle 2d`` and ``--every 15m``, and a config file's ``since = "90d"`` all
parse with ``parse_when`` and ``parse_duration``; every UTC time shown to a person or written
to a file is formatted here. No I/O; "now" is always passed in.

Grammar:

* a **duration** is one or more ``<number><unit>`` with units ``s``, ``m``, ``h``, ``d``,
  ``w`` and no spaces (``90s``, ``15m``, ``2h``, ``7d``, ``2w``, ``1d12h``), or ``0``;
* a **WHEN** is ``now``, a span before now (one part of a duration in ``m``, ``h``, ``d`` or
  ``w``: ``90m``, ``24h``, ``7d``, ``2w``), a named UTC day or month (``today``,
  ``yesterday``, ``this-month``, ``last-month``: its first moment, as of now), or an ISO-8601
  date or datetime (UTC unless it carries an offset) in whole seconds, not before 1970.

Core layer: imports the standard library and attrs only.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from collections.abc import Callable
from typing import Final

import attrs

__all__ = [
    "DAY",
    "HOUR",
    "MINUTE",
    "WEEK",
    "WHEN_NAMES",
    "TimeSyntaxError",
    "When",
    "floor_to",
    "iso_utc",
    "parse_duration",
    "parse_when",
    "utc_datetime",
    "utc_day",
    "utc_minute",
    "utc_second",
    "utc_text",
]

MINUTE: Final = 60
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
WEEK: Final = 7 * DAY

_UNIT_SECONDS: Final = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
# A span before now is one part of a duration, in the units a bucket grid has (no seconds).
_SPAN_UNITS: Final = "mhdw"

DURATION_EXAMPLES: Final = "90s, 15m, 2h, 2d, 1w, 1d12h"
WHEN_EXAMPLES: Final = (
    "an ISO date or datetime (2026-11-01, 2026-11-01T12:00Z), a span before now "
    "(90m, 24h, 7d, 2w), today, yesterday, this-month, last-month or 'now'"
)
# A date's year, month and day, to say which part of a date that does not exist is wrong.
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)")


class TimeSyntaxError(ValueError):
    """Text that is not a WHEN or a duration; the message says what would be."""


def parse_duration(text: str) -> int:
    """Seconds in a duration (``90s``, ``15m``, ``2h``, ``2d``, ``1w``, ``1d12h``, ``0``).

    Raises ``TimeSyntaxError`` for anything else (spaces or signs inside, upper-case units,
    a number without a unit other than ``0``).
    """
    cleaned = text.strip()
    if cleaned == "0":
        return 0
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise TimeSyntaxError(
            f"{text!r} is not a duration: give a number and a unit, s, m, h, d or w "
            f"({DURATION_EXAMPLES})"
        )
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


@attrs.frozen
class When:
    """A WHEN as typed (``text``), the moment it names, and whether it counts back from now."""

    text: str
    seconds: int
    relative: bool = False

    @property
    def is_now(self) -> bool:
        return self.text == "now"


def _month_start(seconds: int, months_back: int = 0) -> int:
    moment = utc_datetime(seconds)
    index = moment.year * 12 + moment.month - 1 - months_back
    return int(_dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=_dt.UTC).timestamp())


WHEN_NAMES: Final[dict[str, Callable[[int], int]]] = {
    "today": lambda now: floor_to(now, DAY),
    "yesterday": lambda now: floor_to(now, DAY) - DAY,
    "this-month": _month_start,
    "last-month": lambda now: _month_start(now, 1),
}
"""The named WHENs: the first moment of a UTC day or month, as of ``now``. So ``--start
last-month --end this-month`` is last month, and ``--start this-month`` the month to date."""


def parse_when(text: str, now: int) -> When:
    """The WHEN ``text``; ``now`` (Unix seconds) anchors relative ones and named days.

    Raises ``TimeSyntaxError`` with a message that quotes ``text`` (and, for a date that
    does not exist, says why: ``2026-11-31 is not a day: November 2026 has 30 days``).
    """
    text = text.strip()
    if text == "now":
        return When(text, now, relative=True)
    named = WHEN_NAMES.get(text)
    if named is not None:
        # A fixed moment (UTC midnight), not a span: it is already on every bucket grid.
        return When(text, named(now))
    span = _DURATION_PART.fullmatch(text)
    if span and span[2] in _SPAN_UNITS:
        return When(text, now - int(span[1]) * _UNIT_SECONDS[span[2]], relative=True)
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise TimeSyntaxError(
            _not_a_day(text) or f"{text!r} is not a WHEN: give {WHEN_EXAMPLES}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    if moment.microsecond:
        raise TimeSyntaxError(f"{text!r} has a fraction of a second; give whole seconds")
    seconds = int(moment.timestamp())
    if seconds < 0:
        raise TimeSyntaxError(f"{text!r} is before 1970-01-01, where usage begins")
    return When(text, seconds)


def _not_a_day(text: str) -> str | None:
    """Why ``text`` names a day that does not exist (``2026-11-31``), or ``None``."""
    date = _DATE.match(text)
    if date is None:
        return None
    year, month, day = (int(part) for part in date.groups())
    if not 1 <= month <= 12:
        return f"{date[0].rstrip('T ')} is not a day: there is no month {date[2]}"
    days = calendar.monthrange(year, month)[1]
    if 1 <= day <= days:
        return None
    name = f"{calendar.month_name[month]} {year}"
    return f"{date[0].rstrip('T ')} is not a day: {name} has {days} days"


def floor_to(seconds: int, width: int) -> int:
    """``seconds`` floored to a multiple of ``width`` since the epoch (UTC midnight for days)."""
    return seconds - seconds % width


# --- UTC text: the one place times become words ----------------------------------------------


def utc_datetime(seconds: int) -> _dt.datetime:
    """Unix seconds as an aware UTC datetime."""
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC)


def iso_utc(seconds: int) -> str:
    """``2026-11-01T00:00:00Z``: for files, rows and anything a machine reads back."""
    return utc_datetime(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(seconds: int) -> str:
    """``2026-11-25 00:00 UTC`` (seconds shown only when there are any): for messages."""
    moment = utc_datetime(seconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def utc_day(seconds: int) -> str:
    """``2026-11-25``: the UTC date of ``seconds``."""
    return utc_datetime(seconds).strftime("%Y-%m-%d")


def utc_minute(seconds: int) -> str:
    """``2026-11-25 12:00``: to the minute, no zone (for columns headed UTC)."""
    return utc_datetime(seconds).strftime("%Y-%m-%d %H:%M")


def utc_second(seconds: int) -> str:
    """``2026-11-25 12:00:05``: to the second, no zone (for columns headed UTC)."""
    return utc_datetime(seconds).strftime("%Y-%m-%d %H:%M:%S")
