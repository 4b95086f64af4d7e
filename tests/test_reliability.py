"""Reliability against real sockets: hostile bodies, slow and failing servers, cancellation,
redirects, TLS, and fuzzed input. Only documented errors may escape.

The servers here are small aiohttp.web apps on loopback, each built to misbehave one way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
import trustme
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import usage_async as ua
from usage_async._convert import BucketDecoder, parse_body, read_envelope
from usage_async._protocol import validate

from .conftest import KEY, client_tasks
from .samples import bucket, page

START = 1_764_547_200
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    """One loopback server running ``handler``; counts requests and remembers their headers."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[web.Request] = []
        self.base_url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        return await self.handler(request)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> Server:
        server = Server(handler)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", server._handle)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        scheme = "https" if ssl_context else "http"
        server.base_url = f"{scheme}://127.0.0.1:{port}/v1"
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


def fast_client(server: Server, **kwargs: Any) -> ua.UsageClient:
    """A client whose retries do not actually wait."""
    kwargs.setdefault("max_retries", 2)
    client = ua.UsageClient(KEY, base_url=server.base_url, **kwargs)

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    client._sleep = no_wait
    return client


async def pull(client: ua.UsageClient) -> list[ua.Bucket[Any]]:
    async with client:
        return await client.completions(start_time=START).collect()


def responding(body: bytes, status: int = 200, **headers: str) -> Handler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(
            body=body, status=status, headers={"x-request-id": "req_hostile", **headers}
        )

    return handler


async def hanging(_: web.Request) -> web.Response:
    """A server that never answers in time (the test ends long before)."""
    await asyncio.sleep(30)
    return web.Response(body=b"{}")


# --- Hostile bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Gateway</body></html>", "not valid JSON"),
        (orjson.dumps(page([bucket(START)]))[:-20], "not valid JSON"),
        (b'{"error": "not a page"}', "'data' should be a list"),
        (
            orjson.dumps(page([{"start_time": "yesterday", "end_time": 1, "results": []}])),
            "start_time",
        ),
        (
            orjson.dumps(
                page([bucket(START, [{"object": "organization.usage.completions.result"}])])
            ),
            "missing required field 'input_tokens'",
        ),
    ],
)
async def test_a_200_with_a_hostile_body_raises_decode_error_with_the_request_id(
    serve: Callable[..., Awaitable[Server]], body: bytes, message: str
) -> None:
    server = await serve(responding(body))
    with pytest.raises(ua.DecodeError, match=message) as info:
        await pull(fast_client(server))
    assert info.value.request_id == "req_hostile"
    assert len(server.requests) == 1  # a body off the contract is not retried


async def test_a_body_over_max_body_size_is_refused_with_or_without_content_length(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    huge = b'{"data": [' + b" " * 5_000_000 + b"]}"
    server = await serve(responding(huge))
    with pytest.raises(ua.DecodeError, match="max_body_size"):
        await pull(fast_client(server, max_body_size=1_000_000))

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b" " * 100_000)
        await response.write_eof()
        return response

    server = await serve(chunked)
    with pytest.raises(ua.DecodeError, match="max_body_size"):
        await pull(fast_client(server, max_body_size=1_000_000))


async def test_a_body_cut_short_by_the_server_is_a_connection_error_and_is_retried(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    full = orjson.dumps(page([bucket(START)]))

    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(full))})
        await response.prepare(request)
        await response.write(full[:10])
        assert request.transport is not None
        request.transport.close()
        return response

    server = await serve(cut)
    with pytest.raises(ua.APIConnectionError):
        await pull(fast_client(server, max_retries=2))
    assert len(server.requests) == 3


# --- Failing and slow servers ------------------------------------------------------------------


