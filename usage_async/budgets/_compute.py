"""What a check computes, from daily costs already read: periods, spend, forecast, anomalies.

No I/O and no clock: every function takes the costs and the instants it works on, so the
rules below are tested directly and the backtest replays them. Days are UTC days, numbered
from 1970-01-01 (Unix seconds // ``DAY``); money is ``Decimal`` throughout.
"""

from __future__ import annotations

import datetime as _dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import attrs

from .._time import DAY, floor_to, utc_datetime
from ._config import AnomalyRule, Budget

__all__ = [
    "ANOMALY_RATIO",
    "ANOMALY_SCORE",
    "MAD_SCALE",
    "MIN_BASELINE_DAYS",
    "RECENT_DAYS",
    "RUN_RATE_DAYS",
    "CostKey",
    "DailyCosts",
    "Figures",
    "FoundAnomaly",
    "LineItemAnomaly",
    "State",
    "Window",
    "budget_figures",
    "evaluation_window",
    "find_anomalies",
    "forecast",
    "period_bounds",
    "scope_days",
]

RUN_RATE_DAYS = 28
"""The forecast's run-rate is the mean of this many settled days: four whole weeks, so
weekdays and weekends weigh what they do in a week, and one odd day or week moves it
little (``benchmarks/forecast_backtest.py``: 7 and 14 days were about as close in the
median and up to twice as far off at worst)."""
RECENT_DAYS = 7
"""Anomalies are looked for on the settled days of the last week: a check that did not run
for a few days still finds them, and older days are not alerted on for the first time."""
MIN_BASELINE_DAYS = 7
"""A day is judged only against at least a week of history in the database."""
ANOMALY_RATIO = Decimal(3)
"""An anomalous day costs at least this many times its baseline's median day..."""
ANOMALY_SCORE = Decimal(6)
"""...and is this many robust standard deviations (1.4826 x MAD) above the median."""
MAD_SCALE = Decimal("1.4826")
"""MAD x 1.4826 estimates the standard deviation of normally distributed days."""

_CENT = Decimal("0.01")

State = Literal["ok", "warning", "forecast", "over"]
CostKey = tuple[str | None, str | None, str]
"""(project_id, line_item, currency); ``None`` where the costs were not synced grouped by it."""


