"""How the command line words what it says: counts with the right noun, close guesses for
misspellings, the version on ``-V``, and ``python -m usage_async``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import usage_async as ua
from usage_async.cli._voice import plural
from usage_async.emulator import ORGANIZATION, Emulator

from .conftest import Result, in_terminal, user_environment

Cli = Callable[..., Result]


@pytest.mark.parametrize(
    ("count", "words"),
    [(0, "0 files"), (1, "1 file"), (2, "2 files"), (1234, "1,234 files")],
)
def test_a_count_takes_the_noun_in_its_number(count: int, words: str) -> None:
    assert plural(count, "file") == words
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"


def test_one_month_of_focus_says_one_file(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "focus", "--start", "2026-11-01", "--end", "2026-12-01", "--organization", "org-x",
        "--output", f"{tmp_path}/",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"FOCUS rows to 1 file under {tmp_path}/" in result.err


def test_a_listing_of_one_key_in_one_project_says_so_in_the_singular(emulator: Emulator) -> None:
    voice = ORGANIZATION.project("Voice")
    shown = in_terminal(
        emulator, "api-keys", "--project-id", voice.id, "--owner-project-access", "inactive"
    )
    assert shown.splitlines()[0] == "1 API key in 1 project, times UTC"


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["completions", "--start", "7d", "--groupby", "model"], "did you mean --group-by?"),
        (["costs", "--start", "7d", "--frmat=csv"], "did you mean --format?"),
        (["cots", "--start", "7d"], "invalid choice: 'cots'; did you mean 'costs'?"),
        (["costs", "--start", "7d", "--format", "tabel"], "did you mean 'table'?"),
        (["completions", "--start", "7d", "--group-by", "modle"], "did you mean 'model'?"),
    ],
    ids=["flag", "flag-with-value", "command", "choice", "group-by-value"],
)
def test_a_misspelling_gets_the_likely_meaning(cli: Cli, argv: list[str], guess: str) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert guess in result.err
    assert result.out == ""


def test_an_unknown_flag_is_said_under_its_commands_usage(cli: Cli) -> None:
    result = cli("completions", "--start", "7d", "--groupby", "model")
    assert result.err.startswith("usage: usage-async completions ")
    assert "unrecognized arguments: --groupby model" in result.err


def test_nothing_close_gets_no_guess(cli: Cli) -> None:
    result = cli("costs", "--start", "7d", "--zzz")
    assert result.code == 2
    assert "unrecognized arguments: --zzz" in result.err
    assert "did you mean" not in result.err


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_dash_v_prints_the_version(cli: Cli, flag: str) -> None:
    result = cli(flag)
    assert result.code == 0
    assert result.out == f"usage-async {ua.__version__}\n"


# The module run as `python -m usage_async` would run it, then every module it left loaded.
RUN_MODULE = """
import json, runpy, sys
listing, sys.argv = sys.argv[1], ["usage_async", *sys.argv[2:]]
try:
    runpy.run_module("usage_async", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code
with open(listing, "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""


def test_python_dash_m_usage_async_runs_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "usage_async", "-V"],
        capture_output=True, text=True, env=user_environment(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"usage-async {ua.__version__}\n"


def test_python_dash_m_usage_async_parses_without_the_network_or_rich(tmp_path: Path) -> None:
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_MODULE, str(listing), "costs", "--help"],
        capture_output=True, text=True, env=user_environment(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: usage-async costs ")
    modules = set(json.loads(listing.read_text()))
    assert "usage_async.cli._main" in modules
    assert not modules & {"aiohttp", "rich", "sqlalchemy", "usage_async._client"}
