"""The aiohttp.web application: routing, auth, faults, latency, error envelopes and stats.

Order of checks for every request (and so what a client sees first):

1. Unknown path: 404. A known path with a method other than GET: 405 (``Allow: GET``).
2. Missing or wrong ``Authorization: Bearer`` key: 401 (compared in constant time; the
   message never repeats the key). A project key (``sk-proj-…``): 403, missing scope.
3. Latency (``asyncio.sleep``), then faults, drawn from ``random.Random(faults.seed)``:
   faults hit authenticated requests to real endpoints, before their parameters are checked,
   as a rate limiter or a load balancer in front of the real API would.
4. A directory path naming an unknown project: 404. Parameters: 400 with the parameter
   named. 5. The page.

Every response, error or not, carries ``x-request-id: req_<32 hex>`` and a ``Date`` from the
emulator's clock; every error body is the API's envelope
``{"error": {"message", "type", "param", "code"}}``.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

import asyncio
import email.utils
import hmac
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import orjson
from aiohttp import web

from .._endpoints import ENDPOINTS, LIST_ENDPOINTS, Endpoint, ListEndpoint
from .._time import utc_datetime
from ._catalog import ORGANIZATION
from ._directory import Directory
from ._late import LateData
from ._pages import PageMaker
from ._query import WireError, parse_query
from ._spike import Spike

__all__ = ["STATS_KEY", "Faults", "Stats", "build_app"]

logger = logging.getLogger("usage_async.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Query = list[tuple[str, str]]


def _probability(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"Faults.{attribute.name} must be a probability in [0, 1], got {value!r}")


@attrs.frozen
class Faults:
    """Failures to inject, as probabilities per request (they must sum to at most 1).

    ``rate_limit``: a 429 asking for ``retry_after_ms`` milliseconds, in both headers the live
    API sends: ``retry-after-ms`` exactly, and ``retry-after`` in whole seconds (HTTP allows
    no fractions there), rounded up and at least 1. ``server_error``: a 500, 502 or 503 with
    the error envelope. ``disconnect``: the connection is closed without a response. All draws
    come from ``random.Random(seed)``, so a sequential run can be replayed exactly.
    """

    rate_limit: float = attrs.field(default=0.0, validator=_probability)
    server_error: float = attrs.field(default=0.0, validator=_probability)
    disconnect: float = attrs.field(default=0.0, validator=_probability)
    seed: int = 0
    retry_after_ms: int = attrs.field(default=20, validator=attrs.validators.ge(0))

    def __attrs_post_init__(self) -> None:
        if self.rate_limit + self.server_error + self.disconnect > 1.0:
            raise ValueError("Faults probabilities must sum to at most 1")


@attrs.define
class Stats:
    """What the emulator served: requests, responses by status, faults by kind.

    ``faults`` counts ``rate_limit``, ``server_error`` and ``disconnect``; a dropped
    connection has no status, so it is only there. ``cache_hits`` counts pages served from
    the rendered-page cache.
    """

    requests: int = 0
    by_status: Counter[int] = attrs.field(factory=Counter)
    by_endpoint: Counter[str] = attrs.field(factory=Counter)
    faults: Counter[str] = attrs.field(factory=Counter)
    cache_hits: int = 0

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy, for reports and assertions."""
        return {
            "requests": self.requests,
            "by_status": dict(self.by_status),
            "by_endpoint": dict(self.by_endpoint),
            "faults": dict(self.faults),
            "cache_hits": self.cache_hits,
        }


STATS_KEY = web.AppKey("usage_emulator_stats", Stats)
"""Where an app made by ``create_app`` keeps its ``Stats``: ``app[STATS_KEY]``."""


class _Dropped(web.Response):
    """The "response" of a dropped connection: its transport is closed, nothing is sent."""


def _http_date(now: float) -> str:
    """An HTTP date (RFC 9110 IMF-fixdate): ``Sun, 01 Mar 2026 12:34:56 GMT``."""
    return email.utils.format_datetime(utc_datetime(int(now)), usegmt=True)


