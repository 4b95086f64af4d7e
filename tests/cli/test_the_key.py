"""The admin key never reaches the output, whole or in pieces, whatever the server echoes.

The emulator never echoes a key, so these run against a small server of our own that puts
the ``Authorization`` header it received into what it answers, whole or cut at 60 characters
(as a proxy's error page might, or a body a snippet of which an error message quotes): in an
API error's message, in a plain-text 5xx that the client retries (each retry a warning), and
in a 200 whose body is not JSON. The key is long (160 characters), so a cut one still holds
long runs of it.
"""

from __future__ import annotations

import contextlib
import random
import string
from collections.abc import AsyncIterator, Callable, Iterator

import attrs
import pytest
from aiohttp import web

from ..servers import app_url
from .conftest import END, START, Result, served

Cli = Callable[..., Result]

LONG_KEY = "sk-admin-" + "".join(
    random.Random(160).choices(string.ascii_letters + string.digits, k=151)
)
assert len(LONG_KEY) == 160

SLICE = 12  # no run of the key this long may be shown
RETRIES = 5  # the client's default


@attrs.define
class EchoServer:
    base_url: str = ""
    authorizations: list[str] = attrs.field(factory=list)


def answer(mode: str, echoed: str) -> web.Response:
    if mode == "api-error":
        error = {
            "message": f"Incorrect API key provided: {echoed}",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
        return web.json_response({"error": error}, status=401)
    if mode == "retried-text":
        return web.Response(
            text=f"upstream said no to {echoed}", status=502, headers={"retry-after-ms": "1"}
        )
    assert mode == "text-200"
    return web.Response(text=echoed, status=200)


@contextlib.asynccontextmanager
async def echo_server(mode: str, cut: int | None) -> AsyncIterator[EchoServer]:
    server = EchoServer()

    async def echo(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        server.authorizations.append(header)
        return answer(mode, f"Authorization: {header}"[:cut])

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    async with app_url(app) as base_url:
        server.base_url = base_url
        yield server


@pytest.fixture(params=[None, 60], ids=["whole", "cut-at-60"])
def cut(request: pytest.FixtureRequest) -> int | None:
    cut: int | None = request.param
    return cut


@pytest.fixture(params=["api-error", "retried-text", "text-200"])
def echoing(request: pytest.FixtureRequest, cut: int | None) -> Iterator[EchoServer]:
    with served(lambda: echo_server(request.param, cut)) as server:
        yield server


def pieces_of_the_key(text: str) -> list[str]:
    return [
        LONG_KEY[i : i + SLICE]
        for i in range(len(LONG_KEY) - SLICE + 1)
        if LONG_KEY[i : i + SLICE] in text
    ]


COMMANDS = [
    pytest.param(("completions", "--start", START, "--end", END), id="pull"),
    pytest.param(("api-keys",), id="listing"),
]


@pytest.mark.parametrize("argv", COMMANDS)
def test_no_piece_of_the_key_is_shown_whatever_the_server_echoes(
    cli: Cli,
    echoing: EchoServer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    argv: tuple[str, ...],
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", LONG_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", echoing.base_url)
    result = cli(*argv)
    assert echoing.authorizations[0] == f"Bearer {LONG_KEY}"  # there was a key to echo
    assert result.code == 1
    assert pieces_of_the_key(result.out + result.err) == []
    assert "<redacted>" in result.err  # the echo was blanked, not lost with its message
    lines = result.err.splitlines()
    assert lines[-1].startswith("usage-async: error: ")
    assert all(line.startswith("usage-async: ") for line in lines), result.err
    if request.node.callspec.params["echoing"] == "retried-text":
        # Every retry is said once, in the same voice.
        assert len(lines) == RETRIES + 1
        assert all(line.startswith("usage-async: warning: ") for line in lines[:-1])
    else:
        assert len(lines) == 1


def test_a_refused_base_url_that_carries_the_key_does_not_show_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", LONG_KEY)
    url = f"ftp://proxy.example/v1?key={LONG_KEY[:60]}"
    result = cli("completions", "--start", START, "--base-url", url)
    assert result.code == 2
    assert "--base-url ftp://proxy.example/v1?key=<redacted> is not an http(s) URL" in result.err
    assert pieces_of_the_key(result.out + result.err) == []
