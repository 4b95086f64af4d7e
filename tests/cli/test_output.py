"""Endpoint subcommands: every format carries exactly the library's rows, and streams them."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

import usage_async as ua
from usage_async.emulator import Emulator

from .conftest import END, END_TS, START, START_TS, Result, library_rows

Cli = Callable[..., Result]

# (endpoint, CLI flags, the same query as library keyword arguments)
QUERIES = [
    pytest.param(
        "completions",
        ["--group-by", "model,project_id"],
        {"group_by": ["model", "project_id"]},
        id="completions-by-model-and-project",
    ),
    pytest.param(
        "costs",
        ["--group-by", "line_item", "--group-by", "project_id"],
        {"group_by": ["line_item", "project_id"]},
        id="costs-by-line-item-decimal-amounts",
    ),
    pytest.param(
        "images",
        ["--bucket-width", "1h", "--source", "image.generation", "--group-by", "size,model"],
        {"bucket_width": "1h", "sources": ["image.generation"], "group_by": ["size", "model"]},
        id="images-hourly-filtered",
    ),
    pytest.param(
        "completions",
        ["--batch", "--group-by", "batch,service_tier"],
        {"batch": True, "group_by": ["batch", "service_tier"]},
        id="completions-batch-only-bool-column",
    ),
]


def expected_rows(
    emulator: Emulator, endpoint: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = library_rows(emulator, endpoint, start_time=START_TS, end_time=END_TS, **params)
    assert rows, "the query should have results, or the comparison proves nothing"
    return rows


def columns(endpoint: str, params: dict[str, Any]) -> list[str]:
    return ua.row_fields(ua.ENDPOINTS[endpoint].result_type, params.get("group_by", ()))


def from_csv_cell(text: str, like: Any) -> Any:
    """A CSV cell read back as the type the library produced for it."""
    if like is None:
        return None if text == "" else text
    if isinstance(like, bool):
        return {"true": True, "false": False}[text]
    if isinstance(like, Decimal):
        return Decimal(text)
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    return text


def decimals_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """The library row as JSON should carry it: Decimal amounts as their exact decimal text."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}


@pytest.mark.parametrize(("endpoint", "flags", "params"), QUERIES)
def test_csv_rows_read_back_equal_the_library_rows_exactly(
    cli: Cli, environment: Emulator, endpoint: str, flags: list[str], params: dict[str, Any]
) -> None:
    result = cli(endpoint, "--start", START, "--end", END, *flags, "--format", "csv")
    assert result.code == 0, result.err
    expected = expected_rows(environment, endpoint, params)
    reader = csv.reader(io.StringIO(result.out))
    header = next(reader)
    assert header == columns(endpoint, params)
    got = list(reader)
    assert len(got) == len(expected)
    for cells, want in zip(got, expected, strict=True):
        row = dict(zip(header, cells, strict=True))
        assert {k: from_csv_cell(row[k], want[k]) for k in header} == want
        for name, value in want.items():
            if isinstance(value, Decimal):  # the exact digits, not just an equal number
                assert row[name] == str(value)


@pytest.mark.parametrize(("endpoint", "flags", "params"), QUERIES)
def test_jsonl_lines_equal_the_library_rows_with_decimals_as_strings(
    cli: Cli, environment: Emulator, endpoint: str, flags: list[str], params: dict[str, Any]
) -> None:
    result = cli(endpoint, "--start", START, "--end", END, *flags, "--format", "jsonl")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    got = [orjson.loads(line) for line in lines]
    assert got == [decimals_as_text(r) for r in expected_rows(environment, endpoint, params)]
    assert all(list(row) == columns(endpoint, params) for row in got)


@pytest.mark.parametrize(("endpoint", "flags", "params"), QUERIES[:2])
def test_json_is_one_array_of_the_library_rows(
    cli: Cli, environment: Emulator, endpoint: str, flags: list[str], params: dict[str, Any]
) -> None:
    result = cli(endpoint, "--start", START, "--end", END, *flags, "--format", "json")
    assert result.code == 0, result.err
    assert orjson.loads(result.out) == [
        decimals_as_text(r) for r in expected_rows(environment, endpoint, params)
    ]


def test_output_defaults_to_csv_when_stdout_is_not_a_terminal(cli: Cli) -> None:
    args = ("embeddings", "--start", START, "--end", END, "--group-by", "model")
    default, explicit = cli(*args), cli(*args, "--format", "csv")
    assert default.code == explicit.code == 0
    assert default.out == explicit.out
    assert default.out.startswith("start_time,end_time,model,input_tokens")


