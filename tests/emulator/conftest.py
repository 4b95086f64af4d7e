"""Fixtures for the emulator suite: an emulator with a pinned clock, in two flavours.

* ``emu`` / ``emu_client`` / ``sdk``: an emulator on the test's event loop, and a
  ``UsageClient`` and an official ``openai`` SDK client for it (async tests); ``clock`` (a
  ``Clock`` to move by hand), ``http`` and ``walk`` for raw requests from async tests.
* ``live``: one emulator for the whole session on a background thread, with a plain
  synchronous ``get``: hypothesis property tests and raw-wire checks use it, since hypothesis
  drives synchronous test functions.

The clock is pinned to ``NOW`` so every run sees the same data, open ranges included.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import threading
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import aiohttp
import attrs
import openai
import orjson
import pytest

import usage_async as ua
from usage_async.emulator import Emulator, serve

NOW = 1_772_368_496  # 2026-03-01T12:34:56Z
MIDNIGHT = 1_772_323_200  # 2026-03-01T00:00:00Z
DAY = 86400
KEY = "sk-admin-emulator-tests"

Query = Sequence[tuple[str, str]]


def pinned_clock() -> float:
    return float(NOW)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with serve(port=0, api_key=KEY, now=pinned_clock) as emulator:
        yield emulator


@pytest.fixture
async def emu_client(emu: Emulator) -> AsyncIterator[ua.UsageClient]:
    async with ua.UsageClient(emu.api_key, base_url=emu.base_url) as client:
        yield client


@pytest.fixture
async def sdk(emu: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official SDK against ``emu``, validating every response against its models."""
    client = openai.AsyncOpenAI(
        admin_api_key=emu.api_key,
        api_key="sk-unused-by-admin-endpoints",
        base_url=emu.base_url,
        max_retries=0,
        _strict_response_validation=True,
    )
    async with client:
        yield client


class Clock:
    """A pinned clock a test moves by hand: pass it as ``now=``, then set ``clock.now``."""

    def __init__(self, now: float = NOW) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(name="http")  # a function named http would hide the http module here
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session that sends the tests' admin key."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as session:
        yield session


async def walk(
    http: aiohttp.ClientSession,
    emu: Emulator,
    endpoint: str,
    query: Query,
    between_pages: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """Every bucket of an endpoint's query, following ``next_page`` to the end and calling
    ``between_pages`` before each next page (to move a ``Clock``, say)."""
    out: list[dict[str, Any]] = []
    cursor: Query = []
    while True:
        url = emu.base_url + ua.ENDPOINTS[endpoint].path
        async with http.get(url, params=[*query, *cursor]) as reply:
            assert reply.status == 200, await reply.text()
            page = await reply.json()
        out.extend(page["data"])
        if not page["has_more"]:
            return out
        cursor = [("page", page["next_page"])]
        between_pages()


@attrs.frozen
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")


def assert_error(reply: Reply, status: int, param: str | None = None) -> dict[str, object]:
    """Check that ``reply`` is the API's error envelope with ``status``; return the error."""
    assert reply.status == status, reply.body[:300]
    assert reply.headers["content-type"].startswith("application/json")
    assert REQUEST_ID.match(reply.headers["x-request-id"])
    body = reply.json()
    assert set(body) == {"error"}
    error: dict[str, object] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    if status == 400:
        assert error["type"] == "invalid_request_error"
        assert error["param"] == param
    return error


@attrs.define
class LiveEmulator:
    """A session-wide emulator on its own thread; ``get`` is synchronous."""

    base_url: str
    stats: Any
    _host: str
    _port: int
    _prefix: str

    def get(
        self,
        path: str,
        query: Query | str = (),
        *,
        key: str | None = KEY,
        method: str = "GET",
    ) -> Reply:
        """``path`` is relative to ``/v1`` (``/organization/costs``) or an endpoint name."""
        if not path.startswith("/"):
            path = ua.ENDPOINTS[path].path
        text = query if isinstance(query, str) else urllib.parse.urlencode(list(query))
        target = self._prefix + path + ("?" + text if text else "")
        connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
        try:
            headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
            connection.request(method, target, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()

    def page(self, endpoint: str, query: Query) -> dict[str, Any]:
        reply = self.get(endpoint, query)
        assert reply.status == 200, reply.body[:300]
        result: dict[str, Any] = reply.json()
        return result

    def buckets(self, endpoint: str, query: Query) -> list[dict[str, Any]]:
        """Every bucket of a query, following ``next_page`` to the end."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.page(endpoint, [*query, *([("page", cursor)] if cursor else [])])
            out.extend(page["data"])
            if not page["has_more"]:
                return out
            cursor = page["next_page"]


def serve_in_thread(**options: Any) -> Iterator[LiveEmulator]:
    """Run ``serve(**options)`` on a background thread until the generator is closed."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def run() -> None:
        async with serve(port=0, **options) as emulator:
            state["emulator"] = emulator
            state["loop"] = asyncio.get_running_loop()
            state["stop"] = asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(timeout=30), "the emulator did not start"
    emulator: Emulator = state["emulator"]
    url = urllib.parse.urlsplit(emulator.base_url)
    assert url.hostname is not None
    assert url.port is not None
    try:
        yield LiveEmulator(emulator.base_url, emulator.stats, url.hostname, url.port, url.path)
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live() -> Iterator[LiveEmulator]:
    yield from serve_in_thread(api_key=KEY, now=pinned_clock)
