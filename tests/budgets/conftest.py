"""Fixtures for the budget tests: synced databases, and a real receiver of alerts.

The databases are the sync tests' own (``tests/sync/conftest.py``: a SQLite file, and a new
database on the real PostgreSQL server the suite starts), filled by ``ua.sync`` from the
emulator with its clock pinned at ``NOW`` and, unless asked otherwise, a planted spike.

``AlertServer`` is a real aiohttp server on a loopback port that records every POST, verifies
signatures, and fails on demand: with a status, by closing the connection, or by being down
(its port closed). Its URLs carry a token in the path, as Slack's do, so a test can check
that no URL leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from aiohttp import web

import usage_async as ua
from tests.sync import conftest as sync_suite
from tests.sync.conftest import NOW, client_for
from usage_async.budgets import (
    AnomalyRule,
    Budget,
    BudgetConfig,
    DeliveryPolicy,
    Receiver,
    verify_signature,
)
from usage_async.emulator import Spike, serve

# The sync suite's real databases, SQLite then PostgreSQL (its server is started once per
# session for each conftest that holds the fixture: moving them to tests/conftest.py would
# share one).
postgres_server = sync_suite.postgres_server
postgresql_database = sync_suite.postgresql_database
database = sync_suite.database
sqlite_database = sync_suite.sqlite_database

DAY = 86400
SPIKE_DAY = dt.date(2026, 3, 5)
SETTLED = int(dt.datetime(2026, 3, 8, tzinfo=dt.UTC).timestamp())  # NOW - 2 days, floored
MARCH = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp())
SECRET = "whsec-test-0123456789abcdef"
TOKEN = "T0KEN-IN-THE-PATH-9f8e7d"
FAST = DeliveryPolicy(attempts=3, initial_backoff=0.001, max_backoff=0.005, timeout=2.0)


async def sync_costs(url: str, *, days: int = 75, spike: bool = True, **options: Any) -> None:
    """Sync ``days`` of the emulator's costs (and its directory) into ``url``."""
    planted = Spike(SPIKE_DAY) if spike else None
    async with serve(now=lambda: NOW, spike=planted, **options) as emu, client_for(emu) as client:
        await ua.sync(client, url, endpoints=["costs"], since=dt.timedelta(days=days))


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where SQLite files synced once per session are kept, to be copied."""
    return tmp_path_factory.mktemp("synced-templates")


@pytest.fixture
async def synced(database: str, templates: Path) -> str:
    """``database`` (SQLite, then PostgreSQL) with 75 days of costs and the spike."""
    await sync_into(database, templates)
    return database


@pytest.fixture
async def synced_sqlite(sqlite_database: str, templates: Path) -> str:
    await sync_into(sqlite_database, templates)
    return sqlite_database


_SYNCED: set[Path] = set()


async def sync_into(url: str, templates: Path, *, days: int = 75, spike: bool = True) -> None:
    """Sync into ``url``; a SQLite file is copied from one synced once per session."""
    if not url.startswith("sqlite:///"):
        await sync_costs(url, days=days, spike=spike)
        return
    template = templates / f"{days}-days-spike-{spike}.db"
    if template not in _SYNCED:
        await sync_costs(f"sqlite:///{template}", days=days, spike=spike)
        _SYNCED.add(template)
    shutil.copy(template, url.removeprefix("sqlite:///"))


@attrs.define
class Seen:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def signed(self) -> bool:
        return verify_signature(
            SECRET,
            self.headers.get("X-Usage-Async-Timestamp", ""),
            self.body,
            self.headers.get("X-Usage-Async-Signature", ""),
        )


@attrs.define
class AlertServer:
    """A loopback receiver of alerts: records, verifies, fails on demand."""

    seen: list[Seen] = attrs.field(factory=list)
    port: int = 0
    failures: list[int | str] = attrs.field(factory=list)  # statuses, "close", "slow"...
    hold: asyncio.Event | None = None  # answer only once set
    arrived: asyncio.Event = attrs.field(factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}/{TOKEN}?key={TOKEN}"

    def fail(self, *how: int | str) -> None:
        """Answer the next requests with these statuses (``"close"``: drop them; ``"slow"``:
        answer after a second; ``"redirect"``: a 307 to another path)."""
        self.failures.extend(how)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path, dict(request.headers), await request.read()))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.failures:
            how = self.failures.pop(0)
            if how == "slow":
                await asyncio.sleep(1.0)
                return web.Response(text="too late")
            if how == "redirect":  # to a path of its own that would accept it
                return web.Response(status=307, headers={"Location": "/hooks/moved/"})
            if how == "close":
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=204)
            return web.Response(status=int(how), text="failing on purpose")
        return web.Response(text="ok")

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def down(self) -> None:
        """Close the port: connections are refused until ``up()``."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def ids(self) -> list[str]:
        return [s.json["id"] for s in self.seen if s.path.startswith("/hooks/finops/")]

    def paths(self, name: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(f"/hooks/{name}/")]


@pytest.fixture
async def receiver() -> AsyncIterator[AlertServer]:
    server = AlertServer()
    await server.up()
    try:
        yield server
    finally:
        if server.hold is not None:
            server.hold.set()
        await server.down()


def receivers(server: AlertServer) -> dict[str, Receiver]:
    return {
        "team-slack": Receiver("team-slack", "slack", server.url("team-slack")),
        "finops": Receiver("finops", "webhook", server.url("finops"), SECRET),
    }


def config(
    server: AlertServer,
    *budgets: Budget,
    anomaly: bool = False,
) -> BudgetConfig:
    """A config whose budgets notify both receivers of ``server``."""
    return BudgetConfig(
        budgets=budgets,
        receivers=receivers(server),
        anomaly=AnomalyRule(notify=("finops",)) if anomaly else None,
    )


def budget(name: str, amount: str, **options: Any) -> Budget:
    options.setdefault("notify", ("team-slack", "finops"))
    return Budget(name, Decimal(amount), **options)


class Clock:
    """This machine's clock for a check (leases, signatures), movable by hand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@contextlib.asynccontextmanager
async def holding(server: AlertServer) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Make the receiver wait before answering; yields a function that waits for the first
    request to arrive."""
    server.hold = asyncio.Event()
    server.arrived.clear()

    async def arrived() -> None:
        await asyncio.wait_for(server.arrived.wait(), 10)

    try:
        yield arrived
    finally:
        server.hold.set()
        server.hold = None