def test_a_redirected_table_shows_each_row_with_every_metric_readable(
    cli: Cli, environment: Emulator
) -> None:
    result = cli(
        "embeddings", "--start", START, "--end", END, "--group-by", "model", "--format", "table"
    )
    assert result.code == 0, result.err
    assert result.out.startswith("embeddings: daily buckets, UTC\n")
    lines = result.out.splitlines()
    expected = expected_rows(environment, "embeddings", {"group_by": ["model"]})
    for row in expected:
        day = row["start_time"][:10]  # daily buckets: the date alone
        line = next((text for text in lines if text.split()[:2] == [day, row["model"]]), None)
        assert line is not None, f"no table line for {day} {row['model']}"
        assert f"{row['input_tokens']:,}" in line
        assert f"{row['num_model_requests']:,}" in line
        assert "T00:00:00Z" not in line


def test_a_period_without_usage_gives_a_header_only_csv_and_an_empty_json_array(
    cli: Cli,
) -> None:
    before_any_usage = ("completions", "--start", "2023-01-01", "--end", "2023-01-03")
    as_csv = cli(*before_any_usage, "--format", "csv")
    as_json = cli(*before_any_usage, "--format", "json")
    assert (as_csv.code, as_json.code) == (0, 0)
    assert as_csv.out.splitlines() == [",".join(ua.row_fields(ua.CompletionsResult, ()))]
    assert orjson.loads(as_json.out) == []


class RequestCountingStdout(io.StringIO):
    """stdout that notes how many requests the emulator had served when each row arrived."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator
        self.requests_at_write: list[int] = []

    def write(self, text: str) -> int:
        self.requests_at_write.append(self.emulator.stats.requests)
        return super().write(text)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_rows_are_written_as_pages_arrive_not_after_the_whole_range(
    cli: Cli, environment: Emulator, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    stdout = RequestCountingStdout(environment)
    monkeypatch.setattr(sys, "stdout", stdout)
    before = environment.stats.requests
    # 72 hourly buckets, 24 a page, one page at a time: three requests.
    result = cli(
        "moderations", "--start", START, "--end", END, "--bucket-width", "1h", "--limit", "24",
        "--concurrency", "1", "--format", fmt,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert environment.stats.requests - before == 3
    served_at_each_write = [n - before for n in stdout.requests_at_write]
    assert 1 in served_at_each_write, "nothing was written before the last page was fetched"
    assert "2026-11-04T00:00:00Z" in stdout.getvalue()  # the last bucket made it out


def test_columns_picks_and_orders_the_fields_of_csv_and_json(cli: Cli) -> None:
    args = ("completions", "--start", START, "--end", END, "--group-by", "model")
    picked = ("--columns", "model,num_model_requests", "--columns", "start_time")
    as_csv = cli(*args, *picked, "--format", "csv")
    as_json = cli(*args, *picked, "--format", "json")
    assert as_csv.code == as_json.code == 0
    assert as_csv.out.splitlines()[0] == "model,num_model_requests,start_time"
    assert all(list(row) == ["model", "num_model_requests", "start_time"]
               for row in orjson.loads(as_json.out))  # fmt: skip


def test_a_grouping_column_without_its_group_by_is_a_usage_error(cli: Cli) -> None:
    result = cli("completions", "--start", START, "--columns", "start_time,model")
    assert result.code == 2
    assert "--columns model needs --group-by model" in result.err


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_cost_quantities_are_exact_in_every_machine_format(
    cli: Cli, environment: Emulator, fmt: str
) -> None:
    result = cli(
        "costs", "--start", START, "--end", END, "--group-by", "line_item",
        "--columns", "line_item,quantity", "--format", fmt,
    )  # fmt: skip
    assert result.code == 0, result.err
    expected = [
        str(row["quantity"])
        for row in expected_rows(environment, "costs", {"group_by": ["line_item"]})
    ]
    if fmt == "csv":
        got = [line.rsplit(",", 1)[1] for line in result.out.splitlines()[1:]]
    elif fmt == "jsonl":
        got = [orjson.loads(line)["quantity"] for line in result.out.splitlines()]
    else:
        got = [row["quantity"] for row in orjson.loads(result.out)]
    assert got == expected
    assert not any(text.endswith(".0") for text in got)  # 1702952, never 1702952.0
