"""Small servers of our own that answer the usage API differently from our emulator.

The emulator shares the client's assumptions, so tests of behaviour that depends on how the
live API behaves also run against these: servers that align buckets another way, whose
clock is not ours, or that break the paging rules outright.
"""

from __future__ import annotations

import contextlib
import email.utils
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import attrs
import pytest
from aiohttp import web

BUCKET = {"1m": 60, "1h": 3600, "1d": 86400}
DEFAULT_LIMIT = {"1m": 60, "1h": 24, "1d": 7}

Alignment = Literal["exact", "floor", "partial-first"]


def metric(start: int) -> int:
    """A result value that depends only on the bucket's start: equal buckets, equal values."""
    return (start // 60) % 9973 + 1


@attrs.define
class GridServer:
    """Answers ``/organization/usage/completions`` (and costs) from a bucket grid.

    ``alignment`` says where the first bucket of a range starts: ``exact`` at ``start_time``
    (the live usage API), ``floor`` at ``start_time`` floored to the grid of the width (the
    live costs API; some proxies do it for usage), ``partial-first`` at ``start_time`` but
    ending at the next grid line, whole grid buckets after it. ``now`` is the server's clock
    (sent in ``Date``); open ranges end at it, with a cut-short last bucket, and a future
    ``end_time`` is clamped to it. Cursors are the offset of the next bucket.
    """

    alignment: Alignment = "exact"
    now: Callable[[], int] = lambda: 1_772_368_496
    ignore_end: bool = False  # answer as if no end_time were sent (a clock running ahead)
    requests: list[dict[str, str]] = attrs.field(factory=list)

    def edges(self, start: int, end: int, width: int) -> list[int]:
        first = start if self.alignment == "exact" else start - start % width
        points = [first]
        if self.alignment == "partial-first" and start % width:
            points = [start]
            nxt = start - start % width + width
        else:
            nxt = first + width
        while points[-1] < end:
            points.append(min(nxt, end))
            nxt += width
        return points

    async def handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append(query)
        width_name = query.get("bucket_width", "1d")
        width = BUCKET[width_name]
        start = int(query["start_time"])
        now = self.now()
        end = min(int(query["end_time"]), now) if "end_time" in query else now
        if self.ignore_end:
            end = now
        limit = int(query.get("limit", DEFAULT_LIMIT[width_name]))
        edges = self.edges(start, end, width) if end > start else [start]
        offset = int(query.get("page", "0"))
        chosen = list(itertools.pairwise(edges))[offset : offset + limit]
        more = offset + limit < len(edges) - 1
        body = {
            "object": "page",
            "data": [
                {
                    "object": "bucket",
                    "start_time": s,
                    "end_time": e,
                    "results": [
                        {
                            "object": "organization.usage.completions.result",
                            "input_tokens": metric(s) * (e - s),
                            "output_tokens": 1,
                            "num_model_requests": 1,
                        }
                    ],
                }
                for s, e in chosen
            ],
            "has_more": more,
            "next_page": str(offset + limit) if more else None,
        }
        headers = {
            "x-request-id": f"req_{len(self.requests)}",
            "Date": email.utils.formatdate(now, usegmt=True),
        }
        return web.json_response(body, headers=headers)


@attrs.define
class Served:
    base_url: str
    requests: list[web.Request]


Handler = Callable[[web.Request], Any]


@contextlib.asynccontextmanager
async def app_url(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a loopback port for the block; yields its base URL (``.../v1``)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/v1"
    finally:
        await runner.cleanup()


@pytest.fixture
async def serve_app() -> AsyncIterator[Callable[[Handler], Any]]:
    """Start ``handler`` on a loopback port for every GET; returns where, and what it saw."""
    async with contextlib.AsyncExitStack() as servers:

        async def start(handler: Handler) -> Served:
            seen: list[web.Request] = []

            async def recording(request: web.Request) -> web.StreamResponse:
                seen.append(request)
                response: web.StreamResponse = await handler(request)
                return response

            app = web.Application()
            app.router.add_route("GET", "/{tail:.*}", recording)
            return Served(await servers.enter_async_context(app_url(app)), seen)

        yield start
