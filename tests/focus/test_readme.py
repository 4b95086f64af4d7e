"""The README's FinOps section: its example runs, and its column table is the real one."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import usage_async as ua
from usage_async.emulator import ORGANIZATION, serve

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text()
    return text.split("\n## FinOps (FOCUS)\n", 1)[1].split("\n## ", 1)[0]


def test_the_mapping_table_lists_every_exported_column_in_order() -> None:
    listed = re.findall(r"^\| `(\w+)` \| (\w+) \| (\w+) \|", section(), flags=re.MULTILINE)
    expected = []
    for column in ua.FOCUS_COLUMNS:
        null = "yes"
        if not column.nullable:
            null = "never"
        elif column.expected or column.expected_with:
            null = "counted"
        expected.append((column.name, column.type, null))
    assert listed == expected


async def test_the_python_example_exports_one_file_per_month(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", section(), flags=re.DOTALL)
    async with serve(port=0, now=lambda: 1_772_368_496) as emulator:
        env = {
            **os.environ,
            "OPENAI_ADMIN_KEY": emulator.api_key,
            "OPENAI_BASE_URL": emulator.base_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            example,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert re.fullmatch(r"\d+ rows in 3 files", lines[0]), lines
    assert lines[1] == f"{ORGANIZATION.id} 2025-12 USD 594.021548208"
    # The rows name their organization and the directory names every project: nothing null.
    assert lines[-1] == "left null: {} not exported: 0"
