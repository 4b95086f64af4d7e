"""The planted cost spike: one project, one UTC day, 12x; nothing else moves, usage follows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Spike, serve

from .conftest import DAY, KEY, MIDNIGHT, NOW, pinned_clock

SPIKE_DAY = MIDNIGHT - 5 * DAY  # 2026-02-24
COPILOT = ORGANIZATION.project("Support Copilot").id


async def costs_by_project_day(spike: Spike | None) -> dict[tuple[str, int], Decimal]:
    async with (
        serve(api_key=KEY, now=pinned_clock, spike=spike) as emu,
        ua.UsageClient(emu.api_key, base_url=emu.base_url) as client,
    ):
        out: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        start = SPIKE_DAY - 3 * DAY
        async for bucket in client.costs(
            start_time=start, end_time=SPIKE_DAY + 3 * DAY, group_by=["project_id"]
        ):
            for result in bucket.results:
                assert result.amount is not None
                out[str(result.project_id), bucket.start_time] += result.amount.value
        return dict(out)


async def requests_of(spike: Spike | None, project: str) -> int:
    async with (
        serve(api_key=KEY, now=pinned_clock, spike=spike) as emu,
        ua.UsageClient(emu.api_key, base_url=emu.base_url) as client,
    ):
        totals = await ua.totals(
            client.completions(
                start_time=SPIKE_DAY, end_time=SPIKE_DAY + DAY, project_ids=[project]
            )
        )
        return int(totals[()]["num_model_requests"])


async def test_the_spike_day_of_its_project_costs_an_order_of_magnitude_more() -> None:
    ordinary = await costs_by_project_day(None)
    spiked = await costs_by_project_day(Spike(dt.date(2026, 2, 24)))
    ratio = spiked[COPILOT, SPIKE_DAY] / ordinary[COPILOT, SPIKE_DAY]
    assert Decimal("11.5") < ratio < Decimal("12.5")
    # Every other project-day is exactly as without the spike.
    assert {k: v for k, v in spiked.items() if k != (COPILOT, SPIKE_DAY)} == {
        k: v for k, v in ordinary.items() if k != (COPILOT, SPIKE_DAY)
    }


async def test_usage_spikes_with_the_costs_so_the_two_stay_consistent() -> None:
    spike = Spike(SPIKE_DAY + 3600, project="Support Copilot", factor=10)
    before = await requests_of(None, COPILOT)
    after = await requests_of(spike, COPILOT)
    assert 9.5 < after / before < 10.5


def test_a_spike_names_a_real_project_and_a_day() -> None:
    assert Spike("2026-02-24").start == SPIKE_DAY
    assert Spike(SPIKE_DAY, project=COPILOT).project == COPILOT
    with pytest.raises(ValueError, match=r"no project 'Nope'.*Support Copilot"):
        Spike("2026-02-24", project="Nope")
    with pytest.raises(ValueError, match="positive"):
        Spike("2026-02-24", factor=0)
    with pytest.raises(TypeError, match="a day"):
        Spike(dt.datetime(2026, 2, 24, tzinfo=dt.UTC))  # type: ignore[arg-type]
    assert NOW > SPIKE_DAY
