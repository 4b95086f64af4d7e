"""``usage-async focus``: what a user at a shell gets, run in-process like the console script."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import usage_async as ua
from usage_async.cli import main
from usage_async.emulator import ORGANIZATION, Emulator

from ..cli.conftest import Result, library_totals
from .conftest import cost, read_csv

Cli = Callable[..., Result]
Start = Callable[[Sequence[Sequence[dict[str, Any]]]], Any]

# Four days over a month boundary, in the emulator's (unpinned) past.
PERIOD = ["--start", "2026-01-30", "--end", "2026-02-03"]
PERIOD_START = 1_769_731_200


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_csv_on_stdout_has_the_focus_columns_and_every_cost(
    cli: Cli, environment: Emulator
) -> None:
    result = cli("focus", *PERIOD, "--organization", "org-cli")  # the rows name their own
    assert result.code == 0, result.err
    header, rows = read_csv(result.out)
    assert header == list(ua.FocusRows.columns)
    assert {row["BillingAccountId"] for row in rows} == {ORGANIZATION.id}
    assert {row["SubAccountName"] for row in rows} <= {p.name for p in ORGANIZATION.projects}
    assert {row["BillingPeriodStart"] for row in rows} == {
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    }
    totals = library_totals(
        environment,
        "costs",
        start_time=PERIOD_START,
        end_time=PERIOD_START + 4 * 86400,
        group_by=["line_item", "project_id"],
    )
    assert sum(Decimal(row["BilledCost"]) for row in rows) == sum(
        t["amount"] for t in totals.values()
    )
    assert all(row["SkuId"] and row["SubAccountId"] for row in rows)


async def test_rows_without_an_organization_take_openai_org_id(
    costs_server: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await costs_server([[cost("1", line_item="a", project_id="proj_1")]])
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-test")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    code = await asyncio.to_thread(
        main, ["focus", *PERIOD, "--base-url", server.base_url, "--format", "csv"]
    )
    assert code == 0
    _, rows = read_csv(capsys.readouterr().out)
    assert {row["BillingAccountId"] for row in rows} == {"org-from-env"}


async def test_without_an_organization_it_says_how_to_name_one_and_writes_nothing(
    costs_server: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await costs_server([[cost("1", line_item="a", project_id="proj_1")]])
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-test")
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    code = await asyncio.to_thread(
        main, ["focus", *PERIOD, "--base-url", server.base_url, "--format", "csv"]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "--organization" in captured.err
    assert "OPENAI_ORG_ID" in captured.err
    assert captured.out == ""


def test_a_directory_output_gets_one_file_per_billing_month(cli: Cli, tmp_path: Path) -> None:
    result = cli("focus", *PERIOD, "--organization", "org-cli", "--output", f"{tmp_path}/")
    assert result.code == 0, result.err
    assert _files(tmp_path) == [
        "BillingPeriodStart=2026-01-01/focus.csv",
        "BillingPeriodStart=2026-02-01/focus.csv",
    ]
    assert "2 files under" in result.err
    assert result.out == ""


def test_a_refused_partial_month_sends_no_request(
    cli: Cli, environment: Emulator, tmp_path: Path
) -> None:
    # The README's promise: the export stops before fetching anything, project names
    # included (a key that may not list projects would be told so first, for nothing).
    output = ["--organization", "org-cli", "--output", f"{tmp_path}/"]
    assert cli("focus", "--start", "2026-01-01", "--end", "2026-02-01", *output).code == 0
    before = environment.stats.by_endpoint.copy()
    refused = cli("focus", *PERIOD, *output)
    assert refused.code == 2
    assert "--partial" in refused.err
    assert environment.stats.by_endpoint - before == {}


def test_a_month_covered_in_part_is_named_and_never_replaces_a_whole_one(
    cli: Cli, tmp_path: Path
) -> None:
    output = ["--organization", "org-cli", "--output", f"{tmp_path}/"]
    result = cli("focus", *PERIOD, *output)  # 2026-01-30 to 2026-02-03
    assert result.code == 0, result.err
    assert "BillingPeriodStart=2026-01-01 holds 2026-01-30 to the month's end only" in result.err
    assert "BillingPeriodStart=2026-02-01 holds 2026-02-01 to 2026-02-03 (exclusive) only" in (
        result.err
    )
    january = tmp_path / "BillingPeriodStart=2026-01-01" / "focus.csv"
    whole = cli("focus", "--start", "2026-01-01", "--end", "2026-02-01", *output)
    assert whole.code == 0, whole.err
    assert "only" not in whole.err
    kept = january.read_text()
    again = cli("focus", *PERIOD, *output)
    assert again.code == 2
    assert "--start on the 1st of a month" in again.err
    assert "--partial" in again.err
    assert january.read_text() == kept
    assert cli("focus", *PERIOD, *output, "--partial").code == 0
    assert len(january.read_text()) < len(kept)


def test_a_half_month_csv_is_not_written_beside_a_whole_month_parquet(
    cli: Cli, environment: Emulator, tmp_path: Path
) -> None:
    output = ["--organization", "org-cli", "--output", f"{tmp_path}/"]
    whole = cli("focus", "--start", "2026-01-01", "--end", "2026-02-01", *output, "--format",
                "parquet")  # fmt: skip
    assert whole.code == 0, whole.err
    before = environment.stats.by_endpoint.copy()
    half = cli("focus", "--start", "2026-01-16", "--end", "2026-02-01", *output)
    assert half.code == 2
    assert "beside" in half.err
    assert "focus.parquet" in half.err
    assert "--partial" in half.err
    assert _files(tmp_path) == ["BillingPeriodStart=2026-01-01/focus.parquet"]
    assert environment.stats.by_endpoint - before == {}


def test_a_parquet_output_is_typed_and_matches_the_csv(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "costs.parquet"
    result = cli("focus", *PERIOD, "--organization", "org-cli", "--output", str(target))
    assert result.code == 0, result.err
    table = pq.read_table(target).to_pylist()
    _, rows = read_csv(cli("focus", *PERIOD, "--organization", "org-cli").out)
    assert [r["BilledCost"] for r in table] == [Decimal(r["BilledCost"]) for r in rows]


def test_parquet_without_pyarrow_names_the_extra(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = cli("focus", *PERIOD, "--format", "parquet", "--output", str(tmp_path / "x"))
    assert result.code == 2
    assert "usage-async[parquet]" in result.err
    assert _files(tmp_path) == []


def test_more_grouping_fills_the_custom_columns(cli: Cli) -> None:
    result = cli("focus", *PERIOD, "--organization", "org-cli", "--group-by", "user_id")
    assert result.code == 0, result.err
    _, rows = read_csv(result.out)
    # Costs split out by user carry the user's id (storage and sessions belong to no user).
    users = {row["x_UserId"] for row in rows} - {""}
    assert len(users) > 1
    assert users <= {u.id for u in ORGANIZATION.users}
    assert cli("focus", *PERIOD, "--group-by", "model").code == 2


async def test_incomplete_rows_and_costs_without_an_amount_are_counted_on_stderr(
    costs_server: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await costs_server(
        [[cost("1", line_item="a", project_id="proj_a"), cost("2"), cost(None, line_item="c")]]
    )
    monkeypatch.setenv("OPENAI_ADMIN_KEY", server.key)
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    argv = [
        "focus",
        "--start",
        "2026-01-30",
        "--end",
        "2026-01-31",
        "--base-url",
        server.base_url,
        "--organization",
        "org-1",
        "--concurrency",
        "1",
    ]
    # main() runs its own event loop: run it in a thread, away from this test's loop.
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    _, rows = read_csv(out)
    assert [row["BilledCost"] for row in rows] == ["1", "2"]
    assert "ChargeDescription 1" in err
    assert "SubAccountName 1" in err  # proj_a has no name: the directory is not wired yet
    assert "1 cost result not exported" in err
    assert "2026-01-30T00:00:00Z" in err


async def test_projects_the_key_may_not_read_are_said_once_and_the_export_goes_on(
    costs_server: Start, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await costs_server([[cost("1", line_item="a", project_id="proj_a")]])
    server.projects_status = 403
    monkeypatch.setenv("OPENAI_ADMIN_KEY", server.key)
    argv = ["focus", "--start", "2026-01-30", "--end", "2026-01-31"]
    argv += ["--base-url", server.base_url, "--organization", "org-1"]
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [row["BilledCost"] for row in read_csv(out)[1]] == ["1"]
    said = [line for line in err.splitlines() if "this key may not list projects" in line]
    assert len(said) == 1, err  # the library's warning, said once by the command line
    assert said[0].startswith("usage-async: warning: the directory has no projects: ")


def test_project_names_are_all_it_reads_of_the_directory(cli: Cli, environment: Emulator) -> None:
    before = environment.stats.by_endpoint.copy()
    result = cli("focus", *PERIOD, "--organization", "org-cli")
    assert result.code == 0, result.err
    asked = environment.stats.by_endpoint - before
    assert set(asked) == {"costs", "projects"}  # no users, keys or service accounts
    _, rows = read_csv(result.out)
    assert {row["SubAccountName"] for row in rows} <= {p.name for p in ORGANIZATION.projects}
