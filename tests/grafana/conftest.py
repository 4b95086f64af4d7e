"""Fixtures for the Grafana tests: a real PostgreSQL synced from the emulator, and its queries.

The server is the sync suite's (``tests/sync/conftest.py``: a real PostgreSQL 15 this suite
starts). ``synced`` is one database for the session, filled by ``ua.sync`` from two
emulators with their clocks pinned at ``NOW``: the source ``default`` (seed 0) and the
source ``second`` (seed 1), 45 days each, every endpoint grouped by every field, usage in
hourly buckets; and, under the prefix ``acme_``, costs, completions and images of a third
(seed 2, 20 days), the images in hourly and (written by hand, as a sync before one width per
table could) in daily buckets. The tests only read it.

``query`` runs SQL as Grafana's data source would, on a connection whose time zone is
Tokyo's (Grafana's session takes the server's, which need not be UTC): a query that
depended on it would be caught.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import usage_async as ua
from tests.sync import conftest as sync_suite
from tests.sync.conftest import NOW, client_for, run_in_thread
from usage_async.emulator import serve

# The sync suite's real PostgreSQL server (started once per session for this folder).
postgres_server = sync_suite.postgres_server
postgresql_database = sync_suite.postgresql_database

DAY = 86400
SINCE_DAYS = 45
SECOND = "second"
PREFIX = "acme_"
PREFIXED_ENDPOINTS = ("costs", "completions", "images")
SESSION_TIME_ZONE = "Asia/Tokyo"
NOW_DT = dt.datetime.fromtimestamp(NOW, dt.UTC)


async def admin(server: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def execute(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def fill(url: str) -> None:
    """Sync the two sources, and the prefixed third, into ``url``."""
    since = NOW - SINCE_DAYS * DAY
    for seed, source in ((0, "default"), (1, SECOND)):
        async with serve(port=0, now=lambda: NOW, seed=seed) as emu, client_for(emu) as client:
            await ua.sync(client, url, since=since, source=source)
    async with serve(port=0, now=lambda: NOW, seed=2) as emu, client_for(emu) as client:
        await ua.sync(
            client, url, since=NOW - 20 * DAY, endpoints=list(PREFIXED_ENDPOINTS), prefix=PREFIX
        )
    # The same images in daily buckets too: one table, two widths, to be counted once. A sync
    # refuses a second width for a table now, but tables synced before it may hold both.
    await execute(url, TWO_WIDTHS)


# The hourly images summed into daily rows beside them, as an older sync at --bucket-width 1d
# would have written them.
_GROUPS = "source, project_id, user_id, api_key_id, model, size, image_source"
TWO_WIDTHS = f"""
INSERT INTO {PREFIX}images (bucket_width, start_time, end_time, {_GROUPS},
                            images, num_model_requests)
SELECT '1d', day, day + interval '1 day', {_GROUPS}, sum(images), sum(num_model_requests)
FROM (SELECT date_trunc('day', start_time, 'UTC') AS day, * FROM {PREFIX}images
      WHERE bucket_width = '1h') AS hourly
GROUP BY day, {_GROUPS}
"""


@pytest.fixture(scope="session")
def synced(postgres_server: str) -> Iterator[str]:
    """The session's synced database (see the module's docstring); read only."""
    name = "grafana_" + uuid.uuid4().hex[:12]
    run_in_thread(lambda: admin(postgres_server, f"CREATE DATABASE {name}"))
    url = f"{postgres_server}/{name}"
    try:
        run_in_thread(lambda: fill(url))
        yield url
    finally:
        run_in_thread(lambda: admin(postgres_server, f"DROP DATABASE {name} WITH (FORCE)"))


@dataclass(frozen=True)
class Result:
    """A query's columns as (name, PostgreSQL type name), and its rows."""

    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        at = [n for n, _ in self.columns].index(name)
        return [row[at] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        names = [n for n, _ in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]


async def query(url: str, sql: str, args: Sequence[Any] = ()) -> Result:
    """Run ``sql`` on ``url`` in the Tokyo time zone (see the module's docstring)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"SET TIME ZONE '{SESSION_TIME_ZONE}'")
        statement = await conn.prepare(sql)
        rows = await statement.fetch(*args)
        columns = [(a.name, a.type.name) for a in statement.get_attributes()]
        return Result(columns, [tuple(row) for row in rows])
    finally:
        await conn.close()
