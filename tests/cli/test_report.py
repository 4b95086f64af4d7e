"""``report``, ``demo``, the ``emulator`` command and the progress display."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from usage_async._files import replace_text
from usage_async.cli import main
from usage_async.emulator import Emulator
from usage_async.report._money import cents, money_text

from .conftest import (
    END,
    END_TS,
    START,
    START_TS,
    Result,
    console_script,
    in_terminal,
    library_totals,
)

Cli = Callable[..., Result]

DAILY: dict[str, Any] = {"start_time": START_TS, "end_time": END_TS, "bucket_width": "1d"}


def money(amount: Decimal) -> str:
    return f"{money_text(cents(amount))} USD"


def cents_after(name: str, line: str) -> int:
    """The amount that follows ``name`` on a report line (``1,234.56 USD``), in cents."""
    figure = re.search(re.escape(name) + r"\s.*?(-?[\d,]+\.\d\d) USD", line)
    assert figure is not None, line
    return int(figure[1].replace(",", "").replace(".", ""))


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
        # The day's cost to the cent, rounded down or up so that the days add up.
        assert abs(cents_after(day, bar) - sums["amount"] * 100) < 1, bar
    by_item = library_totals(environment, "costs", ("line_item",), group_by=["line_item"], **DAILY)
    largest = max(by_item.items(), key=lambda item: item[1]["amount"])
    (line_item, _), sums = largest
    [shown] = [line for line in lines if line.startswith(line_item)]
    assert abs(cents_after(line_item, shown) - sums["amount"] * 100) < 1, shown


def test_the_days_and_the_projects_add_up_to_the_total_shown(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # the two cost tables one above the other
    # A week whose days, each rounded to the cent on its own, add up to a cent more.
    result = cli("report", "--start", "2026-11-01", "--end", "2026-11-08")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    total = cents_after("Cost per day, total", result.out)
    days = [cents_after(line[:10], line) for line in lines if re.match(r"2026-11-0\d ", line)]
    assert len(days) == 7
    assert sum(days) == total
    start = lines.index("Cost by project") + 3  # the title, the header and its rule
    projects = [cents_after("", line) for line in lines[start : start + 5]]
    assert sum(projects) == total


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


# --- Widths: COLUMNS when piped, no trailing spaces, phrases kept whole, dates never cut ------

REPORT = ("report", "--start", START, "--end", END)


@pytest.mark.parametrize("command", [REPORT, ("demo",)], ids=["report", "demo"])
@pytest.mark.parametrize("columns", [60, 80])
def test_piped_report_and_demo_fit_columns_and_end_no_line_in_spaces(
    script: Callable[..., Result], command: tuple[str, ...], columns: int
) -> None:
    result = script(*command, env={"COLUMNS": str(columns)})
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) > 30
    assert max(len(line) for line in lines) <= columns
    assert [line for line in lines if line != line.rstrip()] == []


def test_piped_without_columns_the_report_is_120_wide(script: Callable[..., Result]) -> None:
    result = script(*REPORT, env={"COLUMNS": ""})
    widths = [len(line) for line in result.out.splitlines()]
    assert max(widths) == 120  # the title's rule: the cost tables sit side by side


def usage_lines(screen: str) -> list[str]:
    return screen.split("Usage by endpoint, and its busiest models", 1)[1].splitlines()[3:]


def test_at_80_columns_the_totals_break_between_figures_never_inside_one(
    environment: Emulator,
) -> None:
    screen = in_terminal(environment, *REPORT, columns=80)
    lines = usage_lines(screen)
    # A line of its own for a figure's continuation: it starts with the next figure.
    continued = [line.strip() for line in lines if line.startswith(" " * 10)]
    assert continued, "at this width some totals take two lines"
    for line in continued:
        assert re.match(r"[\d,]+ \w", line), line
    for line in lines:
        phrases = line[36:].strip().removesuffix(" ·").split(" · ")
        for phrase in filter(None, phrases):
            assert re.fullmatch(r"[\d,]+ [a-z ]+( \(latest day\))?|no usage", phrase), line


def test_at_60_columns_the_chart_keeps_every_date_and_amount(environment: Emulator) -> None:
    screen = in_terminal(environment, *REPORT, columns=60)
    bars = [line for line in screen.splitlines() if line.startswith("2026-11-0")]
    assert [line[:10] for line in bars] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert all(re.search(r"  [\d,]+\.\d\d USD$", line) for line in bars)
    assert all(len(line) <= 60 for line in screen.splitlines())


# --- report --format json and --html ---------------------------------------------------------


def report_json(cli: Cli, *argv: str) -> Any:
    result = cli(*REPORT, "--format", "json", *argv)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_report_json_carries_the_library_totals_exactly(cli: Cli, environment: Emulator) -> None:
    doc = report_json(cli)
    assert (doc["start"], doc["end"]) == ("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z")
    [(_, costs)] = library_totals(environment, "costs", **DAILY).items()
    assert doc["costs"]["totals"] == [{"currency": "usd", "amount": str(costs["amount"])}]
    per_day = [Decimal(day["amount"]) for day in doc["costs"]["per_day"]]
    assert [day["day"] for day in doc["costs"]["per_day"]] == [
        "2026-11-01", "2026-11-02", "2026-11-03"
    ]  # fmt: skip
    assert sum(per_day) == costs["amount"]
    by_item = library_totals(environment, "costs", ("line_item",), group_by=["line_item"], **DAILY)
    assert {(i["line_item"], i["amount"]) for i in doc["costs"]["line_items"]} == {
        (item, str(sums["amount"])) for (item, _), sums in by_item.items()
    }
    completions = library_totals(environment, "completions", **DAILY)[()]
    assert doc["usage"]["completions"]["totals"]["input_tokens"] == completions["input_tokens"]
    assert doc["usage"]["vector_stores"]["levels"] == ["usage_bytes"]
    projects = doc["costs"]["projects"]
    assert all(
        sum(Decimal(line["amount"]) for line in p["line_items"]) == Decimal(p["amount"])
        for p in projects
    )
    assert {p["project"] for p in projects} >= {"Voice", "Docs Search"}  # names, not IDs


def test_report_html_writes_the_totals_the_json_report_gives(
    cli: Cli, environment: Emulator, tmp_path: Path
) -> None:
    target = tmp_path / "chargeback.html"
    result = cli(*REPORT, "--html", str(target))
    assert result.code == 0, result.err
    assert result.out == ""
    assert f"wrote the chargeback report to {target}" in result.err
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>")
    shown = re.findall(
        r'<span class="amount">([^<]*)</span> <span class="currency">([^<]*)</span>', page
    )
    totals = report_json(cli)["costs"]["totals"]
    assert shown == [
        (f"{Decimal(t['amount']).quantize(Decimal('0.01')):,}", t["currency"].upper())
        for t in totals
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["chargeback.html"]  # no temporary left
    # A report is for sharing: readable by group and others, as a file saved by hand is.
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_report_html_onto_a_directory_is_refused_before_any_request(
    cli: Cli, environment: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "chargeback.html").mkdir()
    before = environment.stats.by_endpoint.copy()
    result = cli(*REPORT, "--html", str(tmp_path / "chargeback.html"))
    assert result.code == 2
    assert "chargeback.html is a directory: name the file to write" in result.err
    assert "Traceback" not in result.err
    assert environment.stats.by_endpoint - before == {}
    assert [p.name for p in tmp_path.iterdir()] == ["chargeback.html"]  # no temporary left


def test_a_file_that_cannot_be_renamed_into_place_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "report.html").mkdir()  # the rename fails: a directory stands there
    with pytest.raises(IsADirectoryError):
        replace_text(tmp_path / "report.html", "<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_html_into_a_missing_directory_is_refused_before_any_request(
    cli: Cli, environment: Emulator, tmp_path: Path
) -> None:
    before = environment.stats.by_endpoint.copy()
    result = cli(*REPORT, "--html", str(tmp_path / "nowhere" / "report.html"))
    assert result.code == 2
    assert "no such directory" in result.err
    assert environment.stats.by_endpoint - before == {}


def test_report_takes_one_output_html_or_a_format(cli: Cli, tmp_path: Path) -> None:
    result = cli(*REPORT, "--format", "json", "--html", str(tmp_path / "r.html"))
    assert result.code == 2
    assert "not allowed with argument" in result.err
