"""Shared data for the FOCUS tests: 60 days of the emulator's costs, exported once.

The emulator's clock is pinned, so every run exports the same rows. ``Names`` stands in for
``client.directory()`` (it knows the emulator's projects), and ``costs_server`` serves
hand-written cost rows for what the emulator never sends (the live API's extra fields, rows
without a quantity, a line item or an amount).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import attrs
import orjson
import pytest
from aiohttp import web

import usage_async as ua
from usage_async.emulator import ORGANIZATION, serve
from usage_async.focus import focus_rows, write_focus

# The command-line tests' emulator (in a thread) and in-process runner.
from ..cli.conftest import cli, emulator, environment  # noqa: F401
from ..servers import app_url

NOW = 1_772_368_496  # 2026-03-01T12:34:56Z
END = NOW - NOW % 86400  # 2026-03-01T00:00:00Z
START = END - 60 * 86400  # 2025-12-31T00:00:00Z: 60 whole days over three billing months
GROUP_BY = ["line_item", "project_id"]
# The emulator's cost rows name their organization, as the live API's do; a given billing
# account is only the fallback for rows that do not (the hand-written rows below).
ACCOUNT = ORGANIZATION.id
ACCOUNT_NAME = ORGANIZATION.name


class Names:
    """A directory stub: the emulator's project names by id."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self.names = (
            dict(names) if names is not None else {p.id: p.name for p in ORGANIZATION.projects}
        )
        self.asked: list[str] = []

    def project_name(self, project_id: str) -> str | None:
        self.asked.append(project_id)
        return self.names.get(project_id)


@attrs.frozen
class Export:
    """One export of the emulator's 60 days: the CSV text, its rows, and what the API sent."""

    csv_text: str
    header: list[str]
    rows: list[dict[str, str]]
    summary: ua.FocusSummary
    buckets: list[ua.Bucket[ua.CostsResult]]


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    return header, [dict(zip(header, line, strict=True)) for line in reader]


async def export_emulator_csv() -> Export:
    async with (
        serve(port=0, now=lambda: NOW) as pinned,
        ua.UsageClient(pinned.api_key, base_url=pinned.base_url) as client,
    ):
        params: dict[str, Any] = {"start_time": START, "end_time": END, "group_by": GROUP_BY}
        rows = focus_rows(
            client.costs(**params, concurrency=4),
            directory=Names(),
            billing_account_id=ACCOUNT,
            billing_account_name=ACCOUNT_NAME,
        )
        out = io.StringIO()
        await write_focus(rows, out)
        buckets = await client.costs(**params).collect()
    header, parsed = read_csv(out.getvalue())
    return Export(out.getvalue(), header, parsed, rows.summary, buckets)


@pytest.fixture(scope="session")
def emulator_export() -> Export:
    return asyncio.run(export_emulator_csv())


# --- A server of hand-written cost rows ---------------------------------------------------------

DAY = 86400
JAN_30 = 1_769_731_200  # 2026-01-30T00:00:00Z


def cost(value: Any = "1.5", **fields: Any) -> dict[str, Any]:
    """A costs result as the live API sends it (``value=None``: no amount at all)."""
    row: dict[str, Any] = {"object": "organization.costs.result"}
    if value is not None:
        row["amount"] = {"value": value, "currency": "usd"}
    return {**row, **fields}


@attrs.define
class CostsServer:
    base_url: str
    key: str = "sk-admin-focus-tests"
    requests: int = 0
    projects_status: int = 404  # what /organization/projects answers (the aiohttp default)


@pytest.fixture
async def costs_server() -> AsyncIterator[
    Callable[[Sequence[Sequence[dict[str, Any]]]], CostsServer]
]:
    """Serve ``days`` (one list of cost results per day from 2026-01-30) as one page."""
    servers = contextlib.AsyncExitStack()

    async def start(days: Sequence[Sequence[dict[str, Any]]]) -> CostsServer:
        server = CostsServer(base_url="")

        async def costs(request: web.Request) -> web.Response:
            server.requests += 1
            data = [
                {
                    "object": "bucket",
                    "start_time": JAN_30 + i * DAY,
                    "end_time": JAN_30 + (i + 1) * DAY,
                    "results": list(results),
                }
                for i, results in enumerate(days)
            ]
            body = {"object": "page", "data": data, "has_more": False, "next_page": None}
            return web.Response(body=orjson.dumps(body), content_type="application/json")

        async def projects(request: web.Request) -> web.Response:
            error = {"message": "this key may not list projects", "type": "invalid_request_error"}
            body = {"error": {**error, "param": None, "code": None}}
            return web.json_response(body, status=server.projects_status)

        app = web.Application()
        app.router.add_get("/v1/organization/costs", costs)
        app.router.add_get("/v1/organization/projects", projects)
        server.base_url = await servers.enter_async_context(app_url(app))
        return server

    async with servers:
        yield start


async def export_from(
    server: CostsServer, **options: Any
) -> tuple[list[dict[str, Any]], ua.FocusSummary]:
    """The FOCUS rows (as dicts) of everything ``server`` serves, and the summary."""
    organization = options.pop("organization", None)
    async with ua.UsageClient(
        server.key, base_url=server.base_url, organization=organization
    ) as client:
        rows = focus_rows(client.costs(start_time=JAN_30, group_by=GROUP_BY), **options)
        return [row async for row in rows], rows.summary
