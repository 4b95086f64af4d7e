"""What a run reads, decided without I/O: durations, settle boundaries, costs segments, types."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

import usage_async as ua
from usage_async._endpoints import COSTS_API_KEY_GROUPING_SINCE
from usage_async.sync import parse_duration
from usage_async.sync._plan import (
    Job,
    Segment,
    segments,
    settled_target,
)
from usage_async.sync._schema import ExactDecimal, UtcDateTime

DAY = 86400
COSTS = ua.ENDPOINTS["costs"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("2d", 172800),
        ("1w", 604800),
        ("1d12h", 129600),
        ("0", 0),  # zero is zero in any unit
        ("0s", 0),
    ],
)
def test_durations_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "2", "00", "0.5", "two days", "-1d", "1y", "1d 2h", "2D", "+2d"]
)
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_settled_until_is_now_minus_settle_on_a_bucket_boundary_never_before_the_start() -> None:
    job = Job(ua.ENDPOINTS["completions"], "1h", (), 2 * DAY)
    now = 1_773_149_107  # 13:25:07
    assert settled_target(job, 0, now) == now - 2 * DAY - 1507
    assert settled_target(job, now - DAY, now) == now - DAY
    daily = Job(COSTS, "1d", (), 2 * DAY)
    assert settled_target(daily, 0, now) % DAY == 0


def test_costs_by_key_are_split_at_2025_12_06_and_nothing_else_is() -> None:
    cut = COSTS_API_KEY_GROUPING_SINCE
    by_key = Job(COSTS, "1d", ("project_id", "api_key_id"), 0)
    assert segments(by_key, cut - 5 * DAY, cut + DAY) == [
        Segment(cut - 5 * DAY, cut, ("project_id",)),
        Segment(cut, cut + DAY, ("project_id", "api_key_id")),
    ]
    assert segments(by_key, cut - 5 * DAY, cut - DAY) == [
        Segment(cut - 5 * DAY, cut - DAY, ("project_id",))
    ]
    assert segments(by_key, cut, cut + DAY) == [
        Segment(cut, cut + DAY, ("project_id", "api_key_id"))
    ]
    usage = Job(ua.ENDPOINTS["completions"], "1h", ("api_key_id",), 0)
    assert segments(usage, cut - DAY, cut + DAY) == [Segment(cut - DAY, cut + DAY, ("api_key_id",))]
    assert segments(usage, cut, cut) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.000004500000000000000000000000000000000"), "0.0000045"),
        (Decimal("0E-6176"), "0"),
        (Decimal("1E+1"), "10"),
        (Decimal("-12.3400"), "-12.34"),
        (Decimal("1234567890.1234567890123456789012345"), "1234567890.1234567890123456789012345"),
        (12366, "12366"),
    ],
)
def test_money_is_stored_as_exact_decimal_text_in_sqlite(value: object, text: str) -> None:
    kind = ExactDecimal()
    assert kind.process_bind_param(value, sqlite.dialect()) == text
    assert kind.process_result_value(text, sqlite.dialect()) == Decimal(text)
    assert kind.process_bind_param(value, postgresql.dialect()) == Decimal(text)


def test_times_are_fixed_width_utc_text_in_sqlite_and_timestamptz_in_postgresql() -> None:
    kind = UtcDateTime()
    moment = dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert kind.process_bind_param(moment, sqlite.dialect()) == "2026-03-01T13:00:00Z"
    assert kind.process_bind_param(1_772_373_600, sqlite.dialect()) == "2026-03-01T14:00:00Z"
    back = kind.process_result_value("2026-03-01T13:00:00Z", sqlite.dialect())
    assert back == moment
    assert back is not None
    assert back.tzinfo == dt.UTC
    column = sa.Column("t", kind)
    assert "TIMESTAMP WITH TIME ZONE" in str(
        sa.schema.CreateTable(sa.Table("x", sa.MetaData(), column)).compile(
            dialect=postgresql.dialect()
        )
    )
    with pytest.raises(ValueError, match="naive"):
        kind.process_bind_param(dt.datetime(2026, 3, 1), sqlite.dialect())


def test_database_urls_get_their_asyncio_driver() -> None:
    from usage_async.sync import database_url

    assert database_url("sqlite:///usage.db").drivername == "sqlite+aiosqlite"
    assert database_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert database_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(ua.InvalidParameterError, match="cannot sync into mysql"):
        database_url("mysql://u@h/db")
