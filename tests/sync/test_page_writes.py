"""A page is written whole or not at all: a page the database refuses leaves the table and
its state as the pages before it left them, and the run says which table failed."""

from __future__ import annotations

import datetime as dt

import pytest

import usage_async as ua

from .conftest import DAY, client_for, iso, plain, table_rows
from .revising_server import serve_revising

HOUR = 3600
NOW = int(dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC).timestamp())
SINCE = NOW - NOW % HOUR - 9 * DAY  # 216 hours: two pages of 168


async def test_a_page_the_database_refuses_is_rolled_back_whole(database: str) -> None:
    first_page = [SINCE + h * HOUR for h in (0, 5, 100)]
    second_page = [SINCE + h * HOUR for h in (170, 180, 200)]
    async with serve_revising(NOW) as server, client_for(server) as client:
        for hour in first_page + second_page:
            server.usage[(hour, "gpt-4o", "proj_a")] = 10
        server.usage[(second_page[1], "o3", "proj_a")] = 2**63  # no BIGINT holds it
        with pytest.raises(ua.SyncError) as failed:
            await ua.sync(
                client,
                database,
                since=SINCE,
                endpoints=["completions"],
                group_by=["model", "project_id"],
                directory=False,
                concurrency=1,
            )
    [table] = failed.value.report.tables
    assert table.error is not None
    assert table.rows == len(first_page)
    rows = await table_rows(database, "completions")
    assert sorted(plain(r["start_time"]) for r in rows) == [iso(h) for h in first_page]
    [state] = await table_rows(database, "sync_state")
    assert plain(state["settled_until"]) == iso(SINCE + 168 * HOUR)  # where the next run starts
