"""A planted cost spike: one project's activity, for one UTC day, an order of magnitude up.

    async with serve(spike=Spike("2026-03-05")) as emu:     # Support Copilot, 12x, that day
        ...

Every usage workload of the project (requests, tokens, images, seconds...) is ``factor``
times what it would have been during the 24 hours of ``day``; costs are priced from usage,
so they follow, and usage and costs stay consistent (every grouping still adds up, costs are
still quantity times price). Vector store bytes are a level, not activity: left alone. Other
projects and other days are exactly as without the spike. Budget anomaly detection
(``usage_async.budgets``) finds it; the ordinary data has no such day.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping

import attrs

from .._time import DAY
from ._catalog import ORGANIZATION

__all__ = ["Spike"]


def _day_number(value: str | _dt.date | int) -> int:
    """A UTC day as days since 1970-01-01, from an ISO date, a date, or Unix seconds in it."""
    if isinstance(value, _dt.datetime):
        raise TypeError("Spike.day is a day: give a date, an ISO date string or Unix seconds")
    if isinstance(value, str):
        value = _dt.date.fromisoformat(value)
    if isinstance(value, _dt.date):
        return (value - _dt.date(1970, 1, 1)).days
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Spike.day must be a date, an ISO date or Unix seconds, not {value!r}")
    return value // DAY


def _project_id(value: str) -> str:
    for project in ORGANIZATION.projects:
        if value in (project.id, project.name):
            return project.id
    names = ", ".join(p.name for p in ORGANIZATION.projects)
    raise ValueError(f"Spike.project: no project {value!r} in the emulator's organization: {names}")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not value > 0:
        raise ValueError(f"Spike.factor must be a positive number, got {value!r}")


@attrs.frozen
class Spike:
    """One project's activity on one UTC ``day`` multiplied by ``factor``.

    ``day``: an ISO date (``"2026-03-05"``), a ``date``, or Unix seconds within the day.
    ``project``: a project of the emulator's organization, by name or ID (default
    ``Support Copilot``, about $136 a day, so $1,600 on the day of the spike).
    """

    day: int = attrs.field(converter=_day_number)
    project: str = attrs.field(default="Support Copilot", converter=_project_id)
    factor: float = attrs.field(default=12.0, validator=_positive)

    @property
    def start(self) -> int:
        """The day's first second (Unix seconds)."""
        return self.day * DAY

    def multiplier(self, dims: Mapping[str, object], day: int) -> float:
        """What a workload with these dimensions is multiplied by on ``day`` (days since 1970)."""
        if day == self.day and dims.get("project_id") == self.project:
            return self.factor
        return 1.0
