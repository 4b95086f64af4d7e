"""Late data: usage that is revised for a while after its hour closes, and costs that arrive
hours after their day ends and are then revised upward, as on the live API.

Everything is a function of the hour (or day), a seeded draw, and the instant the query is
answered "as of", so every invariant of the data still holds at any fixed instant:

* **Usage.** An hour's data arrives in time order: at a given instant only the first
  ``revealed`` seconds of the hour have arrived, and a bucket shows what arrived within it
  (the hour's quantities are spread over it as ever, see ``_data``). When the hour closes, a
  seeded 60-95% of it has arrived; the rest arrives evenly over ``usage_settles_after``
  seconds. The hour still open shows the same share of what has happened so far. So a
  bucket of any width only grows as the clock advances, and is final once its hours settle.
  Vector store bytes are a level, measured rather than accumulated: never revised.
* **Costs.** A day shows no costs until ``costs_delay`` seconds after it ends. Then each cost
  line of each workload shows a seeded 50-90% of its final quantity, growing evenly to all
  of it over ``costs_settles_after`` seconds. Amounts are priced exactly from the quantity
  shown, so a line item's amount is still its quantity times its price. Costs follow their
  own schedule from the final usage, not the usage's revisions.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._time import DAY, HOUR

__all__ = ["PPM", "LateData"]

PPM = 1_000_000
"""Shares are integers in parts per million, so every revised number is exact."""


def _seconds(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"LateData.{attribute.name} must be a non-negative whole number of seconds, "
            f"got {value!r}"
        )


@attrs.frozen
class LateData:
    """How late the emulator's data arrives and how long it keeps being revised (seconds).

    ``usage_settles_after``: after an hour closes, how long until its usage is final; before
    that it shows a share of its final value that grows with time. ``costs_delay``: how long
    after a UTC day ends its costs first appear. ``costs_settles_after``: from then, how long
    until they are final. Pass it as ``serve(late=LateData(...))``; ``None`` (the default)
    gives final data at once.
    """

    usage_settles_after: int = attrs.field(default=2 * HOUR, validator=_seconds)
    costs_delay: int = attrs.field(default=2 * HOUR, validator=_seconds)
    costs_settles_after: int = attrs.field(default=6 * HOUR, validator=_seconds)

    def first_unsettled_hour(self, as_of: int) -> int:
        """The first hour (Unix seconds // 3600) whose usage is not final at ``as_of``."""
        return (as_of - self.usage_settles_after) // HOUR

    def revealed(self, hour: int, draw: float, as_of: int) -> int:
        """How many seconds of ``hour`` have arrived at ``as_of``, of 3600.

        ``draw`` (in [0, 1)) picks the share that has arrived when the hour closes.
        """
        start = hour * HOUR
        close = start + HOUR
        at_close = 2160 + int(1260 * draw)  # 60% to 95% of the hour
        if as_of >= close + self.usage_settles_after:
            return HOUR
        if as_of >= close:
            return at_close + (HOUR - at_close) * (as_of - close) // self.usage_settles_after
        return at_close * max(as_of - start, 0) // HOUR

    def costs_share(self, day: int, draw: float, as_of: int) -> int:
        """The share (of ``PPM``) of a cost line's final quantity shown for ``day`` (Unix
        seconds // 86400) at ``as_of``; ``draw`` (in [0, 1)) picks the share it first shows."""
        elapsed = as_of - (day + 1) * DAY - self.costs_delay
        if elapsed < 0:
            return 0
        if elapsed >= self.costs_settles_after:
            return PPM
        first = PPM // 2 + int(PPM * 0.4 * draw)  # 50% to 90%
        return first + (PPM - first) * elapsed // self.costs_settles_after

    def settled_at(self, end: int, *, whole_days: bool) -> int:
        """When the data of every bucket of a range ending at ``end`` is final: after this,
        the range reads the same at any later instant."""
        if whole_days:
            day_end = -(-end // DAY) * DAY
            return day_end + self.costs_delay + self.costs_settles_after
        hour_end = -(-end // HOUR) * HOUR
        return hour_end + self.usage_settles_after
