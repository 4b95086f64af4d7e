"""The live API's bucket rules: where buckets start and end, defaults, pages, empty buckets."""

from __future__ import annotations

import pytest

import usage_async as ua
from usage_async._endpoints import BUCKET_SECONDS

from .conftest import DAY, MIDNIGHT, NOW, LiveEmulator

USAGE = [name for name, e in ua.ENDPOINTS.items() if not e.whole_days]


def test_usage_buckets_start_exactly_at_start_time_even_mid_hour(live: LiveEmulator) -> None:
    start = MIDNIGHT - 3 * DAY + 1234
    page = live.page("completions", [("start_time", str(start)), ("bucket_width", "1h")])
    starts = [b["start_time"] for b in page["data"]]
    assert starts == [start + i * 3600 for i in range(24)]
    assert all(b["end_time"] == b["start_time"] + 3600 for b in page["data"])


def test_partial_last_bucket_ends_at_end_time(live: LiveEmulator) -> None:
    start = MIDNIGHT - 3 * DAY
    end = start + 2 * 3600 + 1800
    buckets = live.buckets(
        "embeddings",
        [("start_time", str(start)), ("end_time", str(end)), ("bucket_width", "1h")],
    )
    assert [(b["start_time"], b["end_time"]) for b in buckets] == [
        (start, start + 3600),
        (start + 3600, start + 7200),
        (start + 7200, end),
    ]


@pytest.mark.parametrize("end_time", [None, NOW + 30 * DAY], ids=["open", "future"])
def test_range_without_end_or_ending_in_the_future_stops_at_now(
    live: LiveEmulator, end_time: int | None
) -> None:
    query = [("start_time", str(NOW - 5 * 3600 - 10)), ("bucket_width", "1h")]
    if end_time is not None:
        query.append(("end_time", str(end_time)))
    buckets = live.buckets("completions", query)
    assert len(buckets) == 6
    assert buckets[-1]["end_time"] == NOW


def test_range_starting_in_the_future_is_an_empty_last_page(live: LiveEmulator) -> None:
    page = live.page("completions", [("start_time", str(NOW + 3600))])
    assert page == {"object": "page", "data": [], "has_more": False, "next_page": None}


def test_costs_buckets_are_whole_utc_days_from_midnight(live: LiveEmulator) -> None:
    start = MIDNIGHT - 3 * DAY + 40000
    buckets = live.buckets("costs", [("start_time", str(start))])
    assert [b["start_time"] for b in buckets] == [MIDNIGHT - d * DAY for d in (3, 2, 1, 0)]
    assert [b["end_time"] for b in buckets] == [MIDNIGHT - d * DAY for d in (2, 1, 0)] + [NOW]


@pytest.mark.parametrize("endpoint", USAGE)
@pytest.mark.parametrize("width", ["1d", "1h", "1m", None])
def test_default_page_size_is_the_tables_default_for_the_width(
    live: LiveEmulator, endpoint: str, width: str | None
) -> None:
    seconds = BUCKET_SECONDS[width or "1d"]
    expected = ua.ENDPOINTS[endpoint].page_limit(width).default
    query = [("start_time", str(NOW - 100 * seconds))]
    if width is not None:
        query.append(("bucket_width", width))
    page = live.page(endpoint, query)
    assert len(page["data"]) == expected
    assert page["has_more"] is True
    assert isinstance(page["next_page"], str)


def test_pages_hold_limit_buckets_and_the_last_has_no_cursor(live: LiveEmulator) -> None:
    query = [("start_time", str(MIDNIGHT - 10 * DAY)), ("limit", "4")]
    first = live.page("code_interpreter_sessions", query)
    second = live.page("code_interpreter_sessions", [*query, ("page", first["next_page"])])
    third = live.page("code_interpreter_sessions", [*query, ("page", second["next_page"])])
    assert [len(p["data"]) for p in (first, second, third)] == [4, 4, 3]
    assert [p["has_more"] for p in (first, second, third)] == [True, True, False]
    assert third["next_page"] is None
    assert third["data"][-1]["end_time"] == NOW


def test_quiet_hours_give_empty_buckets_and_busy_hours_give_results(live: LiveEmulator) -> None:
    buckets = live.buckets(
        "images",
        [
            ("start_time", str(MIDNIGHT - 7 * DAY)),
            ("end_time", str(MIDNIGHT)),
            ("bucket_width", "1h"),
            ("limit", "168"),
        ],
    )
    assert len(buckets) == 168
    empty = sum(1 for b in buckets if b["results"] == [])
    assert 0 < empty < 168


@pytest.mark.parametrize("endpoint", [*USAGE, "costs"])
def test_rows_carry_every_grouping_field_null_unless_grouped(
    live: LiveEmulator, endpoint: str
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    grouped = spec.group_by[0]
    buckets = live.buckets(
        endpoint,
        [
            ("start_time", str(MIDNIGHT - 3 * DAY)),
            ("end_time", str(MIDNIGHT)),
            ("group_by[]", grouped),
        ],
    )
    rows = [row for b in buckets for row in b["results"]]
    assert rows, "three days without any usage"
    for row in rows:
        assert row["object"] == spec.result_object
        assert row[grouped] is not None
        assert all(row[other] is None for other in spec.group_by if other != grouped)


def test_no_usage_exists_before_the_organization_was_created(live: LiveEmulator) -> None:
    buckets = live.buckets(
        "completions",
        [("start_time", str(1_700_000_000)), ("end_time", str(1_700_000_000 + 7 * DAY))],
    )
    assert len(buckets) == 7
    assert all(b["results"] == [] for b in buckets)
