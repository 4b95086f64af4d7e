"""Exact sums and cents that add up: the arithmetic under every table of the report."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usage_async.report._money import apportion, cents, exact_sum, money_text

# Amounts as the API sends them: up to forty decimals, credits (negative) included.
amounts = st.decimals(
    min_value=Decimal("-1000000"),
    max_value=Decimal("1000000"),
    places=12,
    allow_nan=False,
    allow_infinity=False,
)
long_amounts = st.builds(
    lambda units, digits: Decimal(units) + Decimal(f"0.{digits}"),
    st.integers(-(10**6), 10**6),
    st.text("0123456789", min_size=1, max_size=40),
)


@given(st.lists(st.one_of(amounts, long_amounts), max_size=40))
def test_apportioned_cents_add_up_and_stay_within_a_cent_of_each_amount(
    values: list[Decimal],
) -> None:
    total = cents(exact_sum(values))
    shown = apportion(values, total)
    assert sum(shown) == total
    for value, share in zip(values, shown, strict=True):
        assert abs(value * 100 - share) < 1


@given(st.lists(long_amounts, min_size=1, max_size=60))
def test_sums_are_exact_where_decimal_arithmetic_would_round(values: list[Decimal]) -> None:
    # Python's default context keeps 28 digits: a million with forty decimals has 47.
    assert Fraction(exact_sum(values)) == sum(Fraction(v) for v in values)


def test_the_leftover_cent_goes_to_the_largest_remainder_then_the_first() -> None:
    thirds = [Decimal("0.005")] * 3  # 0.015: two cents, not three
    assert apportion(thirds, cents(exact_sum(thirds))) == [1, 1, 0]
    assert apportion([Decimal("0.004"), Decimal("0.006")], 1) == [0, 1]


def test_a_total_no_rounding_can_reach_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot add up"):
        apportion([Decimal("1.001"), Decimal("2.001")], 500)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("1234.565", "1,234.57"),  # half a cent rounds up, as a cashier would
        ("0.004500000000000000000000000000000000000", "0.00"),
        ("0E-6176", "0.00"),
        ("-1234567.891", "-1,234,567.89"),
        ("1000000", "1,000,000.00"),
    ],
)
def test_amounts_read_as_people_read_money(amount: str, shown: str) -> None:
    assert money_text(cents(Decimal(amount))) == shown
