"""One writer per source: runs that overlap (cron beside a backfill, a CronJob that overlaps),
first runs included, leave the tables one clean run leaves, on SQLite and on PostgreSQL.

The runs are real processes (the ``usage-async`` executable) against an emulator that
answers slowly, so that they overlap. A run waits for the one that holds its source, saying
once for whom; with ``--no-wait`` it exits 75 (EX_TEMPFAIL) at once, in one line. A lock
held by a process that is killed goes with it. Sources do not wait for each other, and two
first runs never race on creating a table.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import Emulator, serve
from usage_async.sync import SyncBusyError, open_engine
from usage_async.sync._lock import writer_lock

from .conftest import DAY, NOW, cli_env, client_for, snapshot, table_rows

SINCE = NOW - 6 * DAY
ENDPOINTS = "completions,costs,embeddings"
SCRIPT = str(Path(sys.executable).with_name("usage-async"))


@pytest.fixture
async def slow_emulator() -> AsyncIterator[Emulator]:
    """The emulator on the pinned clock, answering each request after 20 ms."""
    async with serve(port=0, now=lambda: NOW, latency=0.02) as emu:
        yield emu


async def usage_async(env: dict[str, str], *argv: str) -> tuple[int, str, int]:
    """Run the ``usage-async`` executable; its exit code, stderr and pid."""
    process = await asyncio.create_subprocess_exec(
        SCRIPT, *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, err.decode(), process.pid


def sync_argv(database: str, *more: str) -> tuple[str, ...]:
    return ("sync", database, "--since", "6d", "--endpoint", ENDPOINTS, *more)


async def clean_run(emulator: Emulator, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """The tables one run leaves, made beside the others under the prefix ``clean_``."""
    async with client_for(emulator) as client:
        await ua.sync(
            client, database, since=SINCE, endpoints=ENDPOINTS.split(","), prefix="clean_"
        )
    tables = await snapshot(database)
    return {name.removeprefix("clean_"): rows for name, rows in tables.items() if "clean_" in name}


def unprefixed(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: rows for name, rows in tables.items() if not name.startswith("clean_")}


def no_duplicates(tables: dict[str, list[tuple[Any, ...]]]) -> None:
    for name, rows in tables.items():
        assert len(rows) == len(set(rows)), f"{name} has duplicate rows"


async def test_overlapping_first_runs_wait_their_turn_and_leave_one_clean_runs_tables(
    slow_emulator: Emulator, database: str
) -> None:
    env = cli_env(slow_emulator)
    engine = open_engine(database)
    try:
        # Held here until every run waits, so that they all overlap, however slowly they start.
        async with writer_lock(engine, "", "default", wait=False, on_wait=print):
            runs = [
                await asyncio.create_subprocess_exec(
                    SCRIPT,
                    *sync_argv(database),
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                for _ in range(4)
            ]
            said = [await asyncio.wait_for(first_line(run), timeout=60) for run in runs]
        ended = [await asyncio.wait_for(run.communicate(), timeout=120) for run in runs]
    finally:
        await engine.dispose()
    host = socket.gethostname()
    for line in said:
        assert "waiting for the sync of source 'default' held by pid " in line
        assert f"held by pid {os.getpid()} on {host} (since " in line
        assert line.endswith("...")
    for run, (_, err) in zip(runs, ended, strict=True):
        assert run.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
        assert err.decode().count("waiting for") == 0  # said once, already read
    tables = unprefixed(await snapshot(database))
    no_duplicates(tables)
    assert tables == await clean_run(slow_emulator, database)


async def first_line(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    return (await process.stderr.readline()).decode().rstrip("\n")


async def test_with_no_wait_an_overlapping_run_exits_75_and_writes_nothing(
    slow_emulator: Emulator, database: str
) -> None:
    env = cli_env(slow_emulator)
    runs = await asyncio.gather(
        *(usage_async(env, *sync_argv(database, "--no-wait")) for _ in range(4))
    )
    codes = sorted(code for code, _, _ in runs)
    assert set(codes) <= {0, 75}, [err for _, err, _ in runs]
    assert 0 in codes
    for code, err, _ in runs:
        if code == 75:
            [line] = err.splitlines()
            assert "the sync of source 'default' is held by pid " in line
            assert line.endswith("not waiting for it (--no-wait)")
    tables = unprefixed(await snapshot(database))
    no_duplicates(tables)
    assert tables == await clean_run(slow_emulator, database)


async def test_a_run_held_up_says_by_whom_and_75_is_the_only_thing_it_does(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    engine = open_engine(database)
    try:
        async with writer_lock(engine, "", "acme", wait=False, on_wait=print):
            env = cli_env(emulator)
            argv = sync_argv(database, "--source", "acme", "--no-wait")
            code, err, _ = await usage_async(env, *argv)
            assert code == 75, err
            [line] = err.splitlines()
            assert f"is held by pid {os.getpid()} on {socket.gethostname()} (since " in line
            # Another source is not held up.
            code, err, _ = await usage_async(env, *sync_argv(database, "--no-wait"))
            assert code == 0, err
        code, err, _ = await usage_async(env, *argv)  # let go: the run goes ahead
        assert code == 0, err
    finally:
        await engine.dispose()


async def test_wait_false_in_a_config_skips_a_held_source_and_the_others_run(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(
        f'database = "{database}"\nwait = false\n'
        f'[defaults]\nendpoints = ["costs"]\nsince = "6d"\n'
        f'[sources.acme]\napi_key_env = "OPENAI_ADMIN_KEY"\nbase_url = "{emulator.base_url}"\n'
        f'[sources.globex]\napi_key_env = "OPENAI_ADMIN_KEY"\nbase_url = "{emulator.base_url}"\n'
    )
    engine = open_engine(database)
    try:
        async with writer_lock(engine, "", "acme", wait=False, on_wait=print):
            code, err, _ = await usage_async(cli_env(emulator), "sync", "--config", str(config))
    finally:
        await engine.dispose()
    assert code == 75, err
    held = [line for line in err.splitlines() if "sync acme:" in line]
    assert len(held) == 1
    assert held[0].endswith("not waiting for it (wait = false in the config)")
    assert "sync globex:" in err  # the source nobody held ran
    assert {row["source"] for row in await table_rows(database, "costs")} == {"globex"}


async def test_a_killed_holder_leaves_no_lock_behind(
    slow_emulator: Emulator, database: str
) -> None:
    env = cli_env(slow_emulator)
    holder = await asyncio.create_subprocess_exec(
        SCRIPT, *sync_argv(database, "--since", "60d"), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    engine = open_engine(database)
    try:
        for _ in range(600):  # until it holds the lock
            try:
                async with writer_lock(engine, "", "default", wait=False, on_wait=print):
                    pass
            except SyncBusyError:
                break
            except Exception:  # the database is not there yet
                pass
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the run never took its lock")
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    finally:
        await engine.dispose()
    code, err, _ = await usage_async(env, *sync_argv(database, "--no-wait"))
    assert code == 0, err
    no_duplicates(unprefixed(await snapshot(database)))


async def test_sources_do_not_wait_for_each_other_and_first_runs_create_the_tables_once(
    emulator: Emulator, database: str
) -> None:
    told: list[str] = []
    async with client_for(emulator) as client:
        engines = [open_engine(database) for _ in range(6)]
        try:
            runs = [
                ua.sync(
                    client,
                    engine,
                    since=SINCE,
                    endpoints=["costs", "completions"],
                    source=f"org{n % 3}",
                    on_notice=told.append,
                )
                for n, engine in enumerate(engines)
            ]
            reports = await asyncio.gather(*runs)
        finally:
            for engine in engines:
                await engine.dispose()
    assert len(reports) == 6
    # Each source's second run waited for its first; no source waited for another.
    assert sorted(line.split("'")[1] for line in told) == ["org0", "org1", "org2"]
    tables = await snapshot(database)
    no_duplicates(tables)
    assert {row[0] for row in tables["completions"]} == {"org0", "org1", "org2"}


async def test_a_waiting_library_run_is_logged_and_a_refused_one_writes_nothing(
    emulator: Emulator, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(database)
    try:
        async with client_for(emulator) as client:
            async with writer_lock(engine, "", "default", wait=False, on_wait=print):
                with pytest.raises(SyncBusyError) as busy:
                    await ua.sync(client, database, since=SINCE, endpoints=["costs"], wait=False)
                assert busy.value.holder is not None
                assert busy.value.holder.pid == os.getpid()
                assert await snapshot(database) == {}  # no table made
                waiting = asyncio.ensure_future(
                    ua.sync(client, database, since=SINCE, endpoints=["costs"])
                )
                with caplog.at_level(logging.WARNING, logger="usage_async"):
                    await asyncio.sleep(0.5)
                    assert not waiting.done()
            await waiting
    finally:
        await engine.dispose()
    assert "waiting for the sync of source 'default' held by pid" in caplog.text
    assert (await snapshot(database))["costs"]
