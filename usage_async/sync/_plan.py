"""What a sync run reads, decided with no I/O: ranges, settle boundaries, groupings, segments.

Times are Unix seconds on the server's clock. Every range starts on a bucket boundary (a
multiple of the width since the epoch, so UTC midnight for days), so the buckets of one run
are the buckets of the next and a re-read replaces them exactly.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence

import attrs

from .._endpoints import BUCKET_SECONDS, Endpoint
from .._exceptions import InvalidParameterError
from .._time import DAY, floor_to

__all__ = [
    "COSTS_API_KEY_GROUPING_SINCE",
    "DEFAULT_SETTLE",
    "Job",
    "Segment",
    "grouping",
    "segments",
    "settled_target",
]

DEFAULT_SETTLE = 2 * DAY
"""Buckets younger than this are read again on every run (dlt's lag, dbt's lookback)."""

COSTS_API_KEY_GROUPING_SINCE = 1_764_979_200
"""2025-12-06T00:00:00Z: the API refuses costs grouped by ``api_key_id`` for ranges that start
earlier (HTTP 400), so those days are read without that grouping (the column stays null)."""


def seconds_of(value: int | float | _dt.timedelta, param: str) -> int:
    """Whole seconds of a duration given as seconds or a ``timedelta``; never negative."""
    seconds = value.total_seconds() if isinstance(value, _dt.timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        raise InvalidParameterError(
            f"{param} must be a non-negative duration (seconds or a timedelta), got {value!r}",
            param=param,
        )
    return int(seconds)


def grouping(endpoint: Endpoint, group_by: Sequence[str] | None) -> tuple[str, ...]:
    """The fields ``endpoint`` is grouped by: all it offers for ``None``, else the requested
    ones it offers (the others are left out for it), in the endpoint's order."""
    if group_by is None:
        return endpoint.group_by
    return tuple(f for f in endpoint.group_by if f in group_by)


@attrs.frozen
class Job:
    """One table to keep current: an endpoint at one width, grouped and settled so."""

    endpoint: Endpoint
    width: str
    group_by: tuple[str, ...]
    settle: int

    @property
    def width_seconds(self) -> int:
        return BUCKET_SECONDS[self.width]


def settled_target(job: Job, start: int, now: int) -> int:
    """Where ``settled_until`` goes once the run has read up to ``now``: ``now - settle``
    floored to a bucket boundary, and never back before where the run started."""
    return max(start, floor_to(now - job.settle, job.width_seconds))


@attrs.frozen
class Segment:
    """A part of a run's range read with one query: ``[start, end)`` grouped by ``group_by``."""

    start: int
    end: int
    group_by: tuple[str, ...]


def segments(job: Job, start: int, end: int) -> list[Segment]:
    """The queries that read ``[start, end)`` for ``job``, in time order.

    One, except for costs grouped by ``api_key_id`` from before 2025-12-06: the part before
    that day is read without ``api_key_id`` (which the API refuses there), the rest with it.
    """
    if start >= end:
        return []
    cut = COSTS_API_KEY_GROUPING_SINCE
    if job.endpoint.whole_days and "api_key_id" in job.group_by and start < cut:
        early = tuple(f for f in job.group_by if f != "api_key_id")
        if end <= cut:
            return [Segment(start, end, early)]
        return [Segment(start, cut, early), Segment(cut, end, job.group_by)]
    return [Segment(start, end, job.group_by)]


def make_jobs(
    endpoints: Sequence[Endpoint],
    bucket_width: str,
    group_by: Sequence[str] | Mapping[str, Sequence[str]] | None,
    settle: Mapping[str, int],
    default_settle: int,
) -> list[Job]:
    """One job per endpoint: usage at ``bucket_width``, costs always daily.

    ``group_by`` is one list for every endpoint (fields an endpoint does not offer are left
    out for it), a mapping by endpoint name (missing names: every field), or ``None`` (every
    field). ``settle`` overrides ``default_settle`` by endpoint name.
    """
    jobs = []
    for endpoint in endpoints:
        if endpoint.whole_days:
            width = "1d"
        elif bucket_width in endpoint.bucket_widths:
            width = bucket_width
        else:
            raise InvalidParameterError(
                f"bucket_width must be one of {', '.join(endpoint.bucket_widths)}, "
                f"got {bucket_width!r}",
                param="bucket_width",
            )
        fields = group_by.get(endpoint.name) if isinstance(group_by, Mapping) else group_by
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",")]
        jobs.append(
            Job(
                endpoint=endpoint,
                width=width,
                group_by=grouping(endpoint, fields),
                settle=settle.get(endpoint.name, default_settle),
            )
        )
    return jobs