@attrs.frozen
class DailyCosts:
    """One source's costs, summed exactly per ``CostKey`` and day.

    ``first_day`` is the first day the database has costs of this source on: days before it
    are unknown, not zero.
    """

    days: Mapping[CostKey, Mapping[int, Decimal]]
    first_day: int | None

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[int, str | None, str | None, str, Decimal]], first_day: int | None
    ) -> DailyCosts:
        """Sum ``(day, project_id, line_item, currency, amount)`` rows."""
        days: dict[CostKey, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for day, project_id, line_item, currency, amount in rows:
            days[project_id, line_item, currency][day] += amount
        return cls({k: dict(v) for k, v in days.items()}, first_day)


@attrs.frozen
class Window:
    """What one evaluation of a source sees, in Unix seconds.

    ``as_of``: the instant evaluated (the periods contain it). ``cutoff``: costs of the days
    that start before it count. ``settled_through``: the days before it are settled; the
    rest of what counts is provisional.
    """

    as_of: int
    cutoff: int
    settled_through: int


def evaluation_window(synced_until: int, settled_until: int, at: int | None = None) -> Window:
    """The window of a source whose costs were last read at the server's ``synced_until``
    and are settled before ``settled_until``, evaluated now or as of ``at``.

    Without ``at`` (or with one at or after ``synced_until``) everything synced counts, the
    day in progress included. With an earlier ``at``, only the days that ended by it count
    (costs are daily: the day that contains ``at`` holds costs from after it), and what is
    settled is what was settled before ``at``.
    """
    if at is None or at >= synced_until:
        as_of = synced_until if at is None else at
        cutoff = synced_until
    else:
        as_of, cutoff = at, floor_to(at, DAY)
    return Window(as_of, cutoff, floor_to(min(settled_until, cutoff), DAY))


def period_bounds(period: Literal["month", "day"], instant: int) -> tuple[int, int]:
    """The UTC ``period`` (a calendar month or day) that contains ``instant``: [start, end)."""
    if period == "day":
        start = floor_to(instant, DAY)
        return start, start + DAY
    moment = utc_datetime(instant)
    first = _dt.datetime(moment.year, moment.month, 1, tzinfo=_dt.UTC)
    following = (
        _dt.datetime(moment.year + 1, 1, 1, tzinfo=_dt.UTC)
        if moment.month == 12
        else _dt.datetime(moment.year, moment.month + 1, 1, tzinfo=_dt.UTC)
    )
    return int(first.timestamp()), int(following.timestamp())


def scope_days(
    costs: DailyCosts, project_id: str | None, line_item: str | None, currency: str
) -> dict[int, Decimal]:
    """The day-by-day costs of one scope: a project (``None``: all), a line item (``None``:
    all), one currency."""
    out: dict[int, Decimal] = defaultdict(Decimal)
    for (project, item, money), days in costs.days.items():
        if money != currency:
            continue
        if project_id is not None and project != project_id:
            continue
        if line_item is not None and item != line_item:
            continue
        for day, amount in days.items():
            out[day] += amount
    return dict(out)


def _sum_days(days: Mapping[int, Decimal], start: int, end: int) -> Decimal:
    """The costs of the days that start in [start, end) (Unix seconds)."""
    return sum((v for d, v in days.items() if start <= d * DAY < end), Decimal(0))


def forecast(
    days: Mapping[int, Decimal],
    start: int,
    end: int,
    window: Window,
    first_day: int | None,
    run_rate_days: int = RUN_RATE_DAYS,
) -> Decimal | None:
    """The period [start, end)'s forecast: its settled spend, plus the run-rate times the
    days from settled-through to the period's end, rounded to the cent; never less than
    what is already spent. The run-rate is the mean of the last ``run_rate_days`` settled
    days (of those the database has; before the period's start too). ``None`` if the
    database has no settled day to take a rate from.
    """
    if first_day is None:
        return None
    settled_end = window.settled_through // DAY
    rate_days = range(max(settled_end - run_rate_days, first_day), settled_end)
    if not rate_days:
        return None
    rate = sum((days.get(d, Decimal(0)) for d in rate_days), Decimal(0)) / len(rate_days)
    settled = _sum_days(days, start, min(end, window.settled_through))
    remaining = max(0, end - max(window.settled_through, start)) // DAY
    estimate = (settled + rate * remaining).quantize(_CENT, ROUND_HALF_EVEN)
    return max(estimate, _sum_days(days, start, min(end, window.cutoff)))


@attrs.frozen
class Figures:
    """A budget's numbers for one period (Unix seconds, exact money)."""

    period_start: int
    period_end: int
    spent: Decimal
    settled: Decimal
    forecast: Decimal | None
    crossed: tuple[Decimal, ...]
    forecast_crossed: bool
    state: State


def budget_figures(
    budget: Budget, days: Mapping[int, Decimal], window: Window, first_day: int | None
) -> Figures:
    """Spend, settled spend, forecast, thresholds crossed and state of ``budget`` in the
    period that contains ``window.as_of``, from its scope's ``days``.

    State: ``over`` once spent reaches the amount, else ``warning`` once a threshold is
    crossed, else ``forecast`` if the forecast reaches the amount (and the budget alerts on
    forecasts), else ``ok``.
    """
    start, end = period_bounds(budget.period, window.as_of)
    spent = _sum_days(days, start, min(end, window.cutoff))
    settled = _sum_days(days, start, min(end, window.settled_through))
    expected = forecast(days, start, end, window, first_day)
    crossed = tuple(t for t in budget.thresholds if spent >= t * budget.amount)
    forecast_crossed = budget.forecast and expected is not None and expected >= budget.amount
    state: State
    if spent >= budget.amount:
        state = "over"
    elif crossed:
        state = "warning"
    elif forecast_crossed:
        state = "forecast"
    else:
        state = "ok"
    return Figures(start, end, spent, settled, expected, crossed, forecast_crossed, state)


@attrs.frozen
class LineItemAnomaly:
    """One line item's anomalous day: its cost, and its baseline's median and MAD."""

    line_item: str | None
    amount: Decimal
    median: Decimal
    mad: Decimal


@attrs.frozen
class FoundAnomaly:
    """A project's anomalous day: the line items found, largest excess first."""

    project_id: str | None
    currency: str
    day: int
    line_items: tuple[LineItemAnomaly, ...]

    @property
    def amount(self) -> Decimal:
        """What the anomalous line items cost that day."""
        return sum((i.amount for i in self.line_items), Decimal(0))

    @property
    def baseline(self) -> Decimal:
        """What they cost on their median day."""
        return sum((i.median for i in self.line_items), Decimal(0))


def _judge(
    line_item: str | None,
    series: Mapping[int, Decimal],
    day: int,
    rule: AnomalyRule,
    since: int,
) -> LineItemAnomaly | None:
    amount = series.get(day, Decimal(0))
    if amount < rule.min_amount:
        return None
    # The days before a line item's first cost are no baseline of it: a model taken into
    # use is new spend, not an anomaly of its zeros.
    baseline_days = range(max(day - rule.lookback_days, since), day)
    if len(baseline_days) < MIN_BASELINE_DAYS:
        return None
    baseline = [series.get(d, Decimal(0)) for d in baseline_days]
    median = statistics.median(baseline)
    if median <= 0 or amount < ANOMALY_RATIO * median:
        return None
    mad = statistics.median(abs(b - median) for b in baseline)
    if mad and amount - median < ANOMALY_SCORE * MAD_SCALE * mad:
        return None
    return LineItemAnomaly(line_item, amount, median, mad)


def find_anomalies(costs: DailyCosts, rule: AnomalyRule, window: Window) -> list[FoundAnomaly]:
    """The anomalous project-days among the last ``RECENT_DAYS`` settled days.

    A line item's day is anomalous when all of these hold:

    1. it cost at least ``rule.min_amount``;
    2. its baseline, the ``rule.lookback_days`` days before it, has a median above zero:
       the line item is in use on most days. Only days since the line item's first cost in
       the database count, at least ``MIN_BASELINE_DAYS`` of them; a day without costs
       counts as zero. So a line item newly taken into use, or used now and then, is not
       judged: it has no baseline;
    3. it cost at least ``ANOMALY_RATIO`` (3) times that median; and
    4. it is at least ``ANOMALY_SCORE`` (6) robust standard deviations above the median,
       a robust standard deviation being 1.4826 x the MAD (median absolute deviation) of the
       baseline (a baseline whose MAD is zero passes on rule 3 alone).

    The line items found on one project's day make one anomaly.
    """
    if costs.first_day is None:
        return []
    settled_end = window.settled_through // DAY
    found: dict[tuple[str | None, str, int], list[LineItemAnomaly]] = defaultdict(list)
    for (project_id, line_item, currency), series in costs.days.items():
        used = [d for d, amount in series.items() if amount > 0]
        if not used:
            continue
        since = max(costs.first_day, min(used))
        for day in range(settled_end - RECENT_DAYS, settled_end):
            judged = _judge(line_item, series, day, rule, since)
            if judged is not None:
                found[project_id, currency, day].append(judged)
    return [
        FoundAnomaly(
            project_id,
            currency,
            day,
            tuple(sorted(items, key=lambda i: (i.median - i.amount, i.line_item or ""))),
        )
        for (project_id, currency, day), items in sorted(
            found.items(), key=lambda kv: (kv[0][2], kv[0][0] or "", kv[0][1])
        )
    ]
