"""Checkpoints: a stream's position as a string; ``client.resume`` continues it anywhere, later,
with no gap and no duplicate — by cursor or by window, in this process or another one."""

from __future__ import annotations

import asyncio
import os
import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest

import usage_async as ua
from usage_async._checkpoint import decode_checkpoint
from usage_async.emulator import Emulator, serve

DAY = 86400
EMULATOR_NOW = 1_772_368_496  # 2026-03-01T12:34:56Z


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with serve(port=0, now=lambda: EMULATOR_NOW) as emu:
        yield emu


def connect(emu: Emulator) -> ua.UsageClient:
    return ua.UsageClient(emu.api_key, base_url=emu.base_url)


Key = tuple[int, int, tuple[Any, ...]]


def keys(buckets: list[ua.Bucket[Any]]) -> list[Key]:
    return [(b.start_time, b.end_time, b.results) for b in buckets]


async def take(stream: ua.BucketStream[Any], count: int) -> list[ua.Bucket[Any]]:
    got = []
    async for b in stream:
        got.append(b)
        if len(got) == count:
            break
    return got


@pytest.mark.parametrize("concurrency", [None, 3])
@pytest.mark.parametrize("stop_after", [1, 5, 24, 30])  # mid-page, page ends, across windows
async def test_resume_continues_with_no_gap_and_no_duplicate(
    emulator: Emulator, concurrency: int | None, stop_after: int
) -> None:
    params: dict[str, Any] = {
        "start_time": EMULATOR_NOW - 3 * DAY - 1234,
        "end_time": EMULATOR_NOW - 600,
        "bucket_width": "1h",
        "limit": 12,
        "group_by": ["model"],
        "concurrency": concurrency,
    }
    async with connect(emulator) as client:
        whole = await client.completions(**params).collect()
        stream = client.completions(**params)
        assert stream.first_start == whole[0].start_time
        first = await take(stream, stop_after)
        checkpoint = stream.checkpoint()
    async with connect(emulator) as other:  # a new client: nothing shared but the string
        resumed = other.resume(checkpoint)
        assert resumed.first_start == first[-1].end_time  # where it stands, before a request
        rest = await resumed.collect()
    assert keys(first + rest) == keys(whole)


async def test_resume_works_in_another_process(emulator: Emulator) -> None:
    script = """
import asyncio, sys
import usage_async as ua

async def main():
    async with ua.UsageClient() as client:
        stream = client.costs(start_time=int(sys.argv[1]), group_by=["line_item"], limit=3)
        count = 0
        async for bucket in stream:
            count += 1
            if count == 4:
                break
        print(stream.checkpoint())

asyncio.run(main())
"""
    start = EMULATOR_NOW - 20 * DAY
    env = {**os.environ, "OPENAI_ADMIN_KEY": emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(start), stdout=asyncio.subprocess.PIPE, env=env
    )
    out, _ = await child.communicate()
    assert child.returncode == 0
    async with connect(emulator) as client:
        rest = await client.resume(out.decode().strip()).collect()
        whole = await client.costs(start_time=start, group_by=["line_item"], limit=3).collect()
    assert keys(rest) == keys(whole[4:])


async def test_a_checkpoint_taken_while_end_time_was_in_the_future_still_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The old recipe re-sent the call's arguments: once the end had passed, end_time was
    sent where it had been left out, the cursor belonged to another query, and the API
    refused it. A checkpoint re-sends the query exactly as it first went out."""
    clock = [EMULATOR_NOW]
    async with serve(port=0, now=lambda: clock[0]) as emu:
        monkeypatch.setattr(
            "usage_async._streams.time", types.SimpleNamespace(time=lambda: clock[0])
        )
        params: dict[str, Any] = {
            "start_time": EMULATOR_NOW - 2 * DAY,
            "end_time": EMULATOR_NOW + DAY,  # in the future when the pull starts
            "bucket_width": "1h",
        }
        async with connect(emu) as client:
            stream = client.completions(**params)
            first = await take(stream, 30)
            checkpoint = stream.checkpoint()
            assert "end_time" not in (decode_checkpoint(checkpoint).params or {})
            clock[0] = EMULATOR_NOW + 3 * DAY  # the end has passed
            rest = await client.resume(checkpoint).collect()
    starts = [b.start_time for b in first + rest]
    assert starts == sorted(set(starts))
    assert starts[0] == params["start_time"]
    assert all(s < params["end_time"] for s in starts)


async def test_a_finished_streams_checkpoint_resumes_to_nothing_without_a_request(
    emulator: Emulator,
) -> None:
    async with connect(emulator) as client:
        stream = client.embeddings(start_time=EMULATOR_NOW - 3 * DAY, end_time=EMULATOR_NOW)
        await stream.collect()
        assert stream.done
        before = emulator.stats.requests
        assert await client.resume(stream.checkpoint()).collect() == []
        assert emulator.stats.requests == before


async def test_a_checkpoint_before_any_request_starts_from_the_beginning(
    emulator: Emulator,
) -> None:
    async with connect(emulator) as client:
        stream = client.images(start_time=EMULATOR_NOW - 3 * DAY, end_time=EMULATOR_NOW)
        resumed = await client.resume(stream.checkpoint()).collect()
        assert keys(resumed) == keys(await stream.collect())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "does not start with"),
        ("page_AAAA", "does not start with"),
        ("ua1.!!!", "not base64url JSON"),
        ("ua1.bnVsbA", "not an object"),  # null
        ("ua1.e30", "missing"),  # {}
        ("ua9.e30", "format 9"),
    ],
)
async def test_a_malformed_or_foreign_checkpoint_is_refused_before_any_request(
    text: str, message: str
) -> None:
    async with ua.UsageClient("sk-admin-x", base_url="https://api.example.test/v1") as client:
        with pytest.raises(ua.InvalidParameterError, match=message) as info:
            client.resume(text)
    assert info.value.param == "checkpoint"


async def test_a_checkpoint_holds_no_key(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        stream = client.costs(start_time=EMULATOR_NOW - 3 * DAY)
        await take(stream, 1)
        import base64

        token = stream.checkpoint().partition(".")[2]
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert emulator.api_key not in text
    assert "sk-" not in text
