"""The README's examples run as written, against the embedded emulator.

Each ```python block of the usage guide is extracted and executed: the scripts in a child
process (they call ``asyncio.run``) with ``OPENAI_ADMIN_KEY``/``OPENAI_BASE_URL`` pointing at
an emulator served by this test's event loop; the web handler through aiohttp's test client.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from usage_async.emulator import serve

README = Path(__file__).resolve().parents[1] / "README.md"


def examples() -> dict[str, str]:
    """Complete python examples of the README, by the heading they sit under."""
    text = README.read_text()
    found: dict[str, str] = {}
    heading = ""
    for block in re.split(r"^(#+ .*)$", text, flags=re.MULTILINE):
        if block.startswith("#"):
            heading = block.lstrip("# ").strip()
            continue
        for code in re.findall(r"```python\n(.*?)```", block, flags=re.DOTALL):
            if "import usage_async" in code:
                found[heading] = code
    return found


@pytest.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    async with serve(port=0) as emu:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", emu.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        yield emu


def test_the_guide_has_the_three_runnable_examples() -> None:
    assert {
        "Iterate every bucket of a range",
        "Await it in a web handler",
        "Resume from a checkpoint",
    } <= set(examples())


@pytest.mark.parametrize(
    "heading",
    ["Iterate every bucket of a range", "Resume from a checkpoint", "Names, not IDs"],
)
async def test_a_script_example_runs_and_prints_buckets(emulator: Any, heading: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        examples()[heading],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert len(lines) >= 7, out.decode()
    assert re.match(r"\d{4}-\d\d-\d\d", lines[0])


async def test_the_web_handler_example_answers_with_an_exact_cost(emulator: Any) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(examples()["Await it in a web handler"], "README.md", "exec"), namespace)
    async with TestClient(TestServer(namespace["make_app"]())) as http:
        response = await http.get("/cost")
        assert response.status == 200
        body = await response.json()
    assert Decimal(body["usd"]) > 0
