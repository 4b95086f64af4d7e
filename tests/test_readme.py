"""The README's examples run as written, against the embedded emulator.

Every ```python block is run, each the way a reader would run it:

- a script (it calls ``asyncio.run``) in a child process, with ``OPENAI_ADMIN_KEY`` and
  ``OPENAI_BASE_URL`` pointing at an emulator served by this test's event loop;
- a test file (it defines ``test_...`` functions) with pytest, in a fresh project whose only
  configuration is the README's own ``pyproject.toml`` lines for the fixtures;
- the web handler through aiohttp's test client.

Its ``usage-async`` command lines are run in ``tests/cli/test_readme_commands.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp.test_utils import TestClient, TestServer

import usage_async as ua
from usage_async.emulator import Emulator, serve

README = Path(__file__).resolve().parents[1] / "README.md"


@attrs.frozen
class Block:
    heading: str
    language: str
    code: str

    @property
    def kind(self) -> str:
        if self.language != "python":
            return self.language
        if "web.Application" in self.code:
            return "web handler"
        if re.search(r"^(async )?def test_", self.code, flags=re.MULTILINE):
            return "test file"
        return "script"


def blocks() -> list[Block]:
    """The fenced code blocks of the README, with the heading each sits under."""
    found = []
    heading = ""
    for part in re.split(r"^(#+ .*)$", README.read_text(), flags=re.MULTILINE):
        if part.startswith("#"):
            heading = part.lstrip("# ").strip()
            continue
        for language, code in re.findall(r"```(\w+)\n(.*?)```", part, flags=re.DOTALL):
            found.append(Block(heading, language, code))
    return found


def of_kind(kind: str) -> list[Any]:
    return [
        pytest.param(block, id=f"{block.heading}-{n}")
        for n, block in enumerate(b for b in blocks() if b.kind == kind)
    ]


def test_every_python_block_is_one_of_the_kinds_this_file_runs() -> None:
    python = [b for b in blocks() if b.language == "python"]
    assert len(python) >= 8
    assert {b.kind for b in python} == {"script", "test file", "web handler"}
    for block in python:  # each runs as it stands: no top-level await, no "..." bodies
        compile(block.code, block.heading, "exec")
        assert "\n    ...\n" not in block.code, block.heading


@pytest.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    async with serve(port=0) as emu:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", emu.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        yield emu


async def run_script(code: str) -> list[str]:
    """The lines a script prints; the emulator keeps serving while it runs. It runs in a
    directory of its own: the examples write files (``usage.db``, ``focus/``)."""
    with tempfile.TemporaryDirectory() as folder:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            cwd=folder,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ),
        )
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


@pytest.mark.parametrize("block", of_kind("script"))
async def test_a_script_runs_and_prints(emulator: Emulator, block: Block) -> None:
    assert await run_script(block.code), "the example prints what it found"


async def test_the_guide_prints_a_month_of_days(emulator: Emulator) -> None:
    [iterate] = [b for b in blocks() if b.heading == "Iterate every bucket of a range"]
    lines = await run_script(iterate.code)
    assert len(lines) >= 30
    assert re.match(r"\d{4}-\d\d-\d\d ", lines[0])


def fixture_configuration() -> str:
    [toml] = [b for b in blocks() if b.kind == "toml" and b.heading == "pytest fixtures"]
    return toml.code


def test_the_fixture_examples_pass_in_a_fresh_project_with_only_the_readme_setup(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(fixture_configuration())
    tests = [b for b in blocks() if b.kind == "test file"]
    assert tests
    for n, block in enumerate(tests):
        (tmp_path / f"test_readme_example_{n}.py").write_text(block.code)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    expected = sum(len(re.findall(r"^async def test_", b.code, re.MULTILINE)) for b in tests)
    assert f"{expected} passed" in done.stdout


@pytest.fixture
async def closed_days_emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    """An emulator whose clock stands at today's UTC midnight: every day it reports is over,
    so two questions about the same range get the same answer."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with serve(port=0, now=today.timestamp) as emu:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", emu.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        yield emu


async def test_the_web_handler_answers_with_the_exact_cost_of_this_month(
    closed_days_emulator: Emulator,
) -> None:
    [handler] = [b for b in blocks() if b.kind == "web handler"]
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(handler.code, "README.md", "exec"), namespace)
    async with TestClient(TestServer(namespace["make_app"]())) as http:
        response = await http.get("/cost")
        assert response.status == 200
        body = await response.json()
    month = dt.datetime.now(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    async with ua.UsageClient() as client:
        spent = await ua.totals(client.costs(start_time=month))
    assert body["usd"] == str(spent.get(("usd",), {}).get("amount", Decimal(0)))
