"""How far off a budget's forecast was: each day of twelve months vs how the month ended.

Run from the repository root (after ``pip install -e '.[dev]'``)::

    python benchmarks/forecast_backtest.py            # print the figures
    python benchmarks/forecast_backtest.py --write    # also rewrite its section of RESULTS.md

The emulator's costs (clock pinned at 2026-12-05, so the same numbers every run) are synced
into a SQLite file: 400 days, grouped by project and line item as a sync does by default.
Then, for every day of the twelve months before, ``ua.budgets.check(..., at=that day's
midnight, dry_run=True)`` gives each budget's forecast as it would have read that morning
(every day before it settled), and a check at the month's end gives what it came to. The
budgets are the whole organization and each of its five projects with costs.

A second table replays the forecast rule itself (``_compute.forecast``) on the same daily
costs, to compare the run-rate's length (7, 14 or 28 settled days) and the sync's default
two-day settle lag (the forecast made on day d has settled days only up to d - 2; the days
after are replaced by the rate, as a live check does). The replay of the shipped rule is
checked against ``check()``'s own figures first. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import os
import platform
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from _results import write_section  # benchmarks/ is the script's own folder

import usage_async as ua
from usage_async.budgets import Budget, BudgetConfig, check
from usage_async.budgets._compute import RUN_RATE_DAYS, Window, forecast, scope_days
from usage_async.budgets._database import costs_table, read_costs, table_columns
from usage_async.emulator import ORGANIZATION, serve
from usage_async.sync import Schema, open_engine

DAY = 86400
# A few days into December, so every day of November is settled in the database.
NOW = int(dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC).timestamp())
SYNCED_DAYS = 400
MONTHS = 12
MARK = "<!-- forecast figures -->"
ORG = "organization"
NO_LIMIT = Decimal(10) ** 9  # the amounts do not matter: only the forecasts are read


def months_before(moment: int, count: int) -> list[tuple[int, int]]:
    """The ``count`` whole UTC months before the month of ``moment``: [(start, end)]."""
    when = dt.datetime.fromtimestamp(moment, dt.UTC).replace(day=1, hour=0)
    out = []
    for _ in range(count):
        end = when
        when = (when - dt.timedelta(days=1)).replace(day=1)
        out.append((int(when.timestamp()), int(end.timestamp())))
    return out[::-1]


def budgets() -> BudgetConfig:
    projects = [p for p in ORGANIZATION.projects if p.archived_at is None]
    return BudgetConfig(
        budgets=(
            Budget(ORG, NO_LIMIT),
            *(Budget(p.name, NO_LIMIT, project=p.id) for p in projects),
        )
    )


async def synced_database(folder: str) -> str:
    url = f"sqlite:///{folder}/usage.db"
    async with (
        serve(now=lambda: NOW) as emu,
        ua.UsageClient(emu.api_key, base_url=emu.base_url) as client,
    ):
        await ua.sync(
            client,
            url,
            endpoints=["costs"],
            group_by=["project_id", "line_item"],
            since=dt.timedelta(days=SYNCED_DAYS),
        )
    return url


# Forecast[(budget, month start, day of month)], and each budget-month's actual.
Forecasts = dict[tuple[str, int, int], Decimal]


async def with_the_library(url: str, config: BudgetConfig) -> Forecasts:
    """What ``check()`` forecast on each morning."""
    forecasts: Forecasts = {}
    engine = open_engine(url)
    try:
        for start, end in months_before(NOW, MONTHS):
            for number, morning in enumerate(range(start, end, DAY), start=1):
                report = await check(engine, config, at=morning, dry_run=True)
                for result in report.budgets:
                    assert result.forecast is not None
                    forecasts[result.name, start, number] = result.forecast
    finally:
        await engine.dispose()
    return forecasts


def month_totals(costs: dict[str, dict[int, Decimal]]) -> Forecasts:
    """What each budget's month came to: the sum of its days."""
    return {
        (name, start, 0): sum((v for d, v in days.items() if start <= d * DAY < end), Decimal(0))
        for name, days in costs.items()
        for start, end in months_before(NOW, MONTHS)
    }


async def daily_costs(url: str, config: BudgetConfig) -> dict[str, dict[int, Decimal]]:
    """Each budget's cost per day, read as ``check()`` reads it."""
    engine = open_engine(url)
    schema = Schema()
    try:
        async with engine.connect() as conn:
            columns = (await table_columns(conn))["costs"]
            costs = await read_costs(conn, costs_table(schema, columns), "default", 0, NOW)
    finally:
        await engine.dispose()
    return {b.name: scope_days(costs, b.project, None, "usd") for b in config.budgets}


