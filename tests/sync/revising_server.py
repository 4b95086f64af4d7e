"""A tiny stand-in for the Usage API whose numbers a test changes between two syncs.

The real API revises buckets after they close (late data); until the emulator can, this
server serves ``completions`` (hourly) and ``costs`` (daily) from plain dicts a test edits:
``usage[(hour_start, model, project_id)] = input_tokens`` and
``costs[(day_start, project_id)] = Decimal(amount)``. It follows the API's rules that a sync
relies on: buckets from ``start_time`` (costs: from UTC midnight), a partial last bucket
ending at ``now``, ``limit`` buckets per page, cursors, and grouping (ungrouped fields null).
"""

from __future__ import annotations

import contextlib
import decimal
import email.utils
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from ..servers import app_url

KEY = "sk-admin-revising"
WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}


class RevisingServer:
    """The data, the clock, and endpoints that fail on purpose (HTTP 400)."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.usage: dict[tuple[int, str, str], int] = {}
        self.costs: dict[tuple[int, str], Decimal] = {}
        # Raw results added to every costs bucket as they are (e.g. ones that cannot be typed).
        self.stray_costs: list[dict[str, Any]] = []
        self.failing: set[str] = set()
        # Endpoints the key may not read (HTTP 403, as the live API answers a key without
        # the scope): a costs-only key has "completions" here.
        self.forbidden: set[str] = set()
        # Ranges starting before this instant fail (HTTP 400), as a run dying partway into
        # older history would.
        self.refuse_before: int | None = None
        # False: no Date header, as from a proxy that drops it (the client reads its clock
        # off the data then).
        self.dated = True
        # Every data request's endpoint and query, in order.
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.api_key = KEY
        self.base_url = ""

    def _bucket_edges(self, query: Any, whole_days: bool) -> tuple[list[int], bool, int]:
        start = int(query["start_time"])
        width = WIDTHS[query.get("bucket_width", "1d")]
        origin = start - start % 86400 if whole_days else start
        end = min(int(query.get("end_time", self.now)), self.now)
        total = max(0, -(-(end - origin) // width))
        offset = int(query.get("page", 0))
        limit = int(query.get("limit", 7))
        last = min(offset + limit, total)
        edges = [origin + i * width for i in range(offset, last)]
        if edges:
            edges.append(min(origin + last * width, end))
        return edges, last < total, last

    async def completions(self, request: web.Request) -> web.Response:
        return self._page(request, whole_days=False)

    async def costs_page(self, request: web.Request) -> web.Response:
        return self._page(request, whole_days=True)

    def _page(self, request: web.Request, whole_days: bool) -> web.Response:
        name = "costs" if whole_days else "completions"
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        self.requests.append((name, dict(request.query)))
        if name in self.forbidden:
            body = {
                "error": {
                    "message": "You have insufficient permissions for this operation. "
                    "Missing scopes: api.usage.read.",
                    "type": "invalid_request_error",
                }
            }
            return web.json_response(body, status=403)
        too_old = self.refuse_before is not None and int(request.query["start_time"]) < (
            self.refuse_before
        )
        if name in self.failing or too_old:
            body = {"error": {"message": f"{name} is failing on purpose", "type": "test"}}
            return web.json_response(body, status=400)
        query = request.query
        group_by = set(query.getall("group_by[]", []))
        edges, has_more, last = self._bucket_edges(query, whole_days)
        data = []
        for start, end in itertools.pairwise(edges):
            data.append(
                {
                    "object": "bucket",
                    "start_time": start,
                    "end_time": end,
                    "results": self._costs(start, end, group_by)
                    if whole_days
                    else self._usage(start, end, group_by),
                }
            )
        page = {
            "object": "page",
            "data": data,
            "has_more": has_more,
            "next_page": str(last) if has_more else None,
        }
        # Dated by its own clock, as the live API's responses are by theirs.
        date = email.utils.formatdate(self.now, usegmt=True)
        return web.Response(
            body=orjson.dumps(page), content_type="application/json", headers={"Date": date}
        )

    def _usage(self, start: int, end: int, group_by: set[str]) -> list[dict[str, Any]]:
        sums: dict[tuple[str | None, str | None], int] = {}
        for (hour, model, project), tokens in self.usage.items():
            if start <= hour < end:
                key = (
                    model if "model" in group_by else None,
                    project if "project_id" in group_by else None,
                )
                sums[key] = sums.get(key, 0) + tokens
        return [
            {
                "object": "organization.usage.completions.result",
                "input_tokens": tokens,
                "output_tokens": 0,
                "num_model_requests": 1,
                "model": model,
                "project_id": project,
            }
            for (model, project), tokens in sorted(sums.items(), key=repr)
        ]

    def _costs(self, start: int, end: int, group_by: set[str]) -> list[dict[str, Any]]:
        sums: dict[str | None, Decimal] = {}
        exact = decimal.Context(prec=decimal.MAX_PREC)  # + in the default context rounds
        for (day, project), amount in self.costs.items():
            if start <= day < end:
                key = project if "project_id" in group_by else None
                sums[key] = exact.add(sums.get(key, Decimal(0)), amount)
        return [
            {
                "object": "organization.costs.result",
                "amount": {"value": str(amount), "currency": "usd"},
                "project_id": project,
            }
            for project, amount in sorted(sums.items(), key=repr)
        ] + self.stray_costs


@contextlib.asynccontextmanager
async def serve_revising(now: int) -> AsyncIterator[RevisingServer]:
    """Run a ``RevisingServer`` on a free loopback port for the ``async with``."""
    server = RevisingServer(now)
    app = web.Application()

    async def undated(request: web.Request, response: web.StreamResponse) -> None:
        if not server.dated:
            response.headers.popall("Date", None)  # aiohttp adds one of its own

    app.on_response_prepare.append(undated)
    app.router.add_get("/v1/organization/usage/completions", server.completions)
    app.router.add_get("/v1/organization/costs", server.costs_page)
    async with app_url(app) as server.base_url:
        yield server
