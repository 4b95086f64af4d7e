"""The reference's FOCUS conformance checks (focus.md section 5), on the emulator's 60 days.

The export is the CSV a FinOps tool would load: every rule is checked on the file's text,
so a formatting slip (an exponent, an empty string, a lower-case currency) fails here before
the FinOps Foundation's validator sees it in CI.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections import Counter
from decimal import Decimal

from usage_async.focus import focus_number

from .conftest import ACCOUNT, Export

EXACT = decimal.Context(prec=decimal.MAX_PREC)  # sums in the default context round

MANDATORY = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
]
# Columns FOCUS never allows null (section 1, N = n) that this export emits.
NEVER_NULL = [
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
]
# ... and those FOCUS wants filled when the data is complete, as the emulator's is.
FILLED_WHEN_COMPLETE = [
    "BillingAccountName",
    "ChargeDescription",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
]
DECIMALS = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]
QUANTITIES = ["ConsumedQuantity", "PricingQuantity"]
DATES = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"]
NUMBER = re.compile(r"-?\d+(\.\d+)?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# The ISO 4217 codes the Costs API bills in (it has only ever sent usd).
ISO_4217 = {"USD", "EUR", "GBP", "JPY", "CAD", "AUD"}


def test_the_export_has_rows_over_three_billing_months(emulator_export: Export) -> None:
    months = {row["BillingPeriodStart"] for row in emulator_export.rows}
    assert months == {"2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"}
    assert len(emulator_export.rows) > 1000


def test_1_mandatory_columns_are_present_and_custom_columns_come_last(
    emulator_export: Export,
) -> None:
    header = emulator_export.header
    assert set(MANDATORY) <= set(header)
    custom = [name for name in header if not name[0].isupper()]
    assert custom
    assert all(name.startswith("x_") for name in custom)
    assert header[-len(custom) :] == custom
    focus = header[: -len(custom)]
    assert focus == sorted(focus), "FOCUS columns in the specification's (alphabetical) order"
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) and len(name) <= 50 for name in focus)


def test_2_non_null_columns_are_never_empty(emulator_export: Export) -> None:
    for row in emulator_export.rows:
        for name in NEVER_NULL + FILLED_WHEN_COMPLETE:
            assert row[name] != "", (name, row)
    assert emulator_export.summary.gaps == Counter()


def test_3_decimals_and_dates_have_the_focus_formats(emulator_export: Export) -> None:
    for row in emulator_export.rows:
        for name in DECIMALS + QUANTITIES:
            assert NUMBER.fullmatch(row[name]), (name, row[name])
        for name in DATES:
            assert DATE.fullmatch(row[name]), (name, row[name])


def test_4_enumerated_values_are_allowed_and_charge_class_is_null(
    emulator_export: Export,
) -> None:
    for row in emulator_export.rows:
        assert row["ChargeCategory"] in {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
        assert row["ChargeFrequency"] in {"One-Time", "Recurring", "Usage-Based"}
        assert (row["ServiceCategory"], row["ServiceSubcategory"]) == (
            "AI and Machine Learning",
            "Generative AI",
        )
        assert row["ChargeClass"] == ""


def test_5_units_pair_with_quantities_and_names_with_ids(emulator_export: Export) -> None:
    for row in emulator_export.rows:
        assert (row["ConsumedQuantity"] == "") == (row["ConsumedUnit"] == "")
        assert (row["PricingQuantity"] == "") == (row["PricingUnit"] == "")
        assert (row["SubAccountId"] == "") == (row["SubAccountName"] == "")
        if row["SkuId"] == "":
            assert row["SkuMeter"] == ""
    units = {row["ConsumedUnit"] for row in emulator_export.rows}
    assert units <= {"Tokens", "Images", "Characters", "Seconds", "GiB-Hours", "Calls", "Sessions"}
    assert "GiB-Hours" in units
    names = {row["SubAccountName"] for row in emulator_export.rows}
    assert "Support Copilot" in names


def test_6_charge_periods_lie_in_their_billing_month(emulator_export: Export) -> None:
    for row in emulator_export.rows:
        start, end = row["BillingPeriodStart"], row["BillingPeriodEnd"]
        assert start <= row["ChargePeriodStart"] < row["ChargePeriodEnd"] <= end
        assert start.endswith("-01T00:00:00Z")
        assert end.endswith("-01T00:00:00Z")
        year, month = int(start[:4]), int(start[5:7])
        following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
        assert end.startswith(following)


def test_7_the_billing_currency_is_upper_case_iso_4217(emulator_export: Export) -> None:
    assert {row["BillingCurrency"] for row in emulator_export.rows} <= ISO_4217


def test_8_costs_agree_per_row_and_add_up_to_the_api_amounts_digit_for_digit(
    emulator_export: Export,
) -> None:
    for row in emulator_export.rows:
        assert row["BilledCost"] == row["EffectiveCost"] == row["ListCost"] == row["ContractedCost"]
    results = [r for bucket in emulator_export.buckets for r in bucket.results]
    assert len(emulator_export.rows) == len(results) == emulator_export.summary.rows

    exported: dict[tuple[str, str, str], Decimal] = {}
    for row in emulator_export.rows:
        key = (row["BillingAccountId"], row["BillingPeriodStart"], row["BillingCurrency"])
        exported[key] = EXACT.add(exported.get(key, Decimal(0)), Decimal(row["BilledCost"]))
    expected: dict[tuple[str, str, str], Decimal] = {}
    for bucket in emulator_export.buckets:
        month = bucket.start.strftime("%Y-%m-01T00:00:00Z")
        for result in bucket.results:
            key = (ACCOUNT, month, result.amount.currency.upper())
            expected[key] = EXACT.add(expected.get(key, Decimal(0)), result.amount.value)
    # Compared as text, which a lost digit changes.
    texts = {key: focus_number(value) for key, value in expected.items()}
    assert {key: focus_number(value) for key, value in exported.items()} == texts
    summary = emulator_export.summary.billed
    assert {tuple(key): focus_number(value) for key, value in summary.items()} == texts

    # The same result, row by row: each (day, line item, project) once, with its amount.
    sent = Counter(
        (bucket.start_time, r.line_item, r.project_id, focus_number(r.amount.value))
        for bucket in emulator_export.buckets
        for r in bucket.results
    )
    written = Counter(
        (
            int(dt.datetime.fromisoformat(row["ChargePeriodStart"]).timestamp()),
            row["SkuId"],
            row["SubAccountId"],
            row["BilledCost"],
        )
        for row in emulator_export.rows
    )
    assert written == sent


def test_9_no_cell_holds_an_exponent_or_a_stand_in_for_null(emulator_export: Export) -> None:
    text = emulator_export.csv_text
    assert "E+" not in text
    assert "E-" not in text
    assert '""' not in text
    for row in emulator_export.rows:
        for value in row.values():
            assert value not in ("N/A", "Unknown", "Not Applicable", "None", "null")
