"""The server's clock, which a run reads to: from its ``Date`` header, else off its data in as
few requests as a server without ``Date`` allows."""

from __future__ import annotations

import time

from usage_async.sync import server_now

from .conftest import DAY, NOW, client_for
from .revising_server import serve_revising


async def test_without_a_date_header_one_page_of_data_tells_the_time() -> None:
    now = int(time.time())  # a server whose clock agrees with this machine's
    async with serve_revising(now) as server, client_for(server) as client:
        server.dated = False
        assert await server_now(client, now - 200 * DAY) == (now, 2)
    # The Date probe, then one page of daily buckets, not every page from 200 days back.
    assert [query["bucket_width"] for _, query in server.requests] == ["1m", "1d"]


async def test_a_server_whose_clock_is_far_behind_is_read_from_the_anchor() -> None:
    async with serve_revising(NOW) as server, client_for(server) as client:  # months behind
        server.dated = False
        now, requests = await server_now(client, NOW - 10 * DAY)
    assert now == NOW
    assert requests <= 3  # the probe, a guess in the server's future, the anchor's page


async def test_with_a_date_header_one_request_tells_the_time() -> None:
    async with serve_revising(NOW) as server, client_for(server) as client:
        assert await server_now(client, NOW - 10 * DAY) == (NOW, 1)
