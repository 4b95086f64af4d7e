"""``report``, ``demo``, the ``emulator`` command and the progress display."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from usage_async.cli import main
from usage_async.emulator import Emulator

from .conftest import END, END_TS, START, START_TS, Result, console_script, library_totals

Cli = Callable[..., Result]

DAILY: dict[str, Any] = {"start_time": START_TS, "end_time": END_TS, "bucket_width": "1d"}


def money(amount: Decimal) -> str:
    return f"{amount:,.2f} USD"


def test_report_shows_the_library_totals_of_every_endpoint(cli: Cli, environment: Emulator) -> None:
    result = cli("report", "--start", START, "--end", END)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    for endpoint, metric in [
        ("completions", "input_tokens"),
        ("completions", "num_model_requests"),
        ("embeddings", "input_tokens"),
        ("images", "images"),
        ("audio_speeches", "characters"),
        ("file_search_calls", "num_requests"),
        ("code_interpreter_sessions", "num_sessions"),
    ]:
        total = library_totals(environment, endpoint, **DAILY)[()][metric]
        line = next(text for text in lines if text.startswith(endpoint))
        assert f"{total:,}" in line, f"{endpoint} {metric}"


def test_report_shows_total_cost_cost_per_day_and_per_line_item(
    cli: Cli, environment: Emulator
) -> None:
    result = cli("report", "--start", START, "--end", END)
    assert result.code == 0, result.err
    [(_, total)] = [
        (key, sums["amount"]) for key, sums in library_totals(environment, "costs", **DAILY).items()
    ]
    assert f"total {money(total)}" in result.out
    lines = result.out.splitlines()
    for n, day in enumerate(("2026-11-01", "2026-11-02", "2026-11-03")):
        first = START_TS + n * 86400
        one_day = {**DAILY, "start_time": first, "end_time": first + 86400}
        [sums] = library_totals(environment, "costs", **one_day).values()
        [bar] = [line for line in lines if line.startswith(day)]
        assert bar.rstrip().endswith(f" {money(sums['amount'])}"), bar
    by_item = library_totals(environment, "costs", ("line_item",), group_by=["line_item"], **DAILY)
    largest = max(by_item.items(), key=lambda item: item[1]["amount"])
    (line_item, _), sums = largest
    assert any(
        line_item in line and money(sums["amount"]) in line for line in result.out.splitlines()
    )


def test_report_shows_the_busiest_model_of_an_endpoint_with_its_requests(
    cli: Cli, environment: Emulator
) -> None:
    result = cli("report", "--start", START, "--end", END)
    by_model = library_totals(environment, "completions", ("model",), group_by=["model"], **DAILY)
    (model,), sums = max(by_model.items(), key=lambda item: item[1]["num_model_requests"])
    assert any(
        model in line and f"{sums['num_model_requests']:,} requests" in line
        for line in result.out.splitlines()
    )


def test_report_periods_start_at_utc_midnight_so_usage_and_costs_cover_the_same_days(
    cli: Cli,
) -> None:
    result = cli("report", "--start", "2026-11-01T15:30", "--end", END)
    assert result.code == 0, result.err
    assert "Usage report 2026-11-01 00:00 to 2026-11-04 00:00 UTC" in result.out


def test_demo_reports_sample_data_ignoring_the_users_key_and_url(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-the-users-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    result = cli("demo")
    assert result.code == 0, result.err
    assert "Usage report" in result.out
    assert "Cost per day" in result.out
    assert "completions" in result.out
    assert result.err == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal(cli: Cli) -> None:
    result = cli("moderations", "--start", START, "--end", END, "--bucket-width", "1h")
    assert result.code == 0
    assert result.err == ""


def test_progress_on_a_terminal_shows_buckets_against_the_expected_total(
    environment: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["moderations", "--start", START, "--end", END, "--bucket-width", "1h"])
    assert code == 0
    assert "moderations" in terminal.getvalue()
    assert "/72" in terminal.getvalue()  # three days of hourly buckets, known up front
    assert capsys.readouterr().out.startswith("start_time,")  # rows still went to stdout


def test_emulator_command_serves_until_ctrl_c_then_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    child = subprocess.Popen(
        [console_script(), "emulator", "--port", "0", "--seed", "0"],
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("usage-async emulator listening on http://127.0.0.1:")
        base_url = first.split()[4]
        advice = child.stdout.readline() + child.stdout.readline()
        assert f"OPENAI_BASE_URL={base_url}" in advice
        assert "OPENAI_ADMIN_KEY=sk-admin-" in advice
        key = advice.rsplit("OPENAI_ADMIN_KEY=", 1)[1].strip()

        monkeypatch.setenv("OPENAI_ADMIN_KEY", key)
        assert main(["costs", "--start", START, "--end", END, "--base-url", base_url]) == 0
        assert capsys.readouterr().out.startswith("start_time,end_time,amount,currency")

        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130  # what the shell reports for Ctrl-C
    assert err == ""  # quietly: no traceback, no "KeyboardInterrupt"
