"""The emulator's clock, as a client sees it: one "now" per walk, and the server's Date."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator

import aiohttp
import pytest

from usage_async.emulator import Emulator, serve

from .conftest import KEY, NOW, Clock, walk

HOUR = 3600


@pytest.fixture
async def moving(clock: Clock) -> AsyncIterator[Emulator]:
    async with serve(port=0, api_key=KEY, now=clock) as emulator:
        yield emulator


@pytest.mark.parametrize("end_time", [None, NOW + 30 * 86400], ids=["open", "future-end"])
async def test_a_walk_sees_the_range_as_of_its_first_page_while_the_clock_moves_on(
    moving: Emulator, clock: Clock, http: aiohttp.ClientSession, end_time: int | None
) -> None:
    start = NOW - 10 * HOUR - 10
    query = [("start_time", str(start)), ("bucket_width", "1h"), ("limit", "3")]
    if end_time is not None:
        query.append(("end_time", str(end_time)))
    still = await walk(http, moving, "completions", query)

    def later() -> None:
        clock.now += 2 * HOUR + 17

    moved = await walk(http, moving, "completions", query, between_pages=later)
    assert clock.now > NOW + 6 * HOUR, "the clock moved on between pages"
    assert moved == still
    assert len(moved) == 11
    assert moved[-1]["end_time"] == NOW
    assert any(b["results"] for b in moved)


async def test_a_new_walk_uses_the_clock_again(
    moving: Emulator, clock: Clock, http: aiohttp.ClientSession
) -> None:
    query = [("start_time", str(NOW - 5 * HOUR)), ("bucket_width", "1h")]
    first = await walk(http, moving, "embeddings", query)
    clock.now += HOUR
    second = await walk(http, moving, "embeddings", query)
    assert first[-1]["end_time"] == NOW
    assert second[-1]["end_time"] == NOW + HOUR
    assert second[: len(first) - 1] == first[:-1]


FAR = 1_000_000_000  # 2001-09-09T01:46:40Z, far from any machine's clock


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [
        ("/organization/usage/completions?start_time=999000000", KEY, 200),
        ("/organization/costs?start_time=999000000&limit=0", KEY, 400),
        ("/organization/usage/completions?start_time=999000000", "sk-admin-wrong", 401),
        ("/organization/usage/completions?start_time=999000000", "sk-proj-x", 403),
        ("/nowhere", KEY, 404),
    ],
)
async def test_every_response_is_dated_by_the_emulators_clock(
    path: str, key: str, status: int
) -> None:
    async with (
        serve(port=0, api_key=KEY, now=lambda: FAR + 0.75) as emu,
        aiohttp.ClientSession() as session,
        session.get(emu.base_url + path, headers={"Authorization": f"Bearer {key}"}) as reply,
    ):
        assert reply.status == status
        assert reply.headers["Date"] == "Sun, 09 Sep 2001 01:46:40 GMT"
        assert email.utils.parsedate_to_datetime(reply.headers["Date"]).timestamp() == FAR
