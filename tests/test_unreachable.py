"""A server that cannot be reached at all: retried once, at once, and said in plain words.

Nothing listening (a port bound but not listening refuses every connection) and a host name
that does not resolve (a resolver of our own answers as a resolver does for ``.invalid``)
are not worth the back-off that a dropped connection or a 503 earns: one quick retry, then
an ``APIConnectionError`` that names what happened. Other transient failures keep their
retries (``test_transport``); here one is checked beside them, against a real server.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

import usage_async as ua
from usage_async._retry import RetryPolicy
from usage_async._transport import AiohttpTransport

from .conftest import KEY, SleepRecorder

START = 1_793_491_200


class NoSuchHost(AbstractResolver):
    """A resolver that knows no name, as a real one answers for ``.invalid``; it counts
    the lookups."""

    def __init__(self) -> None:
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        pass


def quick(client: ua.UsageClient, sleeps: SleepRecorder) -> ua.UsageClient:
    client._sleep = sleeps
    client._clock = sleeps.clock
    return client


async def first_page(client: ua.UsageClient) -> Any:
    async with client:
        return await client.costs(start_time=START, end_time=START + 86400).pages().__anext__()


async def test_a_refused_connection_is_retried_once_at_once_and_named(
    closed_port: int, sleeps: SleepRecorder
) -> None:
    client = ua.UsageClient(KEY, base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=5)
    with pytest.raises(ua.APIConnectionError) as refused:
        await first_page(quick(client, sleeps))
    assert str(refused.value) == f"connection refused by 127.0.0.1:{closed_port}"
    assert refused.value.unreachable
    assert sleeps.waits == [0.25]  # one quick retry, not five backed off


@pytest.fixture
async def unresolvable() -> AsyncIterator[tuple[aiohttp.ClientSession, NoSuchHost]]:
    resolver = NoSuchHost()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver)) as s:
        yield s, resolver


async def test_a_name_that_does_not_resolve_is_retried_once_at_once_and_named(
    unresolvable: tuple[aiohttp.ClientSession, NoSuchHost], sleeps: SleepRecorder
) -> None:
    session, resolver = unresolvable
    client = ua.UsageClient(KEY, base_url="https://nonexistent.invalid/v1", session=session)
    with pytest.raises(ua.APIConnectionError) as unresolved:
        await first_page(quick(client, sleeps))
    assert str(unresolved.value) == "cannot resolve nonexistent.invalid"
    assert unresolved.value.unreachable
    assert resolver.lookups == 2
    assert sleeps.waits == [0.25]


async def test_no_retries_means_no_quick_retry_either(
    unresolvable: tuple[aiohttp.ClientSession, NoSuchHost], sleeps: SleepRecorder
) -> None:
    session, resolver = unresolvable
    client = ua.UsageClient(
        KEY, base_url="https://nonexistent.invalid/v1", session=session, max_retries=0
    )
    with pytest.raises(ua.APIConnectionError):
        await first_page(quick(client, sleeps))
    assert resolver.lookups == 1
    assert sleeps.waits == []


async def test_the_quick_retry_is_not_a_warning(
    closed_port: int, sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="usage_async")
    client = ua.UsageClient(KEY, base_url=f"http://127.0.0.1:{closed_port}/v1")
    with pytest.raises(ua.APIConnectionError):
        await first_page(quick(client, sleeps))
    [retry] = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert retry.levelno == logging.INFO
    assert "(attempt 1 of 2)" in retry.getMessage()


async def test_a_dropped_connection_keeps_the_back_off(sleeps: SleepRecorder) -> None:
    # A server that accepts each connection and closes it: reached, so it may come back.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        client = ua.UsageClient(KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=3)
        with pytest.raises(ua.APIConnectionError) as dropped:
            await first_page(quick(client, sleeps))
    assert not dropped.value.unreachable
    assert len(sleeps.waits) == 3
    assert sleeps.waits[0] > 0.25  # the policy's back-off, not the quick retry


@pytest.mark.parametrize(
    ("unreachable", "max_retries", "attempts"),
    [(True, 5, 2), (True, 0, 1), (False, 5, 6), (False, 0, 1)],
)
def test_the_policy_gives_an_unreachable_server_one_retry_within_max_retries(
    unreachable: bool, max_retries: int, attempts: int
) -> None:
    error = ua.APIConnectionError("x", unreachable=unreachable)
    assert RetryPolicy(max_retries=max_retries).attempts(error) == attempts


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1:{closed_port}", "connection refused"),
        # A TCP connection to the broadcast address fails in the kernel, never refused.
        ("255.255.255.255:9", "connection failed ("),
    ],
    ids=["refused", "unreachable"],
)
async def test_a_post_that_cannot_connect_says_why_without_the_url(
    closed_port: int, host: str, reason: str
) -> None:
    # A webhook's URL is a secret (Slack's carries its token in the path): never said.
    url = f"http://{host.format(closed_port=closed_port)}/hooks/T0K3N"
    transport = AiohttpTransport(None, max_body_size=1024, pool_size=1)
    try:
        with pytest.raises(ua.APIConnectionError) as failed:
            await transport.post(url, b"{}", {}, attempt_timeout=5)
    finally:
        await transport.close()
    assert str(failed.value).startswith(reason)
    assert "T0K3N" not in str(failed.value)
    assert host.split(":")[0] not in str(failed.value)
    assert failed.value.__cause__ is None
