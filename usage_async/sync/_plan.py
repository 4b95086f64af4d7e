"""What a sync run reads, decided with no I/O: ranges, settle boundaries, groupings, segments.

Times are Unix seconds on the server's clock. Every range starts on a bucket boundary (a
multiple of the width since the epoch, so UTC midnight for days), so the buckets of one run
are the buckets of the next and a re-read replaces them exactly.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Mapping, Sequence

import attrs

from .._endpoints import BUCKET_SECONDS, REVISION_WINDOW, Endpoint
from .._exceptions import InvalidParameterError
from .._time import floor_to

__all__ = [
    "DEFAULT_SETTLE",
    "Job",
    "Segment",
    "grouping",
    "segments",
    "settled_target",
]

DEFAULT_SETTLE = REVISION_WINDOW
"""Buckets younger than this are read again on every run (dlt's lag, dbt's lookback)."""


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

    One, unless a grouping field is accepted only from some time on
    (``Endpoint.group_by_since``: costs by ``api_key_id`` from 2025-12-06): the range is cut
    there, and the part before is read without that field (its column stays null).
    """
    if start >= end:
        return []
    since = {f: t for f, t in job.endpoint.group_by_since.items() if f in job.group_by}
    cuts = sorted({t for t in since.values() if start < t < end})
    edges = [start, *cuts, end]
    return [
        Segment(a, b, tuple(f for f in job.group_by if since.get(f, a) <= a))
        for a, b in itertools.pairwise(edges)
    ]


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
