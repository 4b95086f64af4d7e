"""Failures a user meets: API errors (exit 1), key problems (exit 2), Ctrl-C (exit 130).

A few of these run the installed console script in a child process, because what matters
there is what the shell sees: the exit code and no traceback. That the key is never printed,
whole or in pieces, is ``test_the_key``'s: the emulator never echoes one.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from usage_async.emulator import Emulator

from .conftest import END, START, Result, console_script

Cli = Callable[..., Result]
Script = Callable[..., subprocess.CompletedProcess[str]]

WRONG_KEY = "sk-admin-not-the-right-key-4f1d9c"
PULL = ("completions", "--start", START, "--end", END)


def test_a_wrong_key_exits_1_with_status_message_and_request_id(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", WRONG_KEY)
    result = cli(*PULL)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("usage-async: error: HTTP 401: ")
    assert "request_id: req_" in result.err


def test_an_api_validation_error_names_the_parameter(cli: Cli) -> None:
    # The live API refuses costs grouped by api_key_id for ranges before 2025-12-06.
    result = cli(
        "costs", "--start", "2025-11-01", "--end", "2025-11-03", "--group-by", "api_key_id"
    )
    assert result.code == 1
    assert "HTTP 400" in result.err
    assert "param: group_by" in result.err
    assert "request_id: req_" in result.err
    assert result.err.rstrip().endswith("check --group-by")


def test_a_missing_key_exits_2_and_names_the_environment_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY")
    result = cli(*PULL)
    assert result.code == 2
    assert "OPENAI_ADMIN_KEY" in result.err


def test_the_key_can_come_from_the_first_line_of_a_file(
    cli: Cli, environment: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", WRONG_KEY)  # the file wins over the environment
    key_file = tmp_path / "admin-key"
    key_file.write_text(f"  {environment.api_key}  \nthe rest is ignored\n")
    result = cli(*PULL, "--api-key-file", str(key_file))
    assert result.code == 0, result.err
    assert result.out.startswith("start_time,")


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read"), ("\n", "is empty")], ids=["missing", "empty"]
)
def test_an_unusable_key_file_exits_2(
    cli: Cli, tmp_path: Path, content: str | None, message: str
) -> None:
    key_file = tmp_path / "admin-key"
    if content is not None:
        key_file.write_text(content)
    result = cli(*PULL, "--api-key-file", str(key_file))
    assert result.code == 2
    assert message in result.err


def test_a_key_given_as_a_flag_is_refused_without_being_echoed(cli: Cli) -> None:
    for argv in (["--api-key", WRONG_KEY], [f"--api-key={WRONG_KEY}"]):
        result = cli(*PULL, *argv)
        assert result.code == 2
        assert "OPENAI_ADMIN_KEY" in result.err
        assert WRONG_KEY not in result.err + result.out


def test_console_script_exits_1_on_a_wrong_key_without_traceback(
    run_script: Script, emulator: Emulator
) -> None:
    done = run_script(
        *PULL, env={"OPENAI_ADMIN_KEY": WRONG_KEY, "OPENAI_BASE_URL": emulator.base_url}
    )
    assert done.returncode == 1
    assert "HTTP 401" in done.stderr
    assert "Traceback" not in done.stderr


def test_console_script_exits_2_on_bad_arguments_and_a_missing_key_without_traceback(
    run_script: Script, emulator: Emulator
) -> None:
    bad_group = run_script(
        "costs", "--start", START, "--group-by", "model", env={"OPENAI_ADMIN_KEY": WRONG_KEY}
    )
    no_key = run_script(*PULL, env={"OPENAI_BASE_URL": emulator.base_url})
    for done in (bad_group, no_key):
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert done.stdout == ""
    assert "unknown value 'model'" in bad_group.stderr
    assert "OPENAI_ADMIN_KEY" in no_key.stderr


def test_console_script_prints_its_version(run_script: Script) -> None:
    done = run_script("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("usage-async ")


def test_ctrl_c_during_a_pull_exits_130_quietly() -> None:
    # A server that accepts the connection and never answers: the pull is surely under way
    # once the connection arrives, whatever the machine's speed.
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        port = server.getsockname()[1]
        child = subprocess.Popen(
            [console_script(), *PULL, "--base-url", f"http://127.0.0.1:{port}/v1"],
            env={"OPENAI_ADMIN_KEY": WRONG_KEY, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            connection, _ = server.accept()
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=30)
            connection.close()
        finally:
            child.kill()
    assert child.returncode == 130
    assert "Traceback" not in err
    assert (out, err) == ("", "")


def test_importing_the_library_or_the_cli_entry_point_does_not_import_rich() -> None:
    # rich comes with the [cli] extra only: the library must work without it, and the CLI
    # must get far enough to say how to install it.
    check = "import sys, usage_async, usage_async.cli; assert 'rich' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
