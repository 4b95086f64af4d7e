"""The one grammar of times and spans that every layer parses with, and the UTC text of times."""

from __future__ import annotations

import pytest

from usage_async._time import TimeSyntaxError, iso_utc, parse_duration, parse_when

NOW = 1_794_000_000  # 2026-11-06T21:20:00Z


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-11-01", 1_793_491_200),
        ("2026-11-01T12:30", 1_793_491_200 + 12 * 3600 + 1800),
        ("2026-11-01T12:30:00Z", 1_793_491_200 + 12 * 3600 + 1800),
        ("2026-11-01T12:30:00+02:00", 1_793_491_200 + 10 * 3600 + 1800),
        ("90m", NOW - 90 * 60),
        ("24h", NOW - 86400),
        ("7d", NOW - 7 * 86400),
        ("2w", NOW - 14 * 86400),
        ("now", NOW),
        ("today", 1_793_923_200),  # 2026-11-06T00:00:00Z
        ("yesterday", 1_793_836_800),  # 2026-11-05T00:00:00Z
        ("this-month", 1_793_491_200),  # 2026-11-01T00:00:00Z
        ("last-month", 1_790_812_800),  # 2026-10-01T00:00:00Z
    ],
)
def test_when_is_an_iso_time_in_utc_unless_offset_or_a_span_before_now(
    text: str, seconds: int
) -> None:
    assert parse_when(text, NOW).seconds == seconds


@pytest.mark.parametrize(
    "text", ["last tuesday", "7 days", "-3d", "2026-13-01", "2026-11-01T00:00:00.5", "1969-12-31"]
)
def test_a_when_that_is_neither_a_time_nor_a_span_is_refused(text: str) -> None:
    with pytest.raises(TimeSyntaxError):
        parse_when(text, NOW)


@pytest.mark.parametrize("span", ["90m", "24h", "7d", "2w"])
def test_a_span_before_now_is_the_duration_of_the_same_text(span: str) -> None:
    assert NOW - parse_when(span, NOW).seconds == parse_duration(span)


@pytest.mark.parametrize("text", ["1d12h", "90s"])
def test_a_when_span_is_one_part_in_grid_units_where_a_duration_may_be_more(text: str) -> None:
    parse_duration(text)  # a duration (--settle, --every)...
    with pytest.raises(TimeSyntaxError, match="is not a WHEN"):
        parse_when(text, NOW)  # ...but not a WHEN, as --start has always said


@pytest.mark.parametrize(
    ("now", "text", "day"),
    [
        ("2027-01-15T08:00:00Z", "last-month", "2026-12-01"),
        ("2027-01-01T00:00:00Z", "yesterday", "2026-12-31"),
        ("2027-01-01T00:00:00Z", "today", "2027-01-01"),
        ("2026-03-31T23:59:59Z", "this-month", "2026-03-01"),
        ("2026-03-31T23:59:59Z", "last-month", "2026-02-01"),
    ],
)
def test_named_days_and_months_start_at_utc_midnight_across_year_ends(
    now: str, text: str, day: str
) -> None:
    when = parse_when(text, parse_when(now, 0).seconds)
    assert iso_utc(when.seconds) == f"{day}T00:00:00Z"
    # A fixed moment, not a span: --since last-month is the 1st, however late the run starts.
    assert not when.relative


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-31", "2026-11-31 is not a day: November 2026 has 30 days"),
        ("2026-02-29T12:00", "2026-02-29 is not a day: February 2026 has 28 days"),
        ("2026-13-01", "2026-13-01 is not a day: there is no month 13"),
    ],
)
def test_a_date_that_does_not_exist_says_why(text: str, message: str) -> None:
    with pytest.raises(TimeSyntaxError) as refused:
        parse_when(text, NOW)
    assert str(refused.value) == message


def test_a_leap_day_exists_in_a_leap_year() -> None:
    assert iso_utc(parse_when("2028-02-29", NOW).seconds) == "2028-02-29T00:00:00Z"
