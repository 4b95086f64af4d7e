"""Nothing is written before the API has answered once: a wrong key, a dead base URL or a 403
leave no SQLite file (nor its lock file) and no PostgreSQL table behind, from the library and
from the command line."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import Emulator
from usage_async.sync import open_engine

from .conftest import DAY, NOW, cli_command, cli_env
from .revising_server import serve_revising

SINCE = NOW - 3 * DAY


def dead_url() -> str:
    """A loopback base URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def left_behind(database: str, folder: Path) -> list[str]:
    """What a run left: the files in the SQLite database's folder, or PostgreSQL's tables."""
    if database.startswith("sqlite"):
        return sorted(os.listdir(folder))
    engine = open_engine(database)
    try:
        async with engine.connect() as conn:
            return sorted(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def quick(base_url: str, key: str) -> ua.UsageClient:
    return ua.UsageClient(key, base_url=base_url, max_retries=1, initial_backoff=0.001)


async def test_opening_an_engine_creates_no_file(sqlite_database: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_database)
    await engine.dispose()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ("a wrong key", ua.AuthenticationError),
        ("a dead base URL", ua.APIConnectionError),
        ("a 403 on every endpoint", ua.PermissionDeniedError),
    ],
)
async def test_a_run_the_api_never_answered_writes_nothing(
    database: str, tmp_path: Path, failure: str, error: type[Exception]
) -> None:
    async with serve_revising(NOW) as server:
        key, url = server.api_key, server.base_url
        if failure == "a wrong key":
            key = "sk-admin-wrong-0123456789"
        elif failure == "a dead base URL":
            url = dead_url()
        else:
            server.forbidden.update({"completions", "costs"})
        async with quick(url, key) as client:
            with pytest.raises(error):
                await ua.sync(client, database, since=SINCE, endpoints=["completions", "costs"])
    assert await left_behind(database, tmp_path) == []


async def test_the_command_line_with_a_wrong_key_leaves_no_database(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = cli_env(emulator, OPENAI_ADMIN_KEY="sk-admin-wrong-0123456789")
    process = await asyncio.create_subprocess_exec(
        *cli_command("sync", "--endpoint", "costs"), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert "AuthenticationError" in err.decode()
    assert os.listdir(tmp_path) == []  # no usage.db


async def test_an_answer_comes_before_the_first_table_is_made(
    emulator: Emulator, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from usage_async.sync import _store

    seen: list[Any] = []
    prepare: Callable[..., Any] = _store.Store.prepare

    async def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(emulator.stats.requests)
        return await prepare(self, *args, **kwargs)

    monkeypatch.setattr(_store.Store, "prepare", recording)
    async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"])
    assert seen
    assert seen[0] >= 1  # the clock's request was answered first
