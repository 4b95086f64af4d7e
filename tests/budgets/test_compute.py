"""The rules of a check on hand-made costs: periods, as-of windows, forecast, anomalies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from usage_async.budgets import AnomalyRule, Budget
from usage_async.budgets._compute import (
    DailyCosts,
    Window,
    budget_figures,
    evaluation_window,
    find_anomalies,
    forecast,
    period_bounds,
)

DAY = 86400


def at(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())


def day(text: str) -> int:
    return at(text) // DAY


def test_periods_are_utc_calendar_months_and_days() -> None:
    assert period_bounds("month", at("2026-12-31T23:59:59")) == (
        at("2026-12-01"),
        at("2027-01-01"),
    )
    assert period_bounds("month", at("2026-02-01T00:00:00")) == (
        at("2026-02-01"),
        at("2026-03-01"),
    )
    assert period_bounds("day", at("2026-03-10T13:25:07")) == (
        at("2026-03-10"),
        at("2026-03-11"),
    )


def test_the_window_is_the_servers_and_an_earlier_at_counts_only_days_that_ended() -> None:
    synced, settled = at("2026-03-10T13:25:07"), at("2026-03-08")
    assert evaluation_window(synced, settled) == Window(synced, synced, settled)
    # Mid-day on the 9th: the 9th holds costs from after it, so the 8th is the last day.
    assert evaluation_window(synced, settled, at("2026-03-09T12:00:00")) == Window(
        at("2026-03-09T12:00:00"), at("2026-03-09"), settled
    )
    # Before settled_until: settled through the at's day.
    assert evaluation_window(synced, settled, at("2026-02-20T06:00:00")) == Window(
        at("2026-02-20T06:00:00"), at("2026-02-20"), at("2026-02-20")
    )
    # After the data: periods of that instant, data as far as it goes.
    later = at("2026-04-02")
    assert evaluation_window(synced, settled, later) == Window(later, synced, settled)


def flat(per_day: str, first: str, last: str) -> dict[int, Decimal]:
    return {d: Decimal(per_day) for d in range(day(first), day(last) + 1)}


def test_the_forecast_is_settled_spend_plus_four_weeks_run_rate_for_the_days_left() -> None:
    costs = flat("10", "2026-01-01", "2026-03-10")
    # The last settled week costs 24 a day (from the 1st to the 7th of March)...
    costs.update({d: Decimal(24) for d in range(day("2026-03-01"), day("2026-03-08"))})
    # ...and provisional days (8th-10th) are replaced by the rate, not trusted.
    costs[day("2026-03-09")] = Decimal(0)
    window = Window(at("2026-03-10T13:00:00"), at("2026-03-10T13:00:00"), at("2026-03-08"))
    start, end = at("2026-03-01"), at("2026-04-01")
    # The rate: 21 days x 10 and 7 x 24 over 28 days = 13.5. Then 7 settled days x 24, and
    # 24 days (8th to 31st) at the rate.
    assert forecast(costs, start, end, window, day("2026-01-01")) == Decimal("492.00")
    assert forecast(costs, start, end, window, day("2026-01-01"), 7) == Decimal("744.00")
    # A period that is all settled forecasts exactly what it spent.
    past = Window(at("2026-03-20"), at("2026-03-20"), at("2026-03-20"))
    february = (at("2026-02-01"), at("2026-03-01"))
    assert forecast(costs, *february, past, day("2026-01-01")) == Decimal(280)
    # Never below what is spent already.
    costs[day("2026-03-10")] = Decimal(10_000)
    assert forecast(costs, start, end, window, day("2026-01-01")) == sum(
        v for d, v in costs.items() if d >= day("2026-03-01")
    )


def test_early_in_a_month_the_rate_comes_from_the_month_before_and_history_is_required() -> None:
    costs = flat("3", "2026-02-20", "2026-03-02")
    window = Window(at("2026-03-02T09:00:00"), at("2026-03-02T09:00:00"), at("2026-02-28"))
    start, end = at("2026-03-01"), at("2026-04-01")
    assert forecast(costs, start, end, window, day("2026-02-20")) == Decimal("93.00")
    # Only two settled days exist (of the 28): their mean is the rate.
    assert forecast(costs, start, end, window, day("2026-02-26")) == Decimal("93.00")
    # No settled day in the database: no forecast.
    assert forecast(costs, start, end, window, day("2026-02-28")) is None
    assert forecast({}, start, end, window, None) is None


def test_thresholds_crossed_and_the_state() -> None:
    costs = flat("10", "2026-02-01", "2026-03-10")
    window = Window(at("2026-03-10T13:00:00"), at("2026-03-10T13:00:00"), at("2026-03-08"))
    spent = Decimal(100)  # 1st to 10th of March
    assert (
        budget_figures(
            Budget("b", spent / Decimal("0.8") + 1), costs, window, day("2026-02-01")
        ).state
        == "forecast"
    )
    warning = budget_figures(
        Budget("b", Decimal(125), thresholds=(Decimal("0.5"), Decimal("0.8"), Decimal(1))),
        costs,
        window,
        day("2026-02-01"),
    )
    assert warning.crossed == (Decimal("0.5"), Decimal("0.8"))
    assert warning.state == "warning"
    assert warning.spent == spent
    assert warning.settled == Decimal(70)
    assert warning.forecast == Decimal(310)
    over = budget_figures(Budget("b", spent), costs, window, day("2026-02-01"))
    assert (over.crossed, over.state) == ((Decimal("0.8"), Decimal(1)), "over")
    calm = budget_figures(Budget("b", Decimal(1000)), costs, window, day("2026-02-01"))
    assert (calm.crossed, calm.forecast_crossed, calm.state) == ((), False, "ok")
    unwatched = budget_figures(Budget("b", Decimal(200), forecast=False), costs, window, None)
    assert (unwatched.forecast_crossed, unwatched.state) == (False, "ok")


RULE = AnomalyRule(notify=(), lookback_days=28, min_amount=Decimal("1.00"))
SETTLED = Window(at("2026-03-10T12:00:00"), at("2026-03-10T12:00:00"), at("2026-03-08"))


def weekly(weekday: str, weekend: str) -> dict[int, Decimal]:
    """A line item that costs more on weekdays, as offices do."""
    out = {}
    for d in range(day("2026-01-01"), day("2026-03-10")):
        saturday_or_sunday = (d + 3) % 7 >= 5
        out[d] = Decimal(weekend if saturday_or_sunday else weekday)
    return out


def costs_of(**series: dict[int, Decimal]) -> DailyCosts:
    return DailyCosts(
        {("proj_a", name.replace("_", " "), "usd"): days for name, days in series.items()},
        day("2026-01-01"),
    )


def test_a_day_an_order_of_magnitude_up_is_found_and_the_weekly_rhythm_is_not() -> None:
    ordinary = weekly("40", "8")
    assert find_anomalies(costs_of(chat=ordinary), RULE, SETTLED) == []
    spiked = dict(ordinary)
    spiked[day("2026-03-04")] = Decimal(400)
    (found,) = find_anomalies(costs_of(chat=spiked, audio=weekly("5", "5")), RULE, SETTLED)
    assert (found.project_id, found.day) == ("proj_a", day("2026-03-04"))
    assert [i.line_item for i in found.line_items] == ["chat"]
    assert found.amount == Decimal(400)
    assert found.baseline == Decimal(40)


def test_anomaly_rules_min_amount_ratio_baseline_and_recent_days() -> None:
    def one(series: dict[int, Decimal], rule: AnomalyRule = RULE) -> bool:
        return bool(find_anomalies(costs_of(x=series), rule, SETTLED))

    flat_days = {d: Decimal("0.10") for d in range(day("2026-01-01"), day("2026-03-10"))}
    small = {**flat_days, day("2026-03-04"): Decimal("0.90")}
    assert not one(small)  # nine times up, but under min_amount
    assert one(small, AnomalyRule(min_amount=Decimal("0.5")))
    # A flat series (MAD 0) passes on the ratio alone; 2.9x is not enough.
    assert one({**flat_days, day("2026-03-04"): Decimal("1.00")})
    assert not one({**flat_days, day("2026-03-04"): Decimal("0.29")}, AnomalyRule(min_amount=0))
    # A new line item has no baseline: its first busy days are not anomalies.
    new = {d: Decimal(50) for d in range(day("2026-03-01"), day("2026-03-10"))}
    assert not one(new)
    # Used on fewer than half the days: no baseline either.
    rare = {d: Decimal(5) for d in range(day("2026-01-01"), day("2026-03-10"), 3)}
    assert not one({**rare, day("2026-03-04"): Decimal(500)})
    # Only the last week of settled days is looked at; provisional days are not.
    assert not one({**flat_days, day("2026-02-20"): Decimal(50)})
    assert not one({**flat_days, day("2026-03-09"): Decimal(50)})
    assert one({**flat_days, day("2026-03-07"): Decimal(50)})
    assert one({**flat_days, day("2026-03-01"): Decimal(50)})


def test_a_noisy_line_item_needs_six_robust_deviations() -> None:
    # Alternating 10 and 30: median 20, MAD 10, so 6 deviations is 20 + 6 x 14.826 = 108.96.
    noisy = {d: Decimal(10 if d % 2 else 30) for d in range(day("2026-01-01"), day("2026-03-10"))}
    assert not find_anomalies(costs_of(x={**noisy, day("2026-03-04"): Decimal(100)}), RULE, SETTLED)
    assert find_anomalies(costs_of(x={**noisy, day("2026-03-04"): Decimal(110)}), RULE, SETTLED)
