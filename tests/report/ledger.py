"""A small API server of our own with hand-made costs and completions, for exact totals.

Our emulator shares the library's assumptions, so the report is also checked against this
server, whose every charge is written out below and whose totals are worked out by hand in
the tests. It answers as the live API does where the report depends on it: costs buckets are
whole UTC days from midnight of ``start_time``, ranges end at the server's clock (sent in
``Date``), results are summed per requested ``group_by`` with the other fields null, and
costs grouped by ``api_key_id`` for a range that starts before 2025-12-06 are refused with
the live API's 400. It also serves the directory lists the report names things from.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import email.utils
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs
from aiohttp import web

from ..servers import app_url

DAY = 86400
KEY = "sk-admin-ledger-tests"


def utc(text: str) -> int:
    """Unix seconds of an ISO date or datetime, read as UTC."""
    return calendar.timegm(dt.datetime.fromisoformat(text).timetuple())


KEYS_GROUPING_SINCE = utc("2025-12-06")
START = utc("2025-12-01")
END = utc("2025-12-11")
NOW = utc("2025-12-10T12:00:00")  # the server's clock: 12-08, 12-09 and 12-10 are provisional
ORGANIZATION = 'Ledger & Co "<b>"'

SCRIPT_NAME = "<script>alert(1)</script>"
MULLER_NAME = 'Müller & "Sons"'
PROJECTS = {
    "proj_web": "Web shop",
    "proj_evil": SCRIPT_NAME,
    "proj_muller": MULLER_NAME,
    "proj_tiny": "Tiny",
}
USERS = {"user_ann": "ann@example.com", "user_bob": "bob@example.com"}
API_KEYS = {"key_a": ("proj_web", "checkout key"), "key_b": ("proj_muller", "batch key")}


@attrs.frozen
class Charge:
    day: str
    project_id: str | None
    line_item: str
    user_id: str | None
    api_key_id: str | None
    amount: str  # as the live API sends it: a decimal string


CHARGES = (
    Charge("2025-12-01", "proj_web", "gpt-4o, input", "user_ann", "key_a", "100.004"),
    Charge("2025-12-01", "proj_web", "gpt-4o, output", "user_ann", "key_a", "50.003"),
    Charge(
        "2025-12-02",
        "proj_evil",
        "gpt-4o, input",
        "user_bob",
        None,
        "0.004500000000000000000000000000000000000",
    ),
    Charge("2025-12-03", "proj_muller", "images", "user_bob", "key_b", "1000.005"),
    # Three half cents: rounded one by one they show 0.03, but they add up to 0.015 (0.02).
    Charge("2025-12-04", "proj_tiny", "file search", "user_ann", None, "0.005"),
    Charge("2025-12-04", "proj_tiny", "vector storage", "user_ann", None, "0.005"),
    Charge("2025-12-04", "proj_tiny", "web search", "user_ann", None, "0.005"),
    Charge("2025-12-05", "proj_web", "gpt-4o, input", "user_ann", "key_a", "20.001"),
    Charge("2025-12-06", "proj_web", "gpt-4o, input", "user_ann", "key_a", "30.002"),
    Charge("2025-12-06", None, "support plan", None, None, "99.99"),
    Charge("2025-12-07", "proj_muller", "gpt-4o, output", None, "key_b", "7.5"),
    Charge("2025-12-09", "proj_evil", "images", "user_bob", None, "2.25"),
    Charge("2025-12-10", "proj_web", "gpt-4o, input", "user_ann", "key_a", "1.1"),
)


@attrs.frozen
class Completion:
    day: str
    project_id: str
    model: str
    input_tokens: int
    output_tokens: int
    num_model_requests: int


COMPLETIONS = (
    Completion("2025-12-01", "proj_web", "gpt-4o", 1000, 500, 10),
    Completion("2025-12-02", "proj_web", "gpt-4o-mini", 2_000_000, 30_000, 200),
    Completion("2025-12-06", "proj_muller", "gpt-4o", 1_234_567, 7_654, 33),
)

USAGE_OBJECTS = {
    "completions": "organization.usage.completions.result",
}


def _error(status: int, message: str, param: str | None) -> web.Response:
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": None,
        }
    }
    return web.json_response(body, status=status, headers={"x-request-id": "req_ledger"})


def _grouped(
    records: Sequence[Any], group_by: Sequence[str], fields: Sequence[str]
) -> dict[tuple[Any, ...], list[Any]]:
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for record in records:
        key = tuple(getattr(record, f) if f in group_by else None for f in fields)
        groups.setdefault(key, []).append(record)
    return groups


@attrs.define
class Ledger:
    """The server's data and what it was asked; ``app()`` is the aiohttp application."""

    charges: Sequence[Charge] = CHARGES
    completions: Sequence[Completion] = COMPLETIONS
    now: int = NOW
    refuse_key_grouping: bool = True
    # Paths answered 404 (missing) or 403 (forbidden), and costs groupings answered 400.
    missing: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    broken: frozenset[str] = frozenset()
    # Projects left out of the directory, and names the costs rows carry (the live API's extra
    # ``project_name``).
    unlisted: frozenset[str] = frozenset()
    row_names: dict[str, str] = attrs.field(factory=dict)
    queries: list[tuple[str, dict[str, Any]]] = attrs.field(factory=list)

    def app(self) -> web.Application:
        @web.middleware
        async def refusing(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.path in self.missing:
                return _error(404, f"No such path {request.path}", None)
            if request.path in self.forbidden:
                return _error(403, "Missing scopes: api.management.read", None)
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[refusing])
        app.router.add_get("/v1/organization/costs", self.costs)
        app.router.add_get("/v1/organization/usage/{name}", self.usage)
        app.router.add_get("/v1/organization/projects", self.projects)
        app.router.add_get("/v1/organization/users", self.users)
        app.router.add_get("/v1/organization/projects/{project}/api_keys", self.api_keys)
        return app

    def _record(self, request: web.Request) -> dict[str, Any]:
        query: dict[str, Any] = {k: v for k, v in request.query.items() if k != "group_by[]"}
        query["group_by"] = request.query.getall("group_by[]", [])
        self.queries.append((request.path, query))
        return query

    def _page(
        self,
        query: dict[str, Any],
        days: list[tuple[int, int]],
        results: Callable[[int], list[dict[str, Any]]],
    ) -> web.Response:
        limit = int(query.get("limit", 7))
        offset = int(query.get("page", 0))
        chosen = days[offset : offset + limit]
        more = offset + limit < len(days)
        body = {
            "object": "page",
            "data": [
                {"object": "bucket", "start_time": s, "end_time": e, "results": results(s)}
                for s, e in chosen
            ],
            "has_more": more,
            "next_page": str(offset + limit) if more else None,
        }
        headers = {
            "x-request-id": "req_ledger",
            "Date": email.utils.formatdate(self.now, usegmt=True),
        }
        return web.json_response(body, headers=headers)

    def _end(self, query: dict[str, Any]) -> int:
        end = int(query["end_time"]) if "end_time" in query else self.now
        return min(end, self.now)

    async def costs(self, request: web.Request) -> web.Response:
        query = self._record(request)
        start = int(query["start_time"])
        start -= start % DAY
        group_by = query["group_by"]
        if set(group_by) & self.broken:
            return _error(400, f"Invalid group_by {group_by}", "group_by")
        if self.refuse_key_grouping and "api_key_id" in group_by and start < KEYS_GROUPING_SINCE:
            return _error(
                400,
                "Grouping costs by api_key_id is only supported for time ranges starting on "
                "or after 2025-12-06.",
                "group_by",
            )
        end = self._end(query)
        days = [(d, d + DAY) for d in range(start, end, DAY)]
        fields = ("project_id", "line_item", "user_id", "api_key_id")

        def results(day: int) -> list[dict[str, Any]]:
            today = [c for c in self.charges if utc(c.day) == day]
            out = []
            for key, charges in _grouped(today, group_by, fields).items():
                total = sum((Decimal(c.amount) for c in charges), Decimal(0))
                out.append(
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": str(total), "currency": "usd"},
                        **dict(zip(fields, key, strict=True)),
                        **(
                            {"project_name": self.row_names[key[0]]}
                            if key[0] in self.row_names
                            else {}
                        ),
                        "organization_id": "org-ledger",
                        "organization_name": ORGANIZATION,
                    }
                )
            return out

        return self._page(query, days, results)

    async def usage(self, request: web.Request) -> web.Response:
        query = self._record(request)
        name = request.match_info["name"]
        start = int(query["start_time"])
        end = self._end(query)
        edges = [*range(start, end, DAY), end]
        days = list(itertools.pairwise(edges))
        fields = ("project_id", "model")

        def results(day: int) -> list[dict[str, Any]]:
            if name != "completions":
                return []
            today = [c for c in self.completions if utc(c.day) == day]
            return [
                {
                    "object": USAGE_OBJECTS[name],
                    "input_tokens": sum(c.input_tokens for c in group),
                    "output_tokens": sum(c.output_tokens for c in group),
                    "num_model_requests": sum(c.num_model_requests for c in group),
                    **dict(zip(fields, key, strict=True)),
                }
                for key, group in _grouped(today, query["group_by"], fields).items()
            ]

        return self._page(query, days, results)

    async def projects(self, request: web.Request) -> web.Response:
        self._record(request)
        return _list(
            {"object": "organization.project", "id": ident, "name": name, "created_at": START}
            for ident, name in PROJECTS.items()
            if ident not in self.unlisted
        )

    async def users(self, request: web.Request) -> web.Response:
        self._record(request)
        return _list(
            {"object": "organization.user", "id": ident, "email": email, "added_at": START}
            for ident, email in USERS.items()
        )

    async def api_keys(self, request: web.Request) -> web.Response:
        self._record(request)
        project = request.match_info["project"]
        return _list(
            {
                "object": "organization.project.api_key",
                "id": ident,
                "name": name,
                "created_at": START,
            }
            for ident, (owner, name) in API_KEYS.items()
            if owner == project
        )


def _list(items: Any) -> web.Response:
    data = list(items)
    body = {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }
    return web.json_response(body, headers={"x-request-id": "req_ledger"})


def serve_ledger(ledger: Ledger) -> contextlib.AbstractAsyncContextManager[str]:
    """Serve ``ledger`` on a loopback port for the block; yields its base URL (``.../v1``)."""
    return app_url(ledger.app())
