"""An embedded, deterministic emulator of the organization Usage & Costs API.

It serves all twelve endpoints of ``ENDPOINTS`` over HTTP with the live API's parameters,
limits, bucket rules, cursors and error envelopes, for a made-up organization whose usage is
drawn from ``seed`` (same seed, same data) and stays consistent the way the real data is:
groupings, bucket widths and page sizes never change a total, and costs are priced from
usage. The organization's directory (projects, users, project API keys and service
accounts) is served too, so the IDs in the data have names. Use it to test code offline::

    from usage_async.emulator import serve

    async with serve(port=0) as emu:
        async with UsageClient(emu.api_key, base_url=emu.base_url) as client:
            ...

``create_app`` gives the ``aiohttp.web.Application`` to mount elsewhere, ``Faults`` injects
429s, 5xxs and dropped connections, ``LateData`` makes usage settle and costs arrive late,
``Spike`` plants a cost spike (one project, one UTC day, 12x its ordinary activity: the
scenario budget anomaly detection must find), and ``emu.stats`` counts what was served.
The pytest fixtures ``usage_emulator`` and ``usage_client`` come from
``usage_async.pytest_plugin``.

Layer: a library over the core (the endpoint table and time only); never cli, sync or focus.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import attrs
from aiohttp import web

from ._app import STATS_KEY, Faults, Stats, build_app
from ._catalog import (
    ORGANIZATION,
    ApiKey,
    Organization,
    Project,
    ServiceAccount,
    User,
    VectorStore,
)
from ._late import LateData
from ._spike import Spike

__all__ = [
    "DEFAULT_API_KEY",
    "ORGANIZATION",
    "STATS_KEY",
    "ApiKey",
    "Emulator",
    "Faults",
    "LateData",
    "Organization",
    "Project",
    "ServiceAccount",
    "Spike",
    "Stats",
    "User",
    "VectorStore",
    "create_app",
    "serve",
    "serve_forever",
]

DEFAULT_API_KEY = "sk-admin-emulator"


def create_app(
    *,
    api_key: str = DEFAULT_API_KEY,
    seed: int = 0,
    latency: float = 0.0,
    faults: Faults | None = None,
    now: Callable[[], float] | None = None,
    late: LateData | None = None,
    spike: Spike | None = None,
) -> web.Application:
    """The emulator as an ``aiohttp.web.Application`` (routes under ``/v1``).

    Args:
        api_key: The only admin key accepted (``Authorization: Bearer <api_key>``).
        seed: Picks the organization's numbers; the same seed gives the same data and cursors.
        latency: Seconds to wait before answering each authenticated request.
        faults: Failures to inject; ``None`` for none.
        now: The clock (Unix seconds) that ends open ranges, clamps future ``end_time`` and
            dates every response (``Date``); default ``time.time``. A query's cursors carry
            the instant its first page was answered at, so its later pages see the same
            range. Pin it for reproducible tests.
        late: How late data arrives and how long it is revised (``LateData``); ``None`` for
            final data at once.
        spike: A cost spike to plant (``Spike``: one project, one day, 12x); ``None`` for the
            ordinary data.
    """
    return build_app(
        api_key=api_key, seed=seed, latency=latency, faults=faults, now=now, late=late, spike=spike
    )


@attrs.define(eq=False)
class Emulator:
    """A running emulator: where it listens, the key it accepts, and what it has served."""

    base_url: str
    api_key: str = attrs.field(repr=False)
    app: web.Application = attrs.field(repr=False)

    @property
    def stats(self) -> Stats:
        return self.app[STATS_KEY]


@contextlib.asynccontextmanager
async def serve(
    *,
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    seed: int = 0,
    latency: float = 0.0,
    faults: Faults | None = None,
    host: str = "127.0.0.1",
    now: Callable[[], float] | None = None,
    late: LateData | None = None,
    spike: Spike | None = None,
) -> AsyncIterator[Emulator]:
    """Run the emulator on ``host:port`` (``port=0``: any free port) for the ``async with``.

    Yields an ``Emulator`` whose ``base_url`` (``http://127.0.0.1:<port>/v1``) and
    ``api_key`` are what a client needs. Other options as for ``create_app``.
    """
    app = create_app(
        api_key=api_key, seed=seed, latency=latency, faults=faults, now=now, late=late, spike=spike
    )
    # access_log=None: a test suite's output should not fill with one line per request.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield Emulator(base_url=f"http://{shown}:{bound_port}/v1", api_key=api_key, app=app)
    finally:
        await runner.cleanup()


async def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8089,
    seed: int = 0,
    latency: float = 0.0,
    faults: Faults | None = None,
    api_key: str = DEFAULT_API_KEY,
    ready: Callable[[str], None] | None = None,
    late: LateData | None = None,
    spike: Spike | None = None,
) -> None:
    """Serve until cancelled (the CLI's ``usage-async emulator``); ``ready(base_url)`` once up.

    Options as for ``create_app``.
    """
    async with serve(
        host=host,
        port=port,
        seed=seed,
        latency=latency,
        faults=faults,
        api_key=api_key,
        late=late,
        spike=spike,
    ) as emulator:
        if ready is not None:
            ready(emulator.base_url)
        await asyncio.Event().wait()
