"""Arguments: flags generated from the endpoint table, WHEN parsing, and usage errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import usage_async as ua
from usage_async.cli._main import build_parser
from usage_async.emulator import Emulator

from .conftest import END, END_TS, START, START_TS, Result, library_rows

Cli = Callable[..., Result]

NOW = 1_794_000_000  # 2026-11-06T21:20:00Z


def singular_flag(filter_name: str) -> str:
    return "--" + filter_name.removesuffix("s").replace("_", "-")


@pytest.mark.parametrize("endpoint", list(ua.ENDPOINTS.values()), ids=lambda e: e.name)
def test_every_filter_of_every_endpoint_has_a_repeatable_singular_flag(
    endpoint: ua.Endpoint,
) -> None:
    argv = [endpoint.name, "--start", "7d"]
    expected: dict[str, object] = {}
    for spec in endpoint.filters:
        if spec.kind == "bool":
            argv.append("--no-batch")
            expected[spec.name] = False
        else:
            first, second = spec.choices[:2] if spec.choices else ("a1", "b2")
            flag = singular_flag(spec.name)
            argv += [flag, first, flag, second]
            expected[spec.name] = [first, second]
    args = build_parser(NOW).parse_args(argv)
    assert {name: getattr(args, name) for name in expected} == expected


def test_costs_help_offers_only_daily_buckets_and_its_own_group_by_fields(cli: Cli) -> None:
    result = cli("costs", "--help")
    assert result.code == 0
    assert "--bucket-width {1d}" in result.out
    for field in ua.ENDPOINTS["costs"].group_by:
        assert field in result.out
    for flag in ("--project-id", "--api-key-id", "--line-item"):
        assert flag in result.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["nonsense", "--start", "7d"], "invalid choice: 'nonsense'", id="endpoint"),
        pytest.param(
            ["completions", "--start", "7d", "--group-by", "colour"],
            "unknown value 'colour'",
            id="group-by",
        ),
        pytest.param(["completions", "--start", "last tuesday"], "is not a WHEN", id="when"),
        pytest.param(["completions"], "--start", id="missing-start"),
        pytest.param(
            ["costs", "--start", START, "--limit", "181"],
            "--limit 181 is more than a page holds: at most 180 for costs with --bucket-width 1d",
            id="limit-over-the-costs-maximum",
        ),
        pytest.param(
            ["completions", "--start", "2026-11-24", "--limit", "5000"],
            "--limit 5000 is more than a page holds: at most 31 for completions",
            id="limit-over-the-daily-maximum",
        ),
        pytest.param(
            ["completions", "--start", START, "--bucket-width", "1h", "--limit", "0"],
            "argument --limit: must be at least 1",
            id="limit-zero",
        ),
        pytest.param(
            ["costs", "--start", START, "--bucket-width", "1h"],
            "invalid choice: '1h'",
            id="hourly-costs",
        ),
        pytest.param(
            ["images", "--start", START, "--size", "9x9"], "unknown value '9x9'", id="enum-filter"
        ),
        pytest.param(
            ["completions", "--start", "2026-11-25", "--end", "2026-11-24"],
            "--end 2026-11-24 is before --start 2026-11-25",
            id="reversed",
        ),
        pytest.param(
            ["costs", "--start", "2026-11-25T00:00Z", "--end", "2026-11-25"],
            "--end 2026-11-25 is the same moment as --start 2026-11-25T00:00Z",
            id="empty-range",
        ),
        pytest.param(
            ["report", "--start", "2026-11-25", "--end", "2026-11-24"],
            "--end 2026-11-24 is before --start 2026-11-25",
            id="report-reversed",
        ),
        pytest.param(
            ["completions", "--start", "2h", "--end", "1h"],
            "--start 2h and --end 1h fall in the same UTC day",
            id="relative-range-inside-one-bucket",
        ),
        pytest.param(
            ["completions", "--start", START, "--base-url", "http://example.invalid/v1"],
            "--base-url http://example.invalid/v1 is plain http to another machine",
            id="insecure-base-url",
        ),
        pytest.param(
            ["completions", "--start", START, "--base-url", "ftp://example.com/v1"],
            "--base-url ftp://example.com/v1 is not an http(s) URL",
            id="not-http",
        ),
        pytest.param(
            ["completions", "--start", START, "--model", ""], "empty value", id="empty-model"
        ),
        pytest.param(["emulator", "--fault-rate", "1.5"], "between 0.0 and 1.0", id="fault-rate"),
        pytest.param(["emulator", "--port", "70000"], "between 0 and 65535", id="port"),
        pytest.param(
            ["completions", "--start", START, "--concurrency", "0"], "at least 1", id="concurrency"
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_usage_message(
    cli: Cli, argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2026-12-01T21:20:00Z, after every date above: "2h" and "1h" ago share its UTC day,
    # as they would not in a run at 01:00.
    monkeypatch.setattr(time, "time", lambda: 1_796_160_000.0)
    result = cli(*argv)
    assert result.code == 2
    assert result.out == ""
    assert "usage: usage-async" in result.err
    assert "error:" in result.err
    assert message in result.err
    # The library's names for things are not the command line's.
    for library_word in ("start_time", "end_time", "bucket_width", "allow_insecure", "="):
        assert library_word not in result.err.rsplit("error:", 1)[1]


def test_help_and_version_exit_0(cli: Cli) -> None:
    assert cli("--version").out.strip() == f"usage-async {ua.__version__}"
    result = cli("--help")
    assert result.code == 0
    for name in (*ua.ENDPOINTS, "report", "demo", "emulator"):
        assert name in result.out


def test_a_line_item_with_a_comma_is_one_value_and_finds_its_cost(
    cli: Cli, environment: Emulator
) -> None:
    line_item = "gpt-4o-2024-08-06, input"
    result = cli(
        "costs", "--start", START, "--end", END, "--line-item", line_item, "--format", "csv"
    )
    assert result.code == 0, result.err
    expected = library_rows(
        environment, "costs", start_time=START_TS, end_time=END_TS, line_items=[line_item]
    )
    assert expected, "the emulator bills this line item, or the comparison proves nothing"
    body = result.out.splitlines()[1:]
    assert len(body) == len(expected)
    assert [line.split(",")[2] for line in body] == [str(row["amount"]) for row in expected]


def test_free_text_filters_take_each_flag_value_whole_and_choices_split_on_commas() -> None:
    args = build_parser(NOW).parse_args(
        ["images", "--start", "7d", "--model", "a,b", "--model", "c",
         "--size", "256x256,512x512", "--group-by", "model,size"]
    )  # fmt: skip
    assert args.models == ["a,b", "c"]
    assert args.sizes == ["256x256", "512x512"]
    assert args.group_by == ["model", "size"]


def test_an_insecure_url_from_the_environment_is_named_as_the_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://usage.internal/v1")
    result = cli("completions", "--start", START)
    assert result.code == 2
    assert "$OPENAI_BASE_URL http://usage.internal/v1 is plain http" in result.err
    assert "--allow-insecure" in result.err


def test_allow_insecure_lets_a_plain_http_url_to_a_non_loopback_address_through(
    cli: Cli, environment: Emulator
) -> None:
    # 0.0.0.0 is not a loopback address to the client's check, yet connecting to it reaches
    # this machine, where the emulator listens.
    port = environment.base_url.split(":")[2].split("/")[0]
    url = f"http://0.0.0.0:{port}/v1"
    refused = cli("costs", "--start", START, "--end", END, "--base-url", url)
    allowed = cli("costs", "--start", START, "--end", END, "--base-url", url, "--allow-insecure")
    assert refused.code == 2
    assert "--allow-insecure" in refused.err
    assert allowed.code == 0, allowed.err
    assert allowed.out.startswith("start_time,end_time,amount")


def test_python_dash_m_usage_async_cli_runs_the_command_line() -> None:
    # It did before the command line became a package (usage_async/cli.py ran as __main__):
    # where no console script is on PATH, `python -m usage_async.cli` is the way to run it.
    done = subprocess.run(
        [sys.executable, "-m", "usage_async.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage-async ")


def test_the_key_file_gives_the_key_or_exit_2_saying_what_is_wrong_with_it(
    cli: Cli, environment: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY")
    good, empty = tmp_path / "key", tmp_path / "empty"
    good.write_text(f"  {environment.api_key}  \nsecond line\n")
    empty.write_text("\nsk-admin-on-line-two\n")
    result = cli("projects", "--api-key-file", str(good), "--format", "csv")
    assert result.code == 0, result.err
    assert result.out.startswith("id,")
    for path, complaint in (
        (empty, f"the key file {empty} is empty; put the admin key on line 1"),
        (tmp_path / "missing", "cannot read the key file"),
    ):
        refused = cli("projects", "--api-key-file", str(path))
        assert refused.code == 2
        assert f"--api-key-file: {complaint}" in refused.err
        assert "sk-admin-on-line-two" not in refused.err


API_COMMANDS = sorted(
    {*ua.ENDPOINTS, "report", "projects", "users", "api-keys", "service-accounts", "focus", "sync"}
)


@pytest.mark.parametrize("command", API_COMMANDS)
def test_every_command_that_talks_to_the_api_takes_the_same_connection_flags(
    cli: Cli, command: str
) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    for flag in ("--base-url", "--api-key-file", "--allow-insecure"):
        assert flag in result.out, f"{command} {flag}"


@pytest.mark.parametrize(
    "argv",
    [
        ["focus", "--start", START, "--end", END, "--organization", "org-x"],
        ["sync", "--since", START, "--endpoint", "costs", "--bucket-width", "1d"],
    ],
    ids=["focus", "sync"],
)
def test_focus_and_sync_take_allow_insecure_too(
    cli: Cli, environment: Emulator, argv: list[str], tmp_path: Path
) -> None:
    port = environment.base_url.split(":")[2].split("/")[0]
    url = f"http://0.0.0.0:{port}/v1"
    if argv[0] == "sync":
        argv = [*argv, f"sqlite:///{tmp_path}/usage.db"]
    refused = cli(*argv, "--base-url", url)
    allowed = cli(*argv, "--base-url", url, "--allow-insecure")
    assert refused.code == 2
    assert allowed.code == 0, allowed.err
