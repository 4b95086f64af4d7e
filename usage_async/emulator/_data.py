"""Seeded hourly usage per workload, and the one aggregation path every endpoint goes through.

The data model that makes every invariant exact and cheap:

* Each workload (an atomic combination of dimensions, ``_catalog.WORKLOADS``) has, for each
  measured quantity, one non-negative **integer per UTC hour**, drawn from a hash of
  ``(seed, endpoint, workload, hour)`` with a daily and weekly rhythm and idle hours.
* Within an hour the requests ``V_r`` are spread evenly over its 3600 seconds: the first
  ``s`` seconds hold ``R(s) = s * V_r // 3600`` of them. Every other quantity ``V_q`` follows
  the requests, ``Q(s) = R(s) * V_q // V_r``, so no stretch of time has a token, image,
  character or second without a request (an hour whose requests round to 0 is idle).
  Endpoints without a request count (sessions, file searches) spread their one quantity the
  same way, ``s * V // 3600``.
* The amount of a workload in ``[a, b)`` is then a difference of one cumulative function,
  ``F(b) - F(a)``, so buckets of any width and any start telescope: 24 ``1h`` buckets sum to
  the ``1d`` bucket, 60 ``1m`` to the ``1h``, for aligned and unaligned starts alike.
* A result row is the sum over the workloads of its group; no grouping can change a total.

Gauges (vector store bytes) are levels, not flows: a bucket shows the level of the hour that
contains its last second, summed over the group's workloads.

With late data (``_late``), an hour not yet settled counts only its first ``revealed``
seconds: one cumulative function per hour still, so all of the above holds at any instant.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from operator import sub

import attrs

from .._endpoints import ENDPOINTS
from .._time import DAY, HOUR
from ._catalog import METRICS, ORG_CREATED, PROFILES, WORKLOADS, Profile, Workload
from ._late import LateData
from ._spike import Spike

__all__ = ["Day", "Plan", "UsageSeries", "draw", "flow_sums", "levels", "make_plan"]

_MASK = (1 << 64) - 1

Values = tuple[int, ...]
Table = tuple[Values | None, ...]
"""One hour (or day) of an endpoint: per workload, its active quantities, or None if idle."""
DimValue = str | bool | None


def _mix(x: int) -> int:
    """SplitMix64: a fast, well-spread 64-bit hash (the same on every platform and release)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _unit(bits: int) -> float:
    """A 16-bit slice of a hash as a float in [0, 1)."""
    return (bits & 0xFFFF) / 65536.0


def draw(seed: int, *keys: int) -> float:
    """A number in [0, 1) fixed by ``seed`` and ``keys``: the same on every platform."""
    bits = _mix(seed & _MASK)
    for key in keys:
        bits = _mix(bits ^ (key & _MASK))
    return _unit(bits >> 24)


@attrs.frozen
class Day:
    """The 24 hourly tables of one UTC day, and their per-workload total."""

    hours: tuple[Table, ...]
    total: Table


