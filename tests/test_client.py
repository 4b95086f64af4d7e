"""Client configuration and lifecycle: keys, base URLs, sessions, closing, repr hygiene."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

import usage_async as ua

from .conftest import BASE, KEY
from .samples import bucket, page
from .servers import Handler, Served, serve_app

__all__ = ["serve_app"]  # the fixture, imported for the tests below

Serve = Callable[[Handler], Awaitable[Served]]

URL_RE = re.compile(r"^https://api\.example\.test/v1/organization/usage/completions.*$")
START = 1_764_547_200


def test_a_missing_key_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with pytest.raises(ua.InvalidParameterError, match="OPENAI_ADMIN_KEY"):
        ua.UsageClient()


async def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.example.test/v1/")
    monkeypatch.setenv("OPENAI_ORG_ID", "org_env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")
    client = ua.UsageClient()
    assert client.base_url == "https://proxy.example.test/v1"
    assert (client.organization, client.project) == ("org_env", "proj_env")
    await client.close()


@pytest.mark.parametrize(
    "url", ["http://api.example.test/v1", "ftp://x/v1", "api.openai.com/v1", "https://user:pw@x/v1"]
)
def test_unsafe_or_malformed_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ua.InvalidParameterError) as info:
        ua.UsageClient(KEY, base_url=url)
    assert info.value.param == "base_url"
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8089/v1", "http://localhost:1/v1", "http://[::1]:9/v1"]
)
async def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    await ua.UsageClient(KEY, base_url=url).close()


async def test_plain_http_elsewhere_needs_allow_insecure() -> None:
    client = ua.UsageClient(KEY, base_url="http://usage.internal/v1", allow_insecure=True)
    assert client.base_url == "http://usage.internal/v1"
    await client.close()


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"retry_deadline": -5}, "retry_deadline"),
        ({"api_key": "sk-admin-x\nInjected: 1"}, "api_key"),
    ],
)
def test_bad_client_settings_are_refused(kwargs: dict[str, object], param: str) -> None:
    kwargs.setdefault("api_key", KEY)
    with pytest.raises(ua.InvalidParameterError) as info:
        ua.UsageClient(**kwargs)  # type: ignore[arg-type]
    assert info.value.param == param


async def test_the_key_never_shows_in_repr_or_str() -> None:
    async with ua.UsageClient(KEY, base_url=BASE) as client:
        stream = client.completions(start_time=START)
        for text in (
            repr(client),
            str(client),
            repr(stream),
            repr(vars(client) if hasattr(client, "__dict__") else ""),
        ):
            assert KEY not in text
            assert "TESTKEY" not in text


async def test_a_closed_client_refuses_new_calls_and_running_streams(mocked: aioresponses) -> None:
    client = ua.UsageClient(KEY, base_url=BASE)
    async with client:
        stream = client.completions(start_time=START)
    assert client.closed
    with pytest.raises(ua.ClientClosedError):
        client.completions(start_time=START)
    with pytest.raises(ua.ClientClosedError):
        await stream.collect()
    with pytest.raises(ua.ClientClosedError):
        async with client:
            pass
    assert mocked.requests == {}


async def test_a_borrowed_session_is_used_and_never_closed(mocked: aioresponses) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)]))
    async with aiohttp.ClientSession() as session:
        async with ua.UsageClient(KEY, base_url=BASE, session=session) as client:
            assert len(await client.completions(start_time=START).collect()) == 1
        assert not session.closed


async def test_an_owned_session_is_closed_with_the_client(mocked: aioresponses) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)]))
    client = ua.UsageClient(KEY, base_url=BASE)
    await client.completions(start_time=START).collect()  # works without `async with` too
    session = client._transport._session
    assert session is not None
    assert not session.closed
    await client.close()
    assert session.closed


async def test_stream_by_name_reaches_every_endpoint(mocked: aioresponses) -> None:
    async with ua.UsageClient(KEY, base_url=BASE) as client:
        for name, endpoint in ua.ENDPOINTS.items():
            stream = client.stream(name, start_time=START)
            assert stream.endpoint == name
            assert stream.query.endpoint is endpoint
            assert getattr(client, name)(start_time=START).endpoint == name


async def test_a_shared_limiter_caps_requests_across_clients(serve_app: Serve) -> None:
    limiter = asyncio.Semaphore(1)
    active = 0
    most = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.02)
        active -= 1
        start = int(request.query["start_time"])
        return web.json_response(page([bucket(start)]))

    served = await serve_app(handler)
    clients = [
        ua.UsageClient("sk-admin-x", base_url=served.base_url, limiter=limiter) for _ in range(3)
    ]
    async with clients[0], clients[1], clients[2]:
        await asyncio.gather(
            *(c.completions(start_time=86400 * (i + 1)).collect() for i, c in enumerate(clients))
        )
    assert most == 1
    assert len(served.requests) == 3


def test_limiter_must_be_a_semaphore() -> None:
    with pytest.raises(ua.InvalidParameterError, match="limiter"):
        ua.UsageClient("sk-admin-x", limiter=3)  # type: ignore[arg-type]
