"""Shared fixtures: aioresponses made to work with aiohttp >= 3.14, and clients for tests.

aioresponses 0.7.9 builds ``ClientResponse`` without the ``stream_writer`` argument that
aiohttp 3.14 (the security release we require) made mandatory. The shim below supplies a
finished writer; it lives here, on the test side, and pins nothing.
"""

from __future__ import annotations

import asyncio
import socket
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioresponses.core
import pytest
from aiohttp import ClientResponse

import usage_async as ua

BASE = "https://api.example.test/v1"
KEY = "sk-admin-TESTKEY-0123456789abcdef"


class _ShimResponse(ClientResponse):
    def __init__(self, *args: Any, stream_writer: Any = None, **kwargs: Any) -> None:
        if stream_writer is None:
            stream_writer = types.SimpleNamespace(output_size=0)
        super().__init__(*args, stream_writer=stream_writer, **kwargs)


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses.aioresponses]:
    """aioresponses, patched for aiohttp >= 3.14; every unmatched request fails the test."""
    monkeypatch.setattr(aioresponses.core, "ClientResponse", _ShimResponse)
    with aioresponses.aioresponses() as m:
        yield m


class SleepRecorder:
    """Stands in for asyncio.sleep in the client: records waits and advances a fake clock."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound (so nothing else takes it) but not listening: refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(sleeps: SleepRecorder) -> AsyncIterator[ua.UsageClient]:
    """A client for the mocked base URL whose retries wait on a fake clock."""
    async with ua.UsageClient(KEY, base_url=BASE, max_retries=3) as c:
        c._sleep = sleeps
        c._clock = sleeps.clock
        yield c


def client_tasks() -> set[asyncio.Task[Any]]:
    """Running tasks, leaving out loopback servers' own request handlers (keep-alive)."""
    return {
        t
        for t in asyncio.all_tasks()
        if "RequestHandler" not in getattr(t.get_coro(), "__qualname__", "")
    }