async def test_a_server_that_always_fails_is_tried_max_retries_plus_one_times(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(responding(b'{"error": {"message": "down"}}', status=502))
    with pytest.raises(ua.InternalServerError) as info:
        await pull(fast_client(server, max_retries=4))
    assert info.value.status_code == 502
    assert info.value.request_id == "req_hostile"
    assert len(server.requests) == 5


async def test_a_slow_server_surfaces_api_timeout_after_the_configured_attempts(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(hanging)
    with pytest.raises(ua.APITimeoutError):
        await pull(fast_client(server, timeout=0.05, max_retries=1))
    assert len(server.requests) == 2


async def test_a_retry_deadline_bounds_the_whole_page(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(responding(b"{}", status=503))
    client = ua.UsageClient(KEY, base_url=server.base_url, max_retries=1000, retry_deadline=0.3)
    with pytest.raises(ua.APITimeoutError, match="retry_deadline"):
        await pull(client)
    assert 1 <= len(server.requests) < 1000


# --- Cancellation ------------------------------------------------------------------------------


def connections_in_use(session: aiohttp.ClientSession) -> int:
    connector = session.connector
    assert connector is not None
    return len(connector._acquired)  # test-only peek: connections checked out of the pool


async def cancel_soon(coro: Awaitable[Any], after: float = 0.1) -> None:
    task = asyncio.ensure_future(coro)
    await asyncio.sleep(after)
    task.cancel()
    async with asyncio.timeout(2):  # a hang detector, not a speed test
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_cancelling_mid_request_releases_the_connection_and_leaves_no_task(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(hanging)
    before = client_tasks()
    async with aiohttp.ClientSession() as session:
        client = ua.UsageClient(KEY, base_url=server.base_url, session=session)
        await cancel_soon(client.completions(start_time=START).collect())
        assert connections_in_use(session) == 0
        await client.close()
    assert client_tasks() == before


async def test_cancelling_mid_backoff_returns_at_once(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(responding(b"{}", status=503, **{"retry-after": "60"}))
    async with aiohttp.ClientSession() as session:
        client = ua.UsageClient(KEY, base_url=server.base_url, session=session)
        await cancel_soon(client.completions(start_time=START).collect(), after=0.2)
        assert len(server.requests) == 1
        assert connections_in_use(session) == 0


async def first_page_then_hang(request: web.Request) -> web.Response:
    """Answers a range's first page (seven days, more to come), then hangs on every window."""
    if "page" not in request.query and int(request.query["start_time"]) == START:
        return web.json_response(page([bucket(START + i * 86400) for i in range(7)], "c1"))
    return await hanging(request)


async def test_cancelling_a_sharded_pull_cancels_every_window(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(first_page_then_hang)
    before = client_tasks()
    async with aiohttp.ClientSession() as session:
        client = ua.UsageClient(KEY, base_url=server.base_url, session=session)
        stream = client.completions(
            start_time=START, end_time=START + 60 * 86400, bucket_width="1d", concurrency=4
        )
        await cancel_soon(stream.collect())
        assert len(server.requests) == 1 + 4  # the first page, then four windows at once
        assert connections_in_use(session) == 0
    assert client_tasks() == before


# --- Redirects and TLS -------------------------------------------------------------------------


async def test_a_redirect_is_never_followed_so_the_key_stays_home(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    elsewhere = await serve(responding(orjson.dumps(page([bucket(START)]))))

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(elsewhere.base_url + "/organization/usage/completions")

    home = await serve(redirect)
    with pytest.raises(ua.APIStatusError) as info:
        await pull(fast_client(home))
    assert info.value.status_code == 302
    assert elsewhere.requests == []


async def test_tls_certificates_are_verified(serve: Callable[..., Awaitable[Server]]) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = await serve(responding(orjson.dumps(page([bucket(START)]))), ssl_context=context)
    with pytest.raises(ua.APIConnectionError, match=r"(?i)certificate"):
        await pull(fast_client(server, max_retries=0))
    assert server.requests == []  # the handshake failed before any request was sent
    # With the authority trusted through a caller's session, the same server is fine.
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusted)) as session:
        client = ua.UsageClient(KEY, base_url=server.base_url, session=session)
        assert len(await pull(client)) == 1
    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"


# --- Fuzzing: only documented errors escape ----------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "has_more",
                    "next_page",
                    "start_time",
                    "end_time",
                    "results",
                    "result",
                    "object",
                    "input_tokens",
                    "output_tokens",
                    "num_model_requests",
                    "model",
                    "amount",
                    "value",
                    "currency",
                    "batch",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values, result_type=st.sampled_from([e.result_type for e in ua.ENDPOINTS.values()]))
def test_the_decoder_raises_only_decode_error_on_any_json(doc: Any, result_type: type) -> None:
    body = json.dumps(doc).encode()  # stdlib: it also writes integers beyond 64 bits
    error: ua.DecodeError | None = None
    try:
        data, _, _ = read_envelope(parse_body(body, "req_f"), "req_f")
        BucketDecoder(result_type).decode(data, 0, 10**6, "req_f")
    except ua.DecodeError as exc:
        error = exc
    assert error is None or error.request_id == "req_f"


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=64))
def test_the_decoder_raises_only_decode_error_on_any_bytes(body: bytes) -> None:
    with contextlib.suppress(ua.DecodeError):
        read_envelope(parse_body(body, None), None)


param_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 2_000_000_000),
    st.floats(),
    st.text(max_size=12),
    st.lists(st.text(max_size=12) | st.integers(), max_size=3),
    st.sampled_from(["1m", "1h", "1d", "model", "project_id", "1024x1024", "high"]),
)


