"""Kill ``usage-async sync`` with SIGKILL mid-run, run it again: the tables of one clean run.

Between kills the state is checked against the clean run: every row before a table's
``settled_until`` is already the final row (the state is never ahead of the data). Then
SIGTERM: in ``--every`` mode it ends the run after the transaction in progress, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import Emulator, serve
from usage_async.sync import open_engine

from .conftest import (
    DAY,
    NOW,
    cli_command,
    cli_env,
    client_for,
    iso,
    plain,
    snapshot,
    table_as_api_rows,
    table_rows,
)

SINCE = NOW - 40 * DAY
SINCE_ISO = iso(SINCE)
ENDPOINTS = "completions,costs,embeddings,images,vector_stores,web_search_calls"


@pytest.fixture
async def slow_emulator() -> AsyncIterator[Emulator]:
    """The pinned emulator, answering each request after 30 ms: a run lasts long enough to
    be killed at several points."""
    async with serve(port=0, now=lambda: NOW, latency=0.03) as emu:
        yield emu


async def start_sync(emu: Emulator, database: str, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *cli_command(
            "sync",
            database,
            "--since",
            SINCE_ISO,
            "--endpoint",
            ENDPOINTS,
            "--prefix",
            "crash_",
            "--concurrency",
            "2",
            *extra,
        ),
        env=cli_env(emu),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def state_rows(database: str) -> list[dict[str, object]]:
    try:
        return await table_rows(database, "crash_sync_state")
    except Exception:  # not created yet
        return []


async def commit_marker(database: str) -> tuple[object, ...]:
    """What a commit of a run moves when it writes anything not there before: the rows of
    each crash_ table and each state's settled_until and synced_until. A run's re-reads of
    what earlier runs wrote move nothing, so a change is a commit of the current run."""
    engine = open_engine(database)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            mine = sorted(name for name in names if name.startswith("crash_"))
            counts = [
                (name, (await conn.execute(sa.text(f"SELECT count(*) FROM {name}"))).scalar())
                for name in mine
            ]
            states: list[tuple[object, ...]] = []
            if "crash_sync_state" in mine:
                query = "SELECT endpoint, settled_until, synced_until FROM crash_sync_state"
                states = sorted(tuple(row) for row in await conn.execute(sa.text(query)))
            return tuple(counts), tuple(states)
    finally:
        await engine.dispose()


async def wait_for_a_commit(
    database: str, before: tuple[object, ...], process: asyncio.subprocess.Process
) -> bool:
    """Until the database shows a commit of ``process`` (``True``), or the run ends
    without one (``False``); ``before`` is ``commit_marker`` taken before it started."""
    for _ in range(3000):
        if await commit_marker(database) != before:
            return True
        if process.returncode is not None:
            return False
        await asyncio.sleep(0.01)
    raise AssertionError("the sync never committed")


async def assert_state_not_ahead(database: str) -> None:
    """Rows before each settled_until equal the clean run's rows there."""
    for state in await state_rows(database):
        table = state["endpoint"]
        where = f"WHERE start_time < '{plain(state['settled_until'])}'"
        assert await table_as_api_rows(database, f"crash_{table}", where) == (
            await table_as_api_rows(database, f"clean_{table}", where)
        ), table


async def test_sigkill_at_any_point_then_a_rerun_gives_the_tables_of_one_clean_run(
    slow_emulator: Emulator, database: str
) -> None:
    async with serve(port=0, now=lambda: NOW) as fast, client_for(fast) as client:
        await ua.sync(
            client, database, since=SINCE, endpoints=ENDPOINTS.split(","), prefix="clean_"
        )
    # Kill each run after a commit of its own, at once, then a little and a little more
    # later. A rerun has less left to do each time; one that finished before its kill is not
    # a kill. (Waiting on what earlier runs left would kill during interpreter start-up.)
    killed = 0
    for delay in (0.0, 0.1, 0.3):
        before = await commit_marker(database)
        process = await start_sync(slow_emulator, database)
        committed = await wait_for_a_commit(database, before, process)
        await asyncio.sleep(delay)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        if await process.wait() == -signal.SIGKILL:
            assert committed  # killed mid-run, after a commit of this run
            killed += 1
        await assert_state_not_ahead(database)
    assert killed >= 2
    process = await start_sync(slow_emulator, database)
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    crashed = await snapshot(database, prefix="crash_")
    clean = await snapshot(database, prefix="clean_")
    assert list(crashed.values()) == list(clean.values())


async def test_sigterm_in_every_mode_commits_the_transaction_in_progress_and_exits_0(
    slow_emulator: Emulator, database: str
) -> None:
    async with serve(port=0, now=lambda: NOW) as fast, client_for(fast) as client:
        await ua.sync(
            client, database, since=SINCE, endpoints=ENDPOINTS.split(","), prefix="clean_"
        )
    before = await commit_marker(database)
    process = await start_sync(slow_emulator, database, "--every", "1h")
    assert await wait_for_a_commit(database, before, process)
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert "stopped by signal SIGTERM" in err.decode()
    await assert_state_not_ahead(database)


async def test_sigterm_between_runs_of_every_exits_0_at_once(
    emulator: Emulator, sqlite_database: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        *cli_command(
            "sync", sqlite_database, "--since", "2d", "--endpoint", "costs", "--every", "1h"
        ),
        env=cli_env(emulator),
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    summary = await asyncio.wait_for(process.stderr.readline(), timeout=30)
    assert b"sync default:" in summary
    assert b"rows into 1 tables" in summary
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0
