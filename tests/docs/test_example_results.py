"""Some examples promise a result in their prose; they give it."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator

from .examples import DOCS, Example, examples, run_script, serve_web_handler, user_environment


def example_under(page: str, heading: str) -> Example:
    [found] = [e for e in examples(DOCS / page) if e.heading == heading and e.kind != "console"]
    return found


def test_the_first_script_prints_a_month_of_days(emulator: Emulator, tmp_path: Path) -> None:
    script = example_under("index.md", "A first script")
    lines = run_script(script.code, tmp_path, user_environment(emulator)).splitlines()
    assert all(re.fullmatch(r"2025-11-\d\d \S+ proj_\w+ \d+", line) for line in lines), lines
    assert {line[:10] for line in lines} == {f"2025-11-{day:02}" for day in range(1, 31)}


@pytest.fixture(scope="module")
def emulator_at_2026_03_01(gen_cli: ModuleType) -> Iterator[Emulator]:
    with gen_cli.emulator(clock=1_772_368_496) as running:  # 2026-03-01T12:34:56Z
        yield running


def billed(emulator: Emulator, year: int, month: int) -> Decimal:
    """What the costs of a month add up to, asked of the library."""
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = (start + dt.timedelta(days=32)).replace(day=1)

    async def total() -> Decimal:
        async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
            totals = await ua.totals(client.costs(start_time=start, end_time=end))
        return Decimal(totals[("usd",)]["amount"])

    return asyncio.run(total())


def test_the_focus_example_exports_two_whole_months_and_again_the_same(
    emulator_at_2026_03_01: Emulator, tmp_path: Path
) -> None:
    script = example_under("focus.md", "FOCUS")
    env = user_environment(emulator_at_2026_03_01)
    first = run_script(script.code, tmp_path, env).splitlines()
    assert re.fullmatch(r"\d+ rows in 2 files", first[0]), first
    # Billed per month, digit for digit what the API's amounts add up to.
    assert first[1:3] == [
        f"{ORGANIZATION.id} 2026-01 USD {billed(emulator_at_2026_03_01, 2026, 1)}",
        f"{ORGANIZATION.id} 2026-02 USD {billed(emulator_at_2026_03_01, 2026, 2)}",
    ]
    # The rows name their organization and the directory names every project: nothing null.
    assert first[-1] == "left null: {} not exported: 0"
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    assert written == [
        "focus/BillingPeriodStart=2026-01-01/focus.csv",
        "focus/BillingPeriodStart=2026-02-01/focus.csv",
    ]
    january = (tmp_path / written[0]).read_bytes()
    assert run_script(script.code, tmp_path, env).splitlines() == first
    assert (tmp_path / written[0]).read_bytes() == january


@pytest.fixture
def closed_days_emulator(gen_cli: ModuleType) -> Iterator[Emulator]:
    """An emulator whose clock stands at today's UTC midnight: every day it reports is over,
    so two questions about the same range get the same answer."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with gen_cli.emulator(clock=today.timestamp()) as running:
        yield running


def test_the_web_handler_answers_with_the_exact_cost_of_this_month(
    closed_days_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", closed_days_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", closed_days_emulator.base_url)
    handler = example_under("library.md", "Await it in a web handler")
    bodies = asyncio.run(serve_web_handler(handler))
    assert [status for status, _ in bodies] == [200]
    [(_, body)] = bodies
    month = dt.datetime.now(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    async def spent() -> Decimal:
        async with ua.UsageClient() as client:
            totals = await ua.totals(client.costs(start_time=month))
        return Decimal(totals.get(("usd",), {}).get("amount", Decimal(0)))

    assert Decimal(body["usd"]) == asyncio.run(spent())