@settings(max_examples=400, deadline=None)
@given(
    endpoint=st.sampled_from(sorted(ua.ENDPOINTS)),
    params=st.dictionaries(
        st.sampled_from(
            [
                "start_time",
                "end_time",
                "bucket_width",
                "limit",
                "page",
                "group_by",
                "concurrency",
                "project_ids",
                "models",
                "batch",
                "sizes",
                "sources",
                "context_levels",
                "line_items",
                "bogus",
            ]
        ),
        param_values,
        max_size=6,
    ),
)
def test_validation_raises_only_invalid_parameter_error(
    endpoint: str, params: dict[str, Any]
) -> None:
    try:
        query = validate(ua.ENDPOINTS[endpoint], params)
    except ua.InvalidParameterError as exc:
        error: ua.InvalidParameterError | None = exc
    else:
        error = None
        assert query.params()[0] == ("start_time", str(query.start_time))
    assert error is None or error.param in (*params, "start_time", None)


# --- Regressions found in review ---------------------------------------------------------------


async def test_a_borrowed_session_that_raises_for_status_still_gives_typed_errors(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    body = b'{"error": {"message": "bad cursor", "type": "invalid_request_error", "param": "page"}}'
    server = await serve(responding(body, status=400))
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = fast_client(server, session=session)
        with pytest.raises(ua.BadRequestError) as info:
            await pull(client)
    assert (info.value.param, info.value.request_id) == ("page", "req_hostile")
    assert len(server.requests) == 1


async def test_requests_queued_behind_the_cap_honour_a_hold_set_while_they_queued(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    ok = orjson.dumps(page([bucket(START)]))

    async def throttle_first(_: web.Request) -> web.Response:
        arrivals.append(loop.time())
        if len(arrivals) == 1:
            return web.Response(status=429, body=b"{}", headers={"retry-after-ms": "300"})
        return web.Response(body=ok)

    server = await serve(throttle_first)
    async with ua.UsageClient(KEY, base_url=server.base_url, max_in_flight=1) as client:
        streams = [client.completions(start_time=START).collect() for _ in range(3)]
        await asyncio.gather(*streams)
    # Every request after the 429 waited out its hold, including the two queued at the time.
    assert len(arrivals) == 4
    assert all(later - arrivals[0] >= 0.29 for later in arrivals[1:])


async def test_closing_the_client_during_a_back_off_ends_the_pull_instead_of_reopening(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(responding(b"{}", status=429, **{"retry-after-ms": "200"}))
    client = ua.UsageClient(KEY, base_url=server.base_url)
    pulling = asyncio.ensure_future(client.completions(start_time=START).collect())
    await asyncio.sleep(0.1)  # the first attempt got its 429; the retry is waiting
    await client.close()
    with pytest.raises(ua.ClientClosedError):
        await pulling
    assert len(server.requests) == 1
    assert client._transport._session is None  # no session was opened again


async def test_a_compressed_body_is_held_to_max_body_size_once_inflated(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    inflated = b'{"data": [' + b" " * 3_000_000 + b"]}"
    server = await serve(responding(gzip.compress(inflated), **{"Content-Encoding": "gzip"}))
    with pytest.raises(ua.DecodeError, match="max_body_size"):
        await pull(fast_client(server, max_body_size=1_000_000))


async def test_a_key_echoed_back_by_a_proxy_is_blanked_from_errors_and_logs(
    serve: Callable[..., Awaitable[Server]], caplog: pytest.LogCaptureFixture
) -> None:
    async def echo(request: web.Request) -> web.Response:
        text = f"<html>Bad gateway for {request.headers['Authorization']}</html>"
        return web.Response(status=502, text=text, content_type="text/html")

    caplog.set_level(logging.DEBUG, logger="usage_async")
    server = await serve(echo)
    with pytest.raises(ua.InternalServerError) as info:
        await pull(fast_client(server, max_retries=1))
    assert "Bad gateway for Bearer <redacted>" in str(info.value)
    assert KEY not in str(info.value)
    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)


async def test_a_future_end_time_with_concurrency_asks_only_for_windows_up_to_now() -> None:
    from usage_async.emulator import serve as serve_emulator

    now = int(time.time())
    async with (
        serve_emulator(port=0, api_key=KEY) as emu,
        ua.UsageClient(KEY, base_url=emu.base_url) as client,
    ):
        stream = client.completions(
            start_time=now - 3 * 86400,
            end_time=now + 365 * 86400,
            bucket_width="1h",
            concurrency=4,
        )
        buckets = await stream.collect()
    assert 3 * 24 <= len(buckets) <= 3 * 24 + 1  # up to the server's now, nothing beyond
    assert emu.stats.requests <= 4  # three one-day windows (not 366), the last left open


async def test_a_key_echoed_inside_a_200_body_is_blanked_from_the_decode_error(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"not json: {request.headers['Authorization']}")

    server = await serve(echo)
    with pytest.raises(ua.DecodeError) as info:
        await pull(fast_client(server))
    assert "<redacted>" in str(info.value)
    assert KEY not in str(info.value)
