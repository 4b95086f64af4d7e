"""Ordinary day-to-day variation never rings; only the planted spike does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from usage_async.budgets import AnomalyRule, BudgetConfig, check

from .conftest import sync_into

DAY = 86400
ONLY_ANOMALIES = BudgetConfig(anomaly=AnomalyRule())


async def test_a_year_of_the_emulators_ordinary_costs_has_no_anomaly(
    sqlite_database: str, templates: Path
) -> None:
    await sync_into(sqlite_database, templates, days=400, spike=False)
    first = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp())
    found = []
    # Each check looks at a week of settled days: one a week covers every day of the year.
    for week in range(53):
        at = first + week * 7 * DAY
        report = await check(sqlite_database, ONLY_ANOMALIES, at=at, dry_run=True)
        found += [(a.project_name, a.day) for a in report.anomalies]
    assert found == []


async def test_with_the_spike_planted_it_is_the_one_anomaly_of_those_weeks(
    sqlite_database: str, templates: Path
) -> None:
    await sync_into(sqlite_database, templates, days=75, spike=True)
    found = set()
    for at in ("2026-02-13", "2026-02-20", "2026-02-27", "2026-03-06", "2026-03-13"):
        moment = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)
        report = await check(sqlite_database, ONLY_ANOMALIES, at=moment, dry_run=True)
        found |= {(a.project_name, a.day.isoformat()) for a in report.anomalies}
    assert found == {("Support Copilot", "2026-03-05")}
