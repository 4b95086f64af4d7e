"""When the base URL is wrong: nothing listens there, or it lacks ``/v1``; and the flags that
bound how long a request may take and how often it is tried again."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from usage_async.emulator import Emulator

from .conftest import END, START, Result

Cli = Callable[..., Result]
COSTS = ("costs", "--start", START, "--end", END)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        yield listening.getsockname()[1]


@pytest.mark.parametrize("command", [COSTS, ("report", "--start", START), ("projects",)])
def test_nothing_listening_fails_at_once_with_a_hint_about_the_url_and_the_emulator(
    cli: Cli,
    closed_port: int,
    command: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not the emulator's key, which has "emulator" in it: any piece of a key is blanked.
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-0123456789abcdef")
    url = f"http://127.0.0.1:{closed_port}/v1"
    result = cli(*command, "--base-url", url)
    assert result.code == 1
    *before, line = result.err.splitlines()
    assert not [said for said in before if "retrying" in said]  # no retries said, no back-off
    assert f"connection refused by 127.0.0.1:{closed_port}" in line
    assert f"Is the base URL {url} right (--base-url, else $OPENAI_BASE_URL)?" in line
    assert "usage-async emulator" in line


def test_a_base_url_without_v1_that_answers_404_is_told_to_add_it(
    cli: Cli, environment: Emulator
) -> None:
    bare = environment.base_url.removesuffix("/v1")
    result = cli(*COSTS, "--base-url", bare)
    assert result.code == 1
    assert "HTTP 404" in result.err  # the library's words are kept...
    assert f"The base URL {bare} has no /v1: try --base-url {bare}/v1" in result.err  # ...and
    assert cli(*COSTS, "--base-url", f"{bare}/v1").code == 0  # the advice is right


def test_a_404_under_a_v1_base_url_gets_no_advice_about_v1(cli: Cli, environment: Emulator) -> None:
    result = cli("api-keys", "--project-id", "proj_nope")
    assert result.code == 1
    assert "HTTP 404" in result.err
    assert "/v1" not in result.err.replace(environment.base_url, "")


def test_timeout_and_max_retries_bound_a_request_to_a_server_that_never_answers(
    cli: Cli, environment: Emulator, silent_port: int
) -> None:
    url = f"http://127.0.0.1:{silent_port}/v1"
    once = cli(*COSTS, "--base-url", url, "--timeout", "0.2", "--max-retries", "0")
    assert once.code == 1
    assert once.err == "usage-async: error: request timed out after 0.2 s\n"
    twice = cli(*COSTS, "--base-url", url, "--timeout", "0.2", "--max-retries", "1")
    assert twice.code == 1
    [warning, error] = twice.err.splitlines()
    assert "(attempt 1 of 2): request timed out after 0.2 s; retrying in" in warning
    assert error == "usage-async: error: request timed out after 0.2 s"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--timeout", "0", "at least 0.1"), ("--max-retries", "-1", "at least 0")],
)
def test_bad_timeout_or_retries_are_usage_errors(
    cli: Cli, flag: str, value: str, message: str
) -> None:
    result = cli(*COSTS, flag, value)
    assert result.code == 2
    assert message in result.err