class UsageSeries:
    """The hourly integers of one usage endpoint's workloads, for one seed.

    ``active[w]`` lists the indices (into ``measured``) of the quantities workload ``w``
    produces; its values in a table are in that order. Days are computed on demand and kept
    in a bounded LRU.
    """

    def __init__(
        self,
        endpoint: str,
        seed: int,
        *,
        late: LateData | None = None,
        spike: Spike | None = None,
        cached_days: int = 192,
    ) -> None:
        metrics = METRICS[endpoint]
        self.endpoint = endpoint
        self.late = late
        self.spike = spike
        self.measured: tuple[str, ...] = metrics.measured
        # Levels (vector store bytes) come from the endpoint table, like everything else.
        self.gauge = bool(ENDPOINTS[endpoint].level_metrics)
        self.workloads: tuple[Workload, ...] = WORKLOADS[endpoint]
        self.active: tuple[tuple[int, ...], ...] = tuple(
            tuple(i for i, name in enumerate(self.measured) if w.mix.get(name, 0.0) > 0)
            for w in self.workloads
        )
        # Where each workload's request count is among its values: the quantity the others
        # follow within an hour. None for endpoints that count no requests.
        requests = "num_model_requests"
        self.pacers: tuple[int | None, ...] = tuple(
            [self.measured[i] for i in active].index(requests)
            if requests in self.measured
            else None
            for active in self.active
        )
        self._means = tuple(
            tuple(w.mix[self.measured[i]] for i in active)
            for w, active in zip(self.workloads, self.active, strict=True)
        )
        root = _mix((seed & _MASK) ^ _mix(zlib.crc32(endpoint.encode())))
        self._salts = tuple(_mix(root ^ (i + 1)) for i in range(len(self.workloads)))
        self._first_hour = min(w.since for w in self.workloads) // HOUR
        self._cached_days = cached_days
        self._days: OrderedDict[int, Day] = OrderedDict()
        self._empty = Day(((None,) * len(self.workloads),) * 24, (None,) * len(self.workloads))

    @property
    def width(self) -> int:
        return len(self.measured)

    def day(self, day: int) -> Day:
        cached = self._days.get(day)
        if cached is not None:
            self._days.move_to_end(day)
            return cached
        if (day + 1) * 24 <= self._first_hour:
            return self._empty
        result = self._compute_day(day)
        self._days[day] = result
        if len(self._days) > self._cached_days:
            self._days.popitem(last=False)
        return result

    def hour(self, hour: int) -> Table:
        day, hour_of_day = divmod(hour, 24)
        return self.day(day).hours[hour_of_day]

    def revealed(self, workload: int, hour: int, as_of: int) -> int:
        """How many seconds of ``hour`` of ``workload`` have arrived at ``as_of`` (``_late``)."""
        if self.late is None:
            return HOUR
        return self.late.revealed(hour, draw(self._salts[workload], hour), as_of)

    def _compute_day(self, day: int) -> Day:
        columns = [
            self._workload_day(w, salt, means, pacer, day)
            for w, salt, means, pacer in zip(
                self.workloads, self._salts, self._means, self.pacers, strict=True
            )
        ]
        hours = tuple(tuple(column[h] for column in columns) for h in range(24))
        total: list[Values | None] = []
        for column in columns:
            busy = [v for v in column if v is not None]
            total.append(tuple(map(sum, zip(*busy, strict=True))) if busy else None)
        return Day(hours, tuple(total))

    def _workload_day(
        self, workload: Workload, salt: int, means: Sequence[float], pacer: int | None, day: int
    ) -> list[Values | None]:
        out: list[Values | None] = [None] * 24
        first = day * 24
        if (first + 24) * HOUR <= workload.since or (
            workload.until is not None and first * HOUR >= workload.until
        ):
            return out
        # Slow growth of the organization, and a seeded "how busy is this week" factor.
        trend = 1.0 + 0.0012 * max(0, day * DAY - ORG_CREATED) / DAY
        week = 0.75 + 0.5 * _unit(_mix(salt ^ ((day + 3) // 7 * 0x51ED27)))
        # How many units of each quantity one unit of activity brings, varying day to day.
        mix_bits = _mix(salt ^ (day * 0x2545F491)) | (_mix(salt ^ ~day & _MASK) << 64)
        per_unit = [
            m * (0.85 + 0.3 * ((mix_bits >> (8 * j)) & 0xFF) / 255) for j, m in enumerate(means)
        ]
        base = workload.scale * trend * week
        if self.spike is not None and not self.gauge:
            base *= self.spike.multiplier(workload.dims, day)
        weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        calendar = _CALENDAR[workload.profile, weekend]
        for hour_of_day, (weight, idle_below) in enumerate(calendar):
            hour = first + hour_of_day
            if hour * HOUR < workload.since:
                continue
            if workload.until is not None and hour * HOUR >= workload.until:
                break
            bits = _mix(salt ^ (hour * 0x9FB21C651E98DF25 & _MASK))
            if self.gauge:
                # A level that grows with the organization and during the working day.
                level = base * (0.99 + 0.02 * _unit(bits >> 16) + 0.003 * hour_of_day)
                out[hour_of_day] = tuple([int(level * m) for m in per_unit])
                continue
            if _unit(bits) < idle_below:
                continue
            activity = base * weight * (0.7 + 0.6 * _unit(bits >> 16))
            values = tuple([int(activity * m + 0.5) for m in per_unit])
            # Less than half a request in the hour: nothing happened, tokens neither.
            if any(values) and (pacer is None or values[pacer]):
                out[hour_of_day] = values
        return out


def _calendar(profile: Profile, weekend: bool) -> tuple[tuple[float, float], ...]:
    """Per hour of day: the activity weight, and the chance that the hour is idle."""
    factor = profile.weekend if weekend else 1.0
    return tuple(
        (w * factor, profile.idle * (1.0 - w * factor) ** 2 + profile.idle_at_peak)
        for w in profile.hourly
    )


_CALENDAR = {
    (name, weekend): _calendar(profile, weekend)
    for name, profile in PROFILES.items()
    for weekend in (False, True)
}


@attrs.frozen
class Plan:
    """Which workloads a query counts (its filters) and which result row each feeds.

    ``members`` pairs a workload index with a group index; ``groups`` holds each group's
    values of the grouped dimensions, in first-seen order (so rows come out in a stable order).
    """

    members: tuple[tuple[int, int], ...]
    groups: tuple[tuple[DimValue, ...], ...]


def make_plan(
    atoms: Sequence[Mapping[str, DimValue]],
    group_by: Sequence[str],
    filters: Mapping[str, Iterable[DimValue]],
) -> Plan:
    """Filter ``atoms`` (dimension -> value) and assign each kept one to its group."""
    wanted = {dim: frozenset(values) for dim, values in filters.items()}
    index: dict[tuple[DimValue, ...], int] = {}
    members = []
    for number, dims in enumerate(atoms):
        if any(dims.get(dim) not in values for dim, values in wanted.items()):
            continue
        key = tuple(dims.get(dim) for dim in group_by)
        members.append((number, index.setdefault(key, len(index))))
    return Plan(tuple(members), tuple(index))


Member = tuple[int, int, tuple[int, ...], int | None]
"""A workload of a plan: its index, its group's offset in the flat vector, its active
quantities, and where its request count is among them."""


def _add_table(into: list[int], table: Table, members: Sequence[Member]) -> None:
    for workload, base, active, _ in members:
        values = table[workload]
        if values is not None:
            for i, v in zip(active, values, strict=True):
                into[base + i] += v


def _head(values: Values, pacer: int | None, seconds: int) -> list[int]:
    """How much of an hour's ``values`` its first ``seconds`` hold (see the module docstring)."""
    if pacer is None:
        return [seconds * v // HOUR for v in values]
    requests = values[pacer]
    done = seconds * requests // HOUR
    return [done * v // requests for v in values]


def _members(series: UsageSeries, plan: Plan) -> list[Member]:
    width = series.width
    return [(w, g * width, series.active[w], series.pacers[w]) for w, g in plan.members]


def _add_head(
    into: list[int],
    series: UsageSeries,
    members: Sequence[Member],
    hour: int,
    seconds: int,
    as_of: int | None,
) -> None:
    """Add what the first ``seconds`` of ``hour`` hold, of what has arrived by ``as_of``
    (``None``: everything)."""
    table = series.hour(hour)
    for workload, base, active, pacer in members:
        values = table[workload]
        if values is None:
            continue
        arrived = seconds if as_of is None else min(seconds, series.revealed(workload, hour, as_of))
        if arrived:
            for i, v in zip(active, _head(values, pacer, arrived), strict=True):
                into[base + i] += v


def flow_sums(
    series: UsageSeries, plan: Plan, edges: Sequence[int], as_of: int | None = None
) -> list[list[int]]:
    """Per bucket ``[edges[i], edges[i+1])``: the flat vector ``group * width + quantity``.

    Computes the cumulative amount at each edge once (whole days and hours from the cached
    tables, the partial hour by ``_head``) and returns consecutive differences. With
    ``as_of`` and a series that has late data, hours not yet settled at ``as_of`` count only
    what has arrived by then (``_late``); ``None`` gives the final numbers.
    """
    members = _members(series, plan)
    size = len(plan.groups) * series.width
    # Hours from ``unsettled`` on may be incomplete: added one by one, not from cached totals.
    if series.late is None or as_of is None:
        as_of, unsettled = None, edges[-1] // HOUR + 1
    else:
        unsettled = series.late.first_unsettled_hour(as_of)
    running = [0] * size  # whole hours from the hour of edges[0] up to ``hour``
    hour = edges[0] // HOUR
    previous: list[int] | None = None
    out: list[list[int]] = []
    for edge in edges:
        edge_hour = edge // HOUR
        while hour < edge_hour:
            day, hour_of_day = divmod(hour, 24)
            if hour >= unsettled:
                _add_head(running, series, members, hour, HOUR, as_of)
                hour += 1
            elif hour_of_day == 0 and hour + 24 <= min(edge_hour, unsettled):
                _add_table(running, series.day(day).total, members)
                hour += 24
            else:
                _add_table(running, series.day(day).hours[hour_of_day], members)
                hour += 1
        cumulative = running.copy()
        seconds = edge - edge_hour * HOUR
        if seconds:
            revising = as_of if edge_hour >= unsettled else None
            _add_head(cumulative, series, members, edge_hour, seconds, revising)
        if previous is not None:
            out.append(list(map(sub, cumulative, previous)))
        previous = cumulative
    return out


def levels(series: UsageSeries, plan: Plan, edges: Sequence[int]) -> list[list[int]]:
    """Like ``flow_sums`` for a gauge: each bucket holds the level of its last second's hour."""
    members = _members(series, plan)
    size = len(plan.groups) * series.width
    out = []
    for end in edges[1:]:
        vector = [0] * size
        _add_table(vector, series.hour((end - 1) // HOUR), members)
        out.append(vector)
    return out
