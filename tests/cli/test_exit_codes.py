"""What the shell sees: 141 when the reader of stdout leaves, 130 on Ctrl-C, never a traceback.

Every test here runs the installed ``usage-async`` script in a child process: exit codes,
signals and closed pipes only mean something there.
"""

from __future__ import annotations

import signal
import socket

import pytest

from usage_async.emulator import Emulator

from .conftest import END, START, spawn, user_environment

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

FORMATS = ("table", "csv", "jsonl", "json")
PERIOD = ("--start", START, "--end", END)


@pytest.mark.parametrize(
    "argv",
    [
        *[
            pytest.param(["completions", *PERIOD, "--format", fmt], id=f"completions-{fmt}")
            for fmt in FORMATS
        ],
        pytest.param(["costs", *PERIOD, "--group-by", "line_item"], id="costs-default-format"),
        pytest.param(["report", *PERIOD], id="report"),
        pytest.param(["demo"], id="demo"),
        pytest.param(["projects"], id="projects-default-format"),
        pytest.param(["users", "--format", "json"], id="users-json"),
        pytest.param(["api-keys", "--format", "table"], id="api-keys-table"),
        pytest.param(["service-accounts", "--format", "jsonl"], id="service-accounts-jsonl"),
        pytest.param(
            ["costs", *PERIOD, "--group-by", "project_id", "--names"], id="costs-with-names"
        ),
    ],
)
def test_every_command_exits_141_quietly_when_stdout_is_closed_before_it_writes(
    emulator: Emulator, argv: list[str]
) -> None:
    child = spawn(*argv, env=user_environment(emulator))
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.close()  # the reader is gone before the first row
    err = child.stderr.read()
    assert child.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert err == ""  # no traceback, no "Exception ignored", no "error:"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_reader_that_takes_one_line_and_leaves_gives_141_in_every_format(
    emulator: Emulator, fmt: str
) -> None:
    # Seven days of hourly rows per model: far more than a pipe holds, so some write is
    # surely made after the reader has gone, as with `| head -1`.
    child = spawn(
        "completions", "--start", "2026-11-01", "--end", "2026-11-08", "--bucket-width", "1h",
        "--group-by", "model", "--format", fmt, env=user_environment(emulator),
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()
    err = child.stderr.read()
    assert child.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert err == ""
    assert first.strip(), "the reader got its line before leaving"


def test_ctrl_c_during_a_report_exits_130_quietly() -> None:
    # A server that accepts connections and never answers: the report is surely pulling
    # when the first connection arrives.
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        port = server.getsockname()[1]
        env = {**user_environment(), "OPENAI_ADMIN_KEY": "sk-admin-x"}
        child = spawn("report", *PERIOD, "--base-url", f"http://127.0.0.1:{port}/v1", env=env)
        try:
            connection, _ = server.accept()
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=30)
            connection.close()
        finally:
            child.kill()
    assert child.returncode == EXIT_INTERRUPTED
    assert (out, err) == ("", "")
