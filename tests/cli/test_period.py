"""Ranges: relative WHENs on the bucket grid, ends clamped to now, and empty results said."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from collections.abc import Callable, Iterator

import pytest

from usage_async._time import parse_when
from usage_async.cli._period import Period, resolve_period
from usage_async.emulator import Emulator, serve

from .conftest import END, START, START_TS, Result, console_script, served, user_environment

Cli = Callable[..., Result]

NOW = 1_794_000_059  # 2026-11-06T21:20:59Z, a second that is on no grid
DAY, HOUR, MINUTE = 86400, 3600, 60


def period(start: str, end: str | None, grid: int) -> Period:
    return resolve_period(parse_when(start, NOW), parse_when(end, NOW) if end else None, grid, NOW)


@pytest.mark.parametrize(
    ("start", "grid", "first"),
    [
        ("2d", DAY, "2026-11-04T00:00:00"),
        ("7d", DAY, "2026-10-30T00:00:00"),
        ("24h", HOUR, "2026-11-05T21:00:00"),
        ("90m", MINUTE, "2026-11-06T19:50:00"),
        ("now", HOUR, "2026-11-06T21:00:00"),
        ("2026-11-01T12:30:15", DAY, "2026-11-01T12:30:15"),  # typed exactly: kept exactly
    ],
)
def test_a_relative_start_is_rounded_down_to_the_bucket_grid(
    start: str, grid: int, first: str
) -> None:
    got = period(start, None, grid)
    assert dt.datetime.fromtimestamp(got.start, dt.UTC).isoformat() == first + "+00:00"
    assert got.end is None


def test_a_relative_end_is_rounded_down_too_and_now_or_later_means_up_to_now() -> None:
    assert period("7d", "1d", DAY).end == NOW - NOW % DAY - DAY
    assert period("7d", "now", DAY).end is None
    assert period("7d", "2030-01-01", DAY).end is None
    assert period("2026-11-01", "2026-11-03T06:00", DAY).end == 1_793_491_200 + 2 * DAY + 6 * HOUR


def rows(result: Result) -> list[dict[str, str]]:
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def seconds(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize(
    ("argv", "width"),
    [
        (["--start", "2d"], DAY),
        (["--start", "5h", "--bucket-width", "1h"], HOUR),
        (["--start", "7m", "--bucket-width", "1m"], MINUTE),
    ],
    ids=["days", "hours", "minutes"],
)
def test_relative_ranges_give_whole_buckets_but_the_one_in_progress(
    cli: Cli, argv: list[str], width: int
) -> None:
    # Vector stores report a level, so every bucket has a row, even in quiet hours.
    got = rows(cli("vector_stores", *argv, "--format", "csv"))
    buckets = [(seconds(r["start_time"]), seconds(r["end_time"])) for r in got]
    assert len(buckets) >= 2
    assert all(start % width == 0 for start, _ in buckets), "a bucket starts off the grid"
    *closed, last = buckets
    assert all(end - start == width for start, end in closed), "a short bucket before the last"
    assert 0 < last[1] - last[0] <= width


def test_a_range_wholly_in_the_future_is_a_usage_error_before_any_request(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9: a request would end in exit 1, not 2.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    for command in ("completions", "costs", "report"):
        result = cli(command, "--start", "2099-01-01")
        assert result.code == 2, (command, result.err)
        assert result.out == ""
        assert "error: --start 2099-01-01 is in the future (now is " in result.err


@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [
        ("last-month", "this-month", "2026-10-01", "2026-10-31"),
        ("this-month", None, "2026-11-01", "2026-11-06"),
        ("yesterday", "today", "2026-11-05", "2026-11-05"),
    ],
)
def test_named_days_and_months_give_whole_utc_days_and_months(
    start: str, end: str | None, first: str, last: str
) -> None:
    got = period(start, end, DAY)
    assert dt.datetime.fromtimestamp(got.start, dt.UTC).date().isoformat() == first
    end_seconds = got.end if got.end is not None else NOW
    assert dt.datetime.fromtimestamp(end_seconds - 1, dt.UTC).date().isoformat() == last


def test_last_month_to_this_month_pulls_every_day_of_last_month(cli: Cli) -> None:
    got = rows(cli("vector_stores", "--start", "last-month", "--end", "this-month"))
    today = dt.datetime.now(dt.UTC).date()
    last_month_end = today.replace(day=1)
    first = (last_month_end - dt.timedelta(days=1)).replace(day=1)
    days = [r["start_time"][:10] for r in got]
    assert days[0] == first.isoformat()
    assert days[-1] == (last_month_end - dt.timedelta(days=1)).isoformat()
    assert len(days) == (last_month_end - first).days


def test_a_day_that_does_not_exist_is_named_as_such(cli: Cli) -> None:
    result = cli("costs", "--start", "2026-11-31")
    assert result.code == 2
    assert "2026-11-31 is not a day: November 2026 has 30 days" in result.err


def test_an_empty_result_repeats_the_filters_as_flags_and_the_table_prints_nothing(
    cli: Cli,
) -> None:
    result = cli(
        "costs", "--start", START, "--end", END, "--line-item", "no such, item",
        "--project-id", "proj_none", "--format", "table",
    )  # fmt: skip
    assert result.code == 0
    assert result.out == ""
    assert result.err == (
        "usage-async: no costs results from 2026-11-01 00:00 UTC to 2026-11-04 00:00 UTC "
        "with --project-id proj_none --line-item 'no such, item'\n"
    )


# --- The server's clock, not this machine's --------------------------------------------------

SERVER_NOW = START_TS + DAY + 12 * HOUR  # 2026-11-02 12:00 UTC, weeks before this machine's now


@pytest.fixture(scope="module")
def behind() -> Iterator[Emulator]:
    """An emulator whose clock (its ``Date``, the end of open ranges) is pinned in the past."""
    with served(lambda: serve(port=0, now=lambda: SERVER_NOW)) as running:
        yield running


def test_the_bucket_in_progress_is_the_one_the_servers_clock_is_in(behind: Emulator) -> None:
    done = subprocess.run(
        [console_script(), "vector_stores", "--start", START, "--format", "table"],
        env=user_environment(behind), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines if line.startswith("2026-")] == [
        "2026-11-01",
        "2026-11-02*",
    ]
    assert "* in progress" in lines


def test_an_empty_range_is_in_the_future_by_the_servers_clock(behind: Emulator) -> None:
    done = subprocess.run(
        [console_script(), "completions", "--start", "2026-11-10"],
        env=user_environment(behind), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "usage-async: no completions results from 2026-11-10 00:00 UTC to now "
        "(2026-11-02 12:00 UTC); --start 2026-11-10 is in the future\n"
    )


def test_the_syncs_since_takes_the_named_months_as_their_first_moment() -> None:
    from usage_async.cli._main import build_parser

    since = build_parser(NOW).parse_args(["sync", "--since", "last-month"]).since
    today = dt.datetime.now(dt.UTC).date().replace(day=1)
    first = (today - dt.timedelta(days=1)).replace(day=1)
    assert since == int(dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC).timestamp())
