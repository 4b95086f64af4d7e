"""No loss, no duplicates under faults; clean stops when a consumer breaks out.

The client pulls from the emulator twice: once clean, once through seeded faults (15% 429s,
15% 5xx, 5% dropped connections). Every pull must yield exactly the clean buckets, in order,
once each — sequentially, sharded by time window, and fanned out over projects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator, Faults, serve

from .conftest import client_tasks

NOW = 1_772_368_496  # 2026-03-01T12:34:56Z, pinned so every run sees the same data
MIDNIGHT = 1_772_323_200
DAY = 86400
KEY = "sk-admin-fault-tests"
MONTH = {
    "start_time": MIDNIGHT - 30 * DAY,
    "end_time": MIDNIGHT,
    "bucket_width": "1h",
    "group_by": ["model"],
}
HOSTILE = Faults(rate_limit=0.15, server_error=0.15, disconnect=0.05, seed=11, retry_after_ms=1)


def clock() -> float:
    return float(NOW)


@contextlib.asynccontextmanager
async def client_for(faults: Faults | None) -> AsyncIterator[tuple[Emulator, ua.UsageClient]]:
    async with (
        serve(port=0, api_key=KEY, now=clock, faults=faults) as emu,
        ua.UsageClient(
            KEY, base_url=emu.base_url, max_retries=12, initial_backoff=0.001, max_backoff=0.01
        ) as client,
    ):
        yield emu, client


@pytest.fixture(scope="module")
def clean_month() -> list[ua.Bucket[Any]]:
    async def pull() -> list[ua.Bucket[Any]]:
        async with client_for(None) as (_, client):
            return await client.completions(**MONTH).collect()  # type: ignore[arg-type]

    return asyncio.run(pull())


def assert_faults_were_survived(emu: Emulator) -> None:
    stats = emu.stats.snapshot()
    assert stats["faults"].get("rate_limit", 0) > 0
    assert stats["faults"].get("server_error", 0) > 0
    assert stats["faults"].get("disconnect", 0) > 0


@pytest.mark.parametrize("concurrency", [None, 6])
async def test_a_month_pulled_through_faults_equals_the_clean_pull(
    clean_month: list[ua.Bucket[Any]], concurrency: int | None
) -> None:
    async with client_for(HOSTILE) as (emu, client):
        got = await client.completions(**MONTH, concurrency=concurrency).collect()  # type: ignore[arg-type]
    assert len(clean_month) == 30 * 24
    assert sum(len(b.results) for b in clean_month) > 0
    assert got == clean_month  # same buckets, same order, each once
    assert_faults_were_survived(emu)


async def test_fan_out_through_faults_equals_each_projects_clean_pull() -> None:
    projects = [p.id for p in ORGANIZATION.projects]
    query = {**MONTH, "bucket_width": "1d", "limit": 5, "group_by": ["project_id", "model"]}

    async def per_project(faults: Faults | None) -> dict[str, list[ua.Bucket[Any]]]:
        async with client_for(faults) as (emu, client):
            streams = {p: client.completions(**query, project_ids=[p]) for p in projects}
            got: dict[str, list[ua.Bucket[Any]]] = {p: [] for p in projects}
            async for project, bucket in ua.fan_out(streams, concurrency=3):
                got[project].append(bucket)
            if faults is not None:
                assert_faults_were_survived(emu)
            return got

    clean = await per_project(None)
    assert all(len(buckets) == 30 for buckets in clean.values())
    assert await per_project(HOSTILE) == clean


async def requests_settle(emu: Emulator) -> int:
    """The emulator's request count once nothing more arrives for a few loop turns."""
    seen = -1
    while seen != emu.stats.requests:
        seen = emu.stats.requests
        await asyncio.sleep(0.05)
    return seen


@pytest.mark.parametrize("concurrency", [None, 4])
async def test_breaking_out_stops_all_fetching(concurrency: int | None) -> None:
    async with client_for(None) as (emu, client):
        before = client_tasks()
        stream = client.completions(**MONTH, limit=24, concurrency=concurrency)  # type: ignore[arg-type]
        async with contextlib.aclosing(aiter(stream)) as buckets:
            async for _ in buckets:
                break
        settled = await requests_settle(emu)
        assert settled <= (concurrency or 1)
        assert client_tasks() == before


async def test_breaking_out_of_fan_out_stops_every_stream() -> None:
    async with client_for(None) as (emu, client):
        before = client_tasks()
        streams = {
            p.id: client.completions(**MONTH, limit=24, project_ids=[p.id])  # type: ignore[arg-type]
            for p in ORGANIZATION.projects
        }
        async with contextlib.aclosing(ua.fan_out(streams, concurrency=3)) as pairs:
            async for _ in pairs:
                break
        settled = await requests_settle(emu)
        assert settled <= 3 + 3  # at most one page in hand and one in flight per running stream
        assert client_tasks() == before