def replay(
    days: dict[int, Decimal], first_day: int, rate_days: int, lag: int
) -> dict[tuple[int, int], Decimal]:
    """The rule's forecast on each morning of each month, settled ``lag`` days behind."""
    out = {}
    for start, end in months_before(NOW, MONTHS):
        for number, morning in enumerate(range(start, end, DAY), start=1):
            window = Window(morning, morning, morning - lag * DAY)
            expected = forecast(days, start, end, window, first_day, rate_days)
            assert expected is not None
            out[start, number] = expected
    return out


def error(forecast: Decimal, actual: Decimal) -> float:
    """Signed error, in percent of what the month came to."""
    return float(100 * (forecast - actual) / actual)


def _row(label: str, errors: Sequence[float]) -> str:
    absolute = [abs(e) for e in errors]
    return (
        f"| {label} | {statistics.median(absolute):.1f} | {max(absolute):.1f} | "
        f"{statistics.mean(errors):+.1f} |"
    )


def by_day_table(forecasts: Forecasts, actuals: Forecasts) -> list[str]:
    per_day: dict[tuple[bool, int], list[float]] = defaultdict(list)
    for (name, start, number), value in forecasts.items():
        per_day[name == ORG, number].append(error(value, actuals[name, start, 0]))
    lines = [
        "| day of month | organization: median abs. error % | worst % | bias % | "
        "projects: median abs. error % | worst % | bias % |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number in range(1, 32):
        org, projects = per_day[True, number], per_day[False, number]
        if not org:
            continue
        projects_cells = _row("", projects).split(" | ", 1)[1]
        lines.append(f"{_row(str(number), org)} {projects_cells}")
    return lines


def rule_table(
    costs: dict[str, dict[int, Decimal]], actuals: Forecasts, library: Forecasts
) -> list[str]:
    first_day = min(d for days in costs.values() for d in days)
    lines = [
        "| run-rate | settled through | median abs. error %, days 1-10 | days 11-20 | "
        "days 21-31 | worst % |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for rate_days in (7, 14, 28):
        for lag in (0, 2):
            errors: dict[str, list[float]] = defaultdict(list)
            for name, days in costs.items():
                replayed = replay(days, first_day, rate_days, lag)
                for (start, number), value in replayed.items():
                    if rate_days == RUN_RATE_DAYS and lag == 0:
                        assert value == library[name, start, number], (name, start, number)
                    part = "early" if number <= 10 else "middle" if number <= 20 else "late"
                    errors[part].append(abs(error(value, actuals[name, start, 0])))
            worst = max(max(e) for e in errors.values())
            medians = " | ".join(
                f"{statistics.median(errors[p]):.1f}" for p in ("early", "middle", "late")
            )
            shipped = " (shipped)" if rate_days == RUN_RATE_DAYS and lag == 0 else ""
            settled = "the day before" if lag == 0 else f"{lag} days before (sync's default)"
            lines.append(f"| {rate_days} days{shipped} | {settled} | {medians} | {worst:.1f} |")
    return lines


def _versions(names: Iterable[str]) -> str:
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


async def measure() -> str:
    config = budgets()
    with tempfile.TemporaryDirectory() as folder:
        url = await synced_database(folder)
        forecasts = await with_the_library(url, config)
        costs = await daily_costs(url, config)
    actuals = month_totals(costs)
    first, last = months_before(NOW, MONTHS)[0][0], months_before(NOW, MONTHS)[-1][1] - DAY
    lines = [
        MARK,
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}; "
        f"{_versions(['usage-async', 'sqlalchemy', 'aiosqlite'])}",
        "",
        f"The emulator's costs (seed 0), {dt.date.fromtimestamp(first)} to "
        f"{dt.date.fromtimestamp(last)}: {MONTHS} months x {len(config.budgets)} budgets "
        f"(the organization, and each of its {len(config.budgets) - 1} active projects), "
        f"{len(forecasts):,} forecasts from `check(at=the morning of the day)`. Error is "
        "(forecast - what the month came to) / what it came to; bias is the mean signed "
        "error (positive: the forecast was high).",
        "",
        *by_day_table(forecasts, actuals),
        "",
        "The rule replayed on the same costs (all six budgets, all twelve months; the shipped "
        "rule's replay equals `check()`'s figures):",
        "",
        *rule_table(costs, actuals, forecasts),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    figures = asyncio.run(measure())
    print(figures)
    if args.write:
        write_section(
            MARK,
            figures,
            heading="Budgets: how far off the forecast was",
            intro="`python benchmarks/forecast_backtest.py --write` (about a minute).\n\n",
        )


if __name__ == "__main__":
    main()
