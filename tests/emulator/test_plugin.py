"""The pytest plugin our users get: its fixtures, its marker, and its import cost."""

from __future__ import annotations

import subprocess
import sys

import pytest

import usage_async as ua
from usage_async.emulator import Emulator, Faults, LateData

from .conftest import DAY, MIDNIGHT, pinned_clock


async def test_usage_client_fixture_talks_to_the_usage_emulator_fixture(
    usage_client: ua.UsageClient, usage_emulator: Emulator
) -> None:
    buckets = await usage_client.completions(
        start_time=MIDNIGHT - 2 * DAY, end_time=MIDNIGHT
    ).collect()
    assert len(buckets) == 2
    assert usage_client.base_url == usage_emulator.base_url
    assert usage_emulator.base_url.startswith("http://127.0.0.1:")
    assert usage_emulator.stats.by_endpoint["completions"] == 1


@pytest.mark.usage_emulator(seed=42, now=pinned_clock, faults=Faults(rate_limit=1.0))
async def test_marker_options_reach_the_emulator(usage_emulator: Emulator) -> None:
    async with ua.UsageClient(
        usage_emulator.api_key, base_url=usage_emulator.base_url, max_retries=0
    ) as client:
        with pytest.raises(ua.RateLimitError):
            await client.completions(start_time=MIDNIGHT - DAY).collect()
    assert usage_emulator.stats.faults["rate_limit"] == 1


@pytest.mark.usage_emulator(now=pinned_clock, late=LateData(costs_delay=DAY))
async def test_marker_late_data_holds_back_yesterdays_costs(usage_client: ua.UsageClient) -> None:
    days = await usage_client.costs(start_time=MIDNIGHT - 3 * DAY, end_time=MIDNIGHT).collect()
    assert [bool(day.results) for day in days] == [True, True, False]


def test_loading_the_plugin_does_not_load_the_emulator() -> None:
    code = (
        "import sys, usage_async.pytest_plugin; "
        "print('usage_async.emulator' in sys.modules, 'hypothesis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
