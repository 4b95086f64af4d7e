"""Injected failures: what they look like on the wire, that they replay from their seed,
that a retrying client gets through them to the same data, and that stats count them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

import usage_async as ua
from usage_async.emulator import Emulator, Faults, serve

from .conftest import DAY, KEY, MIDNIGHT, LiveEmulator, pinned_clock, serve_in_thread

QUERY = [("start_time", str(MIDNIGHT - DAY)), ("bucket_width", "1h")]


@pytest.fixture(scope="module")
def flaky() -> Iterator[LiveEmulator]:
    yield from serve_in_thread(
        api_key=KEY,
        now=pinned_clock,
        faults=Faults(rate_limit=0.4, server_error=0.4, seed=11, retry_after_ms=25),
    )


def test_rate_limit_fault_is_a_429_asking_for_the_configured_wait(flaky: LiveEmulator) -> None:
    replies = [flaky.get("completions", QUERY) for _ in range(60)]
    limited = [r for r in replies if r.status == 429]
    assert limited
    for reply in limited:
        assert reply.json()["error"]["code"] == "rate_limit_exceeded"
        assert reply.headers["retry-after-ms"] == "25"
        assert reply.headers["retry-after"] == "1"  # whole seconds: 25 ms rounds up to 1 s
        assert re.match(r"^req_[0-9a-f]{32}$", reply.headers["x-request-id"])


@pytest.mark.parametrize(
    ("retry_after_ms", "seconds"), [(0, "1"), (999, "1"), (1000, "1"), (1001, "2"), (2500, "3")]
)
async def test_retry_after_is_whole_seconds_rounded_up_and_ms_is_exact(
    retry_after_ms: int, seconds: str
) -> None:
    faults = Faults(rate_limit=1.0, retry_after_ms=retry_after_ms)
    async with (
        serve(port=0, api_key=KEY, now=pinned_clock, faults=faults) as emu,
        aiohttp.ClientSession() as http,
        http.get(
            emu.base_url + "/organization/usage/completions",
            params=QUERY,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as reply,
    ):
        assert reply.status == 429
        assert reply.headers["retry-after-ms"] == str(retry_after_ms)
        assert reply.headers["retry-after"] == seconds


def test_server_error_fault_is_a_5xx_with_the_error_envelope(flaky: LiveEmulator) -> None:
    replies = [flaky.get("completions", QUERY) for _ in range(60)]
    failed = [r for r in replies if r.status >= 500]
    assert {r.status for r in failed} <= {500, 502, 503}
    assert len({r.status for r in failed}) > 1
    assert all(r.json()["error"]["type"] == "server_error" for r in failed)


def test_faults_hit_only_authenticated_requests_to_real_endpoints(flaky: LiveEmulator) -> None:
    statuses = {flaky.get("completions", QUERY, key="sk-admin-nope").status for _ in range(20)}
    assert statuses == {401}
    assert {flaky.get("/nowhere").status for _ in range(20)} == {404}


def test_same_fault_seed_replays_the_same_sequence() -> None:
    def statuses() -> list[int]:
        server = serve_in_thread(
            api_key=KEY, now=pinned_clock, faults=Faults(rate_limit=0.3, server_error=0.3, seed=5)
        )
        live = next(server)
        try:
            return [live.get("embeddings", QUERY).status for _ in range(40)]
        finally:
            server.close()

    first = statuses()
    assert first == statuses()
    assert len(set(first)) > 2


@pytest.mark.parametrize(
    ("faults", "named"),
    [
        ({"rate_limit": 1.5}, "rate_limit"),
        ({"server_error": -0.1}, "server_error"),
        ({"rate_limit": 0.6, "server_error": 0.3, "disconnect": 0.2}, "sum to at most 1"),
        ({"retry_after_ms": -1}, "retry_after_ms"),
    ],
)
def test_impossible_fault_settings_are_refused_naming_the_setting(
    faults: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        Faults(**faults)  # type: ignore[arg-type]


@pytest.fixture
async def faulty() -> AsyncIterator[Emulator]:
    faults = Faults(rate_limit=0.2, server_error=0.2, disconnect=0.15, seed=3, retry_after_ms=1)
    async with serve(port=0, api_key=KEY, now=pinned_clock, faults=faults) as emulator:
        yield emulator


async def test_retrying_client_gets_the_fault_free_data_and_stats_count_every_fault(
    faulty: Emulator, emu_client: ua.UsageClient
) -> None:
    query = {
        "start_time": MIDNIGHT - 4 * DAY,
        "end_time": MIDNIGHT,
        "bucket_width": "1h",
        "limit": 4,
        "group_by": ["model"],
    }
    expected = await emu_client.completions(**query).collect()
    async with ua.UsageClient(
        KEY, base_url=faulty.base_url, max_retries=20, initial_backoff=0.001, max_backoff=0.01
    ) as client:
        got = await client.completions(**query).collect()
    assert got == expected
    stats = faulty.stats.snapshot()
    assert set(stats["faults"]) == {"rate_limit", "server_error", "disconnect"}
    assert stats["by_status"][200] == 24
    failures = sum(n for status, n in stats["by_status"].items() if status != 200)
    assert failures == stats["faults"]["rate_limit"] + stats["faults"]["server_error"]
    assert stats["requests"] == 24 + failures + stats["faults"]["disconnect"]


async def test_latency_does_not_change_the_answer(emu_client: ua.UsageClient) -> None:
    query = {"start_time": MIDNIGHT - 2 * DAY, "end_time": MIDNIGHT}
    expected = await emu_client.audio_speeches(**query).collect()
    async with serve(port=0, api_key=KEY, now=pinned_clock, latency=0.01) as slow:
        client = ua.UsageClient(KEY, base_url=slow.base_url)
        async with client:
            assert await client.audio_speeches(**query).collect() == expected
