"""check() on a synced database (SQLite and PostgreSQL): the figures a user reads."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

import usage_async as ua
import usage_async.budgets
from usage_async.budgets import BudgetCheckError, BudgetConfig, BudgetConfigError, check
from usage_async.emulator import ORGANIZATION, Spike, serve
from usage_async.sync import open_engine

from .conftest import (
    MARCH,
    NOW,
    SETTLED,
    SPIKE_DAY,
    AlertServer,
    budget,
    client_for,
    config,
    sync_costs,
)

DAY = 86400
COPILOT = ORGANIZATION.project("Support Copilot")


async def api_costs(start: int, end: int, **filters: object) -> dict[int, Decimal]:
    """Per day, the costs the API itself reports (with the same spike)."""
    async with (
        serve(now=lambda: NOW, spike=Spike(SPIKE_DAY)) as emu,
        client_for(emu) as client,
    ):
        out: dict[int, Decimal] = {}
        async for bucket in client.costs(start_time=start, end_time=end, **filters):
            out[bucket.start_time] = sum(
                (r.amount.value for r in bucket.results if r.amount), Decimal(0)
            )
        return out


def test_ua_budgets_check_is_reached_from_the_package_root_alone() -> None:
    # A fresh interpreter: no test has imported usage_async.budgets there.
    code = "import usage_async as ua; print(ua.budgets.check.__module__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "usage_async.budgets._check", done.stderr
    assert ua.budgets.check is usage_async.budgets.check


async def test_spent_and_settled_are_the_exact_sums_of_the_servers_current_month(
    synced: str, receiver: AlertServer
) -> None:
    report = await check(synced, config(receiver, budget("org", "100000")), dry_run=True)
    (result,) = report.budgets
    daily = await api_costs(MARCH, NOW)
    # The server's month (March 2026), not this machine's.
    assert (result.period_start, result.period_end) == (
        dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
    )
    assert result.as_of == dt.datetime.fromtimestamp(NOW, dt.UTC)
    assert result.spent == sum(daily.values())
    assert result.settled_until == dt.datetime.fromtimestamp(SETTLED, dt.UTC)
    assert result.settled == sum(v for d, v in daily.items() if d < SETTLED)
    assert result.provisional == result.spent - result.settled > 0
    assert result.state == "ok"
    assert not report.crossed
    # The run-rate is the four weeks of settled days before the 8th, spike of the 5th included.
    weeks = await api_costs(SETTLED - 28 * DAY, SETTLED)
    rate = sum(weeks.values()) / 28
    assert result.forecast == (result.settled + rate * 24).quantize(Decimal("0.01"))


async def test_a_project_by_name_or_id_and_a_line_item_narrow_the_scope(
    synced: str, receiver: AlertServer
) -> None:
    line = "gpt-4o-2024-08-06, input"
    report = await check(
        synced,
        config(
            receiver,
            budget("by-name", "5000", project="Support Copilot"),
            budget("by-id", "5000", project=COPILOT.id, line_item=line),
        ),
        dry_run=True,
    )
    by_name, by_id = report.budgets
    project = await api_costs(MARCH, NOW, project_ids=[COPILOT.id])
    assert by_name.spent == sum(project.values())
    assert (by_name.project_id, by_name.project_name) == (COPILOT.id, "Support Copilot")
    one_line = await api_costs(MARCH, NOW, project_ids=[COPILOT.id], line_items=[line])
    assert by_id.spent == sum(one_line.values()) < by_name.spent
    assert by_id.line_item == line


async def test_thresholds_crossed_are_reported_and_the_forecast_can_cross_first(
    synced: str, receiver: AlertServer
) -> None:
    spent = (await api_costs(MARCH, NOW, project_ids=[COPILOT.id])).values()
    total = sum(spent)
    report = await check(
        synced,
        config(
            receiver,
            budget("half", str(total * 2 - 1), project=COPILOT.id, thresholds=[Decimal("0.5")]),
            budget("over", str(total), project=COPILOT.id),
            budget("forecast", str(total * 2), project=COPILOT.id),
        ),
        dry_run=True,
    )
    half, over, ahead = report.budgets
    assert (half.crossed, half.state) == ((Decimal("0.5"),), "warning")
    assert (over.crossed, over.state, over.fraction) == (
        (Decimal("0.8"), Decimal(1)),
        "over",
        Decimal(1),
    )
    assert (ahead.crossed, ahead.forecast_crossed, ahead.state) == ((), True, "forecast")
    assert report.crossed


async def test_at_evaluates_a_past_period_with_only_the_days_that_ended_by_then(
    synced: str, receiver: AlertServer
) -> None:
    at = dt.datetime(2026, 2, 20, 15, 0, tzinfo=dt.UTC)
    report = await check(synced, config(receiver, budget("org", "100000")), at=at, dry_run=True)
    (result,) = report.budgets
    february = int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp())
    the_20th = int(dt.datetime(2026, 2, 20, tzinfo=dt.UTC).timestamp())
    daily = await api_costs(february, the_20th)
    assert result.period_start == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert result.as_of == at
    assert result.spent == result.settled == sum(daily.values())
    assert result.settled_until == dt.datetime(2026, 2, 20, tzinfo=dt.UTC)


async def test_an_unknown_project_is_a_config_error_naming_the_file_line_and_key(
    synced_sqlite: str, receiver: AlertServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", receiver.url("finops"))
    path = tmp_path / "budgets.toml"
    path.write_text('[[budget]]\nname = "x"\namount = "10"\nproject = "Suport Copilot"\n')
    with pytest.raises(BudgetConfigError) as caught:
        await check(synced_sqlite, path)
    assert (caught.value.path, caught.value.line, caught.value.key) == (str(path), 4, "project")
    assert "no project 'Suport Copilot' in source 'default'" in str(caught.value)
    assert "Support Copilot" in str(caught.value)  # the names it could have meant


async def test_a_database_without_synced_costs_cannot_be_checked(
    sqlite_database: str, receiver: AlertServer
) -> None:
    with pytest.raises(BudgetCheckError, match="no database at "):
        await check(sqlite_database, config(receiver, budget("org", "1")))
    engine = open_engine(sqlite_database)  # a database, but nothing synced into it
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE notes (text TEXT)"))
    await engine.dispose()
    with pytest.raises(BudgetCheckError, match="has no synced costs"):
        await check(sqlite_database, config(receiver, budget("org", "1")))
    await sync_costs(sqlite_database, days=5)
    elsewhere = BudgetConfig(budgets=(budget("acme", "1", source="acme", notify=()),), receivers={})
    with pytest.raises(BudgetCheckError, match="no costs synced for source 'acme'"):
        await check(sqlite_database, elsewhere)


async def test_costs_synced_without_project_grouping_cannot_be_narrowed_to_a_project(
    sqlite_database: str,
) -> None:
    async with serve(now=lambda: NOW) as emu, client_for(emu) as client:
        await ua.sync(
            client,
            sqlite_database,
            endpoints=["costs"],
            group_by=["line_item"],
            since=dt.timedelta(days=5),
        )
    scoped = BudgetConfig(budgets=(budget("p", "1", project=COPILOT.id, notify=()),))
    with pytest.raises(BudgetConfigError, match="without grouping by project_id"):
        await check(sqlite_database, scoped)
    whole = BudgetConfig(budgets=(budget("org", "1", notify=()),))
    (result,) = (await check(sqlite_database, whole, dry_run=True)).budgets
    assert result.spent > 0


async def test_a_database_that_cannot_be_reached_names_it_without_its_password() -> None:
    closed_port = "postgresql://budget:S3CRET-PASSWORD@127.0.0.1:9/usage"
    with pytest.raises(BudgetCheckError) as caught:
        await check(closed_port, BudgetConfig(budgets=(budget("org", "1", notify=()),)))
    assert "cannot check budgets in postgresql+asyncpg://budget:***@127.0.0.1:9/usage" in str(
        caught.value
    )
    assert "S3CRET" not in str(caught.value)


async def test_a_database_that_is_not_there_is_said_and_not_created(
    tmp_path: Path, receiver: AlertServer
) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(BudgetCheckError, match=r"no database at sqlite:///.*typo\.db"):
        await check(f"sqlite:///{missing}", config(receiver, budget("all", "100")), dry_run=True)
    assert not missing.exists()  # no empty file left behind
