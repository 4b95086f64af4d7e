"""The server's clock, which a run reads to: from its ``Date`` header, else off its data in as
few requests as a server without ``Date`` allows; from the endpoints the run syncs, so a key
that may read only costs syncs costs."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

import usage_async as ua
from usage_async.sync import server_now

from .conftest import DAY, NOW, client_for, table_rows
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


async def test_a_key_that_may_read_only_costs_syncs_costs(sqlite_database: str) -> None:
    async with serve_revising(NOW) as server, client_for(server) as client:
        server.forbidden.add("completions")
        server.costs[(NOW - NOW % DAY - DAY, "proj_a")] = Decimal("1.5")
        report = await ua.sync(
            client, sqlite_database, since=NOW - 3 * DAY, endpoints=["costs"], directory=False
        )
    asked = [name for name, _ in server.requests]
    assert "completions" not in asked  # the clock is read off what is synced
    assert report.requests == len(asked)
    assert report.server_now == dt.datetime.fromtimestamp(NOW, dt.UTC)
    assert [Decimal(r["amount"]) for r in await table_rows(sqlite_database, "costs")] == [
        Decimal("1.5")
    ]


async def test_an_endpoint_the_key_may_not_read_fails_alone_and_another_tells_the_time(
    sqlite_database: str,
) -> None:
    async with serve_revising(NOW) as server, client_for(server) as client:
        server.forbidden.add("completions")
        server.costs[(NOW - NOW % DAY - DAY, "proj_a")] = Decimal("1.5")
        with pytest.raises(ua.SyncError) as failed:
            await ua.sync(
                client, sqlite_database, since=NOW - 3 * DAY,
                endpoints=["completions", "costs"], directory=False,
            )  # fmt: skip
        assert list(failed.value.report.failed) == ["completions"]
        assert "PermissionDeniedError" in failed.value.report.failed["completions"]
    assert len(await table_rows(sqlite_database, "costs")) == 1
    # The clock: the completions probe (403), then costs'. The table: its first page (403).
    assert [name for name, _ in server.requests][:2] == ["completions", "costs"]


async def test_a_key_that_may_read_nothing_gets_the_apis_403() -> None:
    async with serve_revising(NOW) as server, client_for(server) as client:
        server.forbidden.update({"completions", "costs"})
        with pytest.raises(ua.PermissionDeniedError):
            await server_now(client, NOW - 10 * DAY, ["completions", "costs"])
    assert [name for name, _ in server.requests] == ["completions", "costs"]
