"""``--config``: every source syncs at once, under the one ``max_in_flight`` cap of the file."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from .conftest import DAY, NOW, cli_command, cli_env
from .revising_server import RevisingServer, serve_revising

Handler = Callable[[RevisingServer, web.Request], Awaitable[web.Response]]


@pytest.mark.parametrize("cap", [1, 3])
async def test_sources_sync_concurrently_and_share_one_cap_on_requests_in_flight(
    sqlite_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    in_flight = 0
    peak = 0
    served: list[str] = []  # each data request's server, in the order they arrive

    def counted(handler: Handler) -> Handler:
        async def handle(server: RevisingServer, request: web.Request) -> web.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            served.append(server.base_url)
            try:
                await asyncio.sleep(0.02)
                return await handler(server, request)
            finally:
                in_flight -= 1

        return handle

    for name in ("completions", "costs_page"):
        monkeypatch.setattr(RevisingServer, name, counted(getattr(RevisingServer, name)))
    async with serve_revising(NOW) as acme, serve_revising(NOW) as globex:
        for server in (acme, globex):
            for hour in range(NOW - 20 * DAY, NOW, 3600):
                server.usage[(hour - hour % 3600, "gpt-4o", "proj_a")] = 5
        config = tmp_path / "sync.toml"
        config.write_text(
            f"max_in_flight = {cap}\n"
            '[defaults]\nendpoints = ["completions", "costs"]\nsince = "20d"\n'
            + "".join(
                f'[sources.{name}]\napi_key_env = "KEY"\nbase_url = "{server.base_url}"\n'
                for name, server in (("acme", acme), ("globex", globex))
            )
        )
        process = await asyncio.create_subprocess_exec(
            *cli_command("sync", sqlite_database, "--config", str(config)),
            env=cli_env(acme, KEY=acme.api_key),
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert peak == cap, served
    # Concurrently, not one source after the other: their requests interleave.
    switches = sum(1 for a, b in itertools.pairwise(served) if a != b)
    assert switches >= 2, served
    assert set(served) == {acme.base_url, globex.base_url}
