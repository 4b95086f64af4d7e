"""Fixtures for the command-line tests: one emulator for the session, and ways to run the CLI.

The emulator runs in a background thread on its own event loop, so tests stay synchronous and
call ``main([...])`` exactly as the console script does (it runs its own ``asyncio.run``).
``library_rows`` / ``library_totals`` ask the library the same question, for comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

import usage_async as ua
from usage_async.cli import main
from usage_async.emulator import Emulator, serve

T = TypeVar("T")

# A closed period in the past: the same seed gives the same data for it on every run.
START = "2026-11-01"
END = "2026-11-04"
START_TS = 1_793_491_200  # 2026-11-01T00:00:00Z
END_TS = START_TS + 3 * 86400


@attrs.frozen
class Result:
    """What a user sees from one run: the exit code, stdout and stderr."""

    code: int
    out: str
    err: str


@contextlib.contextmanager
def served(start: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """Run the server ``start()`` opens in a background thread, on its own event loop, for
    the ``with``; yields what it yields (an ``Emulator``, a base URL...)."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve_until_stopped() -> None:
        async with start() as running:
            state["running"] = running
            state["loop"] = asyncio.get_running_loop()
            state["stop"] = stop = asyncio.Event()
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve_until_stopped())
        finally:
            started.set()  # never leave the caller waiting if the server failed to start

    thread = threading.Thread(target=run, name="cli-test-server", daemon=True)
    thread.start()
    started.wait(timeout=30)
    assert "running" in state, "the server did not start"
    try:
        yield state["running"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with served(lambda: serve(port=0, seed=0)) as running:
        yield running


@pytest.fixture
def environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The user's environment: the emulator's key and URL, and none of the developer's."""
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    return emulator


@pytest.fixture
def cli(environment: Emulator, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``usage-async ARGS...`` in-process, as the console script would."""

    def run(*argv: str) -> Result:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def console_script() -> str:
    script = Path(sys.executable).with_name("usage-async")
    assert script.exists(), "the usage-async console script is not installed in this venv"
    return str(script)


@pytest.fixture
def run_script(emulator: Emulator) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``usage-async`` script in a child process, with ``env`` on top."""

    def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [console_script(), *argv],
            env={**user_environment(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def script(emulator: Emulator) -> Callable[..., Result]:
    """Run the installed ``usage-async`` script in a child process pointed at the emulator,
    with ``env`` on top, as a user at a shell would."""

    def run(*argv: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [console_script(), *argv],
            env={**user_environment(emulator), **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def user_environment(emulator: Emulator | None = None) -> dict[str, str]:
    """This process's environment without the developer's OPENAI_* settings; with
    ``emulator``, the key and URL that point the command line at it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    if emulator is not None:
        env.update(OPENAI_ADMIN_KEY=emulator.api_key, OPENAI_BASE_URL=emulator.base_url)
    return env


def spawn(*argv: str, env: dict[str, str], **options: Any) -> subprocess.Popen[str]:
    """Start the installed ``usage-async`` script with stdout and stderr as pipes."""
    return subprocess.Popen(
        [console_script(), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def library_rows(emulator: Emulator, endpoint: str, **params: Any) -> list[dict[str, Any]]:
    """The library's rows (``ua.rows``) for the same query, straight from the emulator."""

    async def collect() -> list[dict[str, Any]]:
        async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
            return [row async for row in ua.rows(client.stream(endpoint, **params))]

    return asyncio.run(collect())


def library_totals(
    emulator: Emulator, endpoint: str, by: tuple[str, ...] = (), **params: Any
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """``ua.totals`` over the same query, straight from the emulator."""

    async def total() -> dict[tuple[Any, ...], dict[str, Any]]:
        async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
            return await ua.totals(client.stream(endpoint, **params), by)

    return asyncio.run(total())


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def on_terminal(command: list[str], env: dict[str, str], columns: int = 80) -> tuple[int, str, str]:
    """Run ``command`` with stdout on a pseudo-terminal ``columns`` wide; its exit code, what
    the terminal showed (colours removed) and its stderr."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    reader, writer = pty.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**env, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    child = subprocess.Popen(
        command, stdout=writer, stderr=subprocess.PIPE, env=env, close_fds=True
    )
    os.close(writer)
    chunks = []
    while True:
        try:
            chunk = os.read(reader, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    err = child.stderr.read().decode() if child.stderr else ""
    code = child.wait(timeout=120)
    return code, ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n"), err


def in_terminal(emulator: Emulator, *argv: str, columns: int = 80) -> str:
    """What ``usage-async ARGV`` shows on a terminal ``columns`` wide (colours removed); it
    must exit 0 with nothing on stderr."""
    env = user_environment(emulator)
    env.pop("NO_COLOR", None)
    code, shown, err = on_terminal([console_script(), *argv], env, columns)
    assert code == 0, err
    assert err == ""
    return shown
