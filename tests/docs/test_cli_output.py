"""The command line's page shows what the commands print today, and shows every command.

``docs/gen_cli.py`` recorded each output in ``docs/cli/``; these tests run the same commands
the same way (an 80-column terminal, the emulator with its clock pinned) and compare. When
the command line changes what it prints, run ``python docs/gen_cli.py`` and commit the result.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import DOCS, docs_module

GEN_CLI = docs_module("gen_cli")
CLI_PAGE = DOCS / "cli.md"


@pytest.fixture(scope="module")
def pinned_emulator() -> Iterator[Any]:
    with GEN_CLI.emulator() as running:
        yield running


@pytest.mark.parametrize("shown", GEN_CLI.SHOWN, ids=lambda shown: shown.name)
def test_the_recorded_output_is_what_the_command_prints_today(
    shown: Any, pinned_emulator: Any
) -> None:
    assert shown.path.exists(), f"{shown.path} is missing: run python docs/gen_cli.py"
    today = GEN_CLI.comparable(GEN_CLI.run(shown, pinned_emulator))
    recorded = GEN_CLI.comparable(shown.path.read_text())
    assert today == recorded, (
        f"`{shown.command_line}` no longer prints what docs/cli/{shown.path.name} shows: "
        "run python docs/gen_cli.py and commit the result"
    )


def commands_of_the_program() -> set[str]:
    """The subcommands ``usage-async --help`` lists (aliases in parentheses left out)."""
    script = Path(sys.executable).with_name("usage-async")
    done = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=True,
    )
    listed = done.stdout.split("positional arguments:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^    (\S+)", listed, flags=re.MULTILINE))


def test_every_command_of_the_program_has_its_output_on_the_page() -> None:
    commands = commands_of_the_program()
    assert {"costs", "report", "demo", "emulator", "sync", "focus", "api-keys"} <= commands
    recorded = {shown.argv[0] for shown in GEN_CLI.SHOWN}
    # demo prints the report of the last seven days: the page shows that report, recorded
    # over seven fixed days, and says so under its own heading.
    missing = commands - recorded - {"demo"}
    assert not missing, f"add these commands to SHOWN in docs/gen_cli.py: {sorted(missing)}"
    page = CLI_PAGE.read_text()
    for command in commands:
        assert re.search(rf"^#+ .*\b{re.escape(command)}\b", page, re.MULTILINE), command


def test_the_page_includes_every_recording_and_only_those() -> None:
    included = set(re.findall(r'^--8<-- "docs/cli/([\w-]+)\.console"$', CLI_PAGE.read_text(), re.M))
    recorded = {shown.name for shown in GEN_CLI.SHOWN}
    assert included == recorded
    assert {p.stem for p in GEN_CLI.FOLDER.glob("*.console")} == recorded  # nothing stale


def test_recordings_show_an_80_column_terminal_and_no_machine_details(
    gen_cli: ModuleType,
) -> None:
    for shown in gen_cli.SHOWN:
        text = shown.path.read_text()
        assert text.startswith(f"$ {shown.command_line}\n")
        assert "\x1b" not in text  # no colour codes
        assert not re.search(r"127\.0\.0\.1:(?!8089/)\d+", text), shown.name  # no free port
        table = [line for line in text.splitlines() if "─" in line]
        assert all(len(line) <= gen_cli.COLUMNS for line in table), shown.name
