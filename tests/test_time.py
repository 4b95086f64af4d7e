"""The one grammar of times and spans that every layer parses with, and the UTC text of times."""

from __future__ import annotations

import pytest

from usage_async._time import TimeSyntaxError, parse_duration, parse_when

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
    ],
)
def test_when_is_an_iso_time_in_utc_unless_offset_or_a_span_before_now(
    text: str, seconds: int
) -> None:
    assert parse_when(text, NOW).seconds == seconds


@pytest.mark.parametrize(
    "text", ["yesterday", "7 days", "-3d", "2026-13-01", "2026-11-01T00:00:00.5", "1969-12-31"]
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
