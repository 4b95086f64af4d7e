"""Least privilege on PostgreSQL: the GRANTs the sync page lists, and nothing else, are enough.

The roles are made in the suite's PostgreSQL (as its superuser) by running the page's own
SQL: one that creates the tables (CONNECT, and USAGE and CREATE on ``public``) and one for
the runs after (rows only: no CREATE, no TEMP). Each syncs twice; neither may create a
temporary object, so a run that compares a view through one fails here.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import usage_async as ua
from usage_async.emulator import Emulator

from .conftest import DAY, NOW, client_for, snapshot

SINCE = NOW - 3 * DAY
PAGE = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text()


def grants() -> tuple[str, str]:
    """The SQL of the page's two grant blocks: the first run's, the later runs'."""
    section = PAGE.split("\n## Least privilege on PostgreSQL\n")[1].split("\n## ")[0]
    first, later = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    return first, later


async def as_superuser(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def refused(url: str, sql: str) -> bool:
    """Whether ``sql`` is refused for lack of a privilege when run at ``url``."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    except asyncpg.InsufficientPrivilegeError:
        return True
    finally:
        await conn.close()
    return False


def as_role(database: str, role: str) -> str:
    return database.replace("postgres@", f"{role}@", 1)


async def test_roles_with_only_the_documented_grants_sync_twice_each(
    emulator: Emulator, postgresql_database: str
) -> None:
    name = postgresql_database.rsplit("/", 1)[1]
    suffix = uuid.uuid4().hex[:8]
    creator, writer = f"usage_sync_{suffix}", f"usage_writer_{suffix}"

    def named(sql: str) -> str:
        sql = re.sub(r"\bDATABASE usage\b", f"DATABASE {name}", sql)
        return sql.replace("usage_sync", creator).replace("usage_writer", writer)

    first, later = grants()
    await as_superuser(postgresql_database, named(first))
    options: dict[str, Any] = {"since": SINCE, "endpoints": ["completions", "costs"]}
    async with client_for(emulator) as client:
        for _ in range(2):
            await ua.sync(client, as_role(postgresql_database, creator), **options)
        await as_superuser(postgresql_database, named(later))
        for _ in range(2):
            await ua.sync(client, as_role(postgresql_database, writer), **options)
        await ua.sync(client, postgresql_database, prefix="clean_", **options)
    # The grants were no more than documented: neither role may make a temporary object,
    # and the writer may not create at all.
    for role in (creator, writer):
        assert await refused(as_role(postgresql_database, role), "CREATE TEMP TABLE t (x int)")
    assert await refused(as_role(postgresql_database, writer), "CREATE TABLE t (x int)")
    tables = await snapshot(postgresql_database)
    for table, rows in tables.items():
        if not table.startswith("clean_"):
            assert rows == tables[f"clean_{table}"], table
    owners = await views_and_owners(postgresql_database)
    assert owners["focus"] == owners["cost_by_project_day"] == creator


async def views_and_owners(url: str) -> dict[str, str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT viewname, viewowner FROM pg_views WHERE schemaname = 'public'"
        )
    finally:
        await conn.close()
    return {row["viewname"]: row["viewowner"] for row in rows}


def test_the_page_grants_no_more_than_it_says() -> None:
    first, later = grants()
    assert "TEMP" not in first + later
    assert "GRANT USAGE, CREATE ON SCHEMA public" in first
    assert "CREATE" not in later.replace("CREATE ROLE", "")