def _retry_after_headers(ms: int) -> dict[str, str]:
    """A 429's wait: exact in ``retry-after-ms``; whole seconds, rounded up, in ``retry-after``."""
    return {"retry-after-ms": str(ms), "retry-after": str(max(1, -(-ms // 1000)))}


def _error_body(error: WireError) -> bytes:
    return orjson.dumps(
        {
            "error": {
                "message": error.message,
                "type": error.type,
                "param": error.param,
                "code": error.code,
            }
        }
    )


def _error_response(error: WireError) -> web.Response:
    return web.Response(
        status=error.status,
        body=_error_body(error),
        content_type="application/json",
        headers=error.headers,
    )


class _Emulator:
    """The request handlers of one app, with its configuration and state."""

    def __init__(
        self,
        *,
        api_key: str,
        seed: int,
        latency: float,
        faults: Faults | None,
        now: Callable[[], float],
        late: LateData | None,
        stats: Stats,
        spike: Spike | None = None,
    ) -> None:
        self._key = api_key.encode()
        self._latency = latency
        self._faults = faults
        self._fault_rng = random.Random(faults.seed if faults else 0)
        self._now = now
        self._pages = PageMaker(seed, late=late, spike=spike)
        self._directory = Directory(ORGANIZATION)
        self.stats = stats

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.stats.requests += 1
        request_id = "req_" + secrets.token_hex(16)
        try:
            response = await handler(request)
        except WireError as error:
            response = _error_response(error)
        except web.HTTPException as http:
            # aiohttp's own refusals (a malformed request line, say) also get the envelope.
            response = _error_response(
                WireError(http.reason, status=http.status, type="invalid_request_error")
            )
        if not isinstance(response, _Dropped):
            response.headers["x-request-id"] = request_id
            # The emulator's clock, not the machine's: a client may learn the server's time
            # from it. aiohttp adds its own Date only when the response has none.
            response.headers["Date"] = _http_date(self._now())
            self.stats.by_status[response.status] += 1
        return response

    def _authenticate(self, request: web.Request, scope: str) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not key.strip():
            raise WireError(
                "You didn't provide an API key. You need to provide your admin API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                status=401,
            )
        key = key.strip()
        # surrogatepass: a header aiohttp decoded with escapes must not raise, only mismatch.
        if hmac.compare_digest(key.encode("utf-8", "surrogatepass"), self._key):
            return
        if key.startswith("sk-proj-"):
            raise WireError(
                f"You have insufficient permissions for this operation. Missing scopes: "
                f"{scope}. Check that you are using an admin key.",
                status=403,
            )
        raise WireError(
            "Incorrect API key provided. You can find your admin keys in your organization "
            "settings.",
            status=401,
            code="invalid_api_key",
        )

    def _fault(self, request: web.Request) -> web.Response | None:
        faults = self._faults
        if faults is None:
            return None
        draw = self._fault_rng.random()
        if draw < faults.rate_limit:
            self.stats.faults["rate_limit"] += 1
            return _error_response(
                WireError(
                    "Rate limit reached for requests to the usage API. Please try again shortly.",
                    status=429,
                    type="requests",
                    code="rate_limit_exceeded",
                    headers=_retry_after_headers(faults.retry_after_ms),
                )
            )
        draw -= faults.rate_limit
        if draw < faults.server_error:
            self.stats.faults["server_error"] += 1
            return _error_response(
                WireError(
                    "The server had an error while processing your request. Sorry about that!",
                    status=self._fault_rng.choice((500, 502, 503)),
                    type="server_error",
                )
            )
        draw -= faults.server_error
        if draw < faults.disconnect:
            self.stats.faults["disconnect"] += 1
            transport = request.transport
            if transport is not None:
                transport.close()
            # Nothing reaches the client: the transport is gone before aiohttp writes this.
            return _Dropped(status=204)
        return None

    def _handler(
        self, name: str, path: str, scope: str, answer: Callable[[web.Request, Query], bytes]
    ) -> Handler:
        """A route's handler: the checks every endpoint shares, then ``answer``'s body."""

        async def handle(request: web.Request) -> web.StreamResponse:
            if request.method != "GET":
                raise WireError(
                    f"Method {request.method} is not allowed on {path}; use GET.",
                    status=405,
                    headers={"Allow": "GET"},
                )
            self._authenticate(request, scope)
            self.stats.by_endpoint[name] += 1
            if self._latency > 0:
                await asyncio.sleep(self._latency)
            fault = self._fault(request)
            if fault is not None:
                return fault
            try:
                items = list(request.query.items())
            except (UnicodeDecodeError, ValueError) as exc:
                raise WireError(f"The query string could not be decoded: {exc}") from None
            return web.Response(body=answer(request, items), content_type="application/json")

        return handle

    def endpoint_handler(self, endpoint: Endpoint) -> Handler:
        def answer(request: web.Request, items: Query) -> bytes:
            body, cached = self._pages.render(parse_query(endpoint, items), self._now())
            if cached:
                self.stats.cache_hits += 1
            return body

        return self._handler(endpoint.name, endpoint.path, "api.usage.read", answer)

    def directory_handler(self, listing: ListEndpoint) -> Handler:
        def answer(request: web.Request, items: Query) -> bytes:
            return self._directory.render(listing, request.match_info.get("project_id", ""), items)

        return self._handler(listing.name, listing.path, "api.organization.read", answer)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        raise WireError(
            f"Invalid URL ({request.method} {request.path}).", status=404, code="unknown_url"
        )


def build_app(
    *,
    api_key: str,
    seed: int,
    latency: float,
    faults: Faults | None,
    now: Callable[[], float] | None,
    late: LateData | None,
    spike: Spike | None = None,
) -> web.Application:
    """The application, its routes under ``/v1``; see ``create_app`` for the options."""
    if not api_key or api_key != api_key.strip():
        raise ValueError("api_key must be a non-empty string without surrounding spaces")
    if isinstance(latency, bool) or not latency >= 0:
        raise ValueError(f"latency must be a non-negative number of seconds, got {latency!r}")
    stats = Stats()
    emulator = _Emulator(
        api_key=api_key,
        seed=seed,
        latency=float(latency),
        faults=faults,
        now=now or time.time,
        late=late,
        stats=stats,
        spike=spike,
    )
    app = web.Application(middlewares=[emulator.middleware])
    app[STATS_KEY] = stats
    for endpoint in ENDPOINTS.values():
        app.router.add_route("*", "/v1" + endpoint.path, emulator.endpoint_handler(endpoint))
    for listing in LIST_ENDPOINTS.values():
        app.router.add_route("*", "/v1" + listing.path, emulator.directory_handler(listing))
    app.router.add_route("*", "/{tail:.*}", emulator.not_found)
    return app
