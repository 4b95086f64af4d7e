"""``focus_rows``: what a user of the library sees for complete, incomplete and odd costs."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import serve
from usage_async.focus import focus_number, write_focus

from .conftest import JAN_30, NOW, START, CostsServer, Names, cost, export_from, read_csv

Start = Callable[[Sequence[Sequence[dict[str, Any]]]], Any]


async def test_rows_the_api_left_incomplete_are_written_with_nulls_and_counted(
    costs_server: Start,
) -> None:
    server: CostsServer = await costs_server(
        [
            [
                cost(
                    "2.50",
                    line_item="gpt-4o, input",
                    project_id="proj_a",
                    quantity=1000,
                    quantity_unit="tokens",
                ),
                cost("0.75", project_id="proj_a"),  # no line item, no quantity
                cost("0.10", line_item="gpt-4o, output", quantity=7),  # a quantity, no unit
            ]
        ]
    )
    rows, summary = await export_from(
        server, billing_account_id="org-1", directory=Names({"proj_a": "Alpha"})
    )
    assert len(rows) == summary.rows == 3
    complete, no_line_item, no_unit = rows
    assert complete["ConsumedQuantity"] == Decimal(1000)
    assert complete["PricingUnit"] == "Tokens"
    for name in (
        "ChargeDescription",
        "SkuId",
        "SkuMeter",
        "SkuPriceId",
        "ConsumedQuantity",
        "ConsumedUnit",
        "PricingQuantity",
        "PricingUnit",
        "x_QuantityUnit",
    ):
        assert no_line_item[name] is None, name
    assert no_line_item["BilledCost"] == Decimal("0.75")
    assert no_unit["ConsumedQuantity"] is None  # a quantity without its unit means nothing
    assert no_unit["SubAccountId"] is None
    assert no_unit["SubAccountName"] is None
    assert summary.gaps == Counter(
        {
            "ChargeDescription": 1,
            "SkuId": 1,
            "SkuMeter": 1,
            "SkuPriceId": 1,
            "ConsumedQuantity": 2,
            "ConsumedUnit": 2,
            "PricingQuantity": 2,
            "PricingUnit": 2,
            "BillingAccountName": 3,
        }
    )


async def test_a_cost_without_an_amount_is_reported_and_never_exported_as_zero(
    costs_server: Start,
) -> None:
    server = await costs_server(
        [[cost("1.25", line_item="a"), cost(None, line_item="b", project_id="proj_b")]]
    )
    rows, summary = await export_from(server, billing_account_id="org-1")
    assert [row["SkuId"] for row in rows] == ["a"]
    assert [(day, u.raw.get("line_item")) for day, u in summary.unknown] == [
        ("2026-01-30T00:00:00Z", "b")
    ]
    assert "amount" in summary.unknown[0][1].reason
    assert list(summary.billed.values()) == [Decimal("1.25")]


async def test_the_billing_account_is_the_organization_a_row_carries(costs_server: Start) -> None:
    server = await costs_server(
        [[cost("1", organization_id="org-live", organization_name="Acme", line_item="a")]]
    )
    rows, _ = await export_from(
        server, billing_account_id="org-fallback", billing_account_name="Fallback"
    )
    assert (rows[0]["BillingAccountId"], rows[0]["BillingAccountName"]) == ("org-live", "Acme")


async def test_without_one_in_the_row_the_explicit_account_then_the_clients_is_used(
    costs_server: Start,
) -> None:
    server = await costs_server([[cost("1", line_item="a")]])
    rows, _ = await export_from(server, billing_account_id="org-given", organization="org-client")
    assert rows[0]["BillingAccountId"] == "org-given"
    rows, summary = await export_from(server, organization="org-client")
    assert rows[0]["BillingAccountId"] == "org-client"
    assert rows[0]["BillingAccountName"] is None
    assert summary.gaps["BillingAccountName"] == 1


async def test_an_unknown_billing_account_is_an_error_not_a_made_up_id(
    costs_server: Start,
) -> None:
    server = await costs_server([[cost("1", line_item="a")]])
    with pytest.raises(ua.InvalidParameterError, match="organization_id") as raised:
        await export_from(server)
    assert raised.value.param == "billing_account_id"
    assert "2026-01-30" in str(raised.value)


async def test_amounts_keep_every_digit_and_format_as_plain_focus_numbers(
    costs_server: Start,
) -> None:
    long = "0.000004500000000000000000000000000000001"  # 34 significant digits
    server = await costs_server(
        [[cost(long, line_item="a"), cost("0E-6176", line_item="b"), cost(1e1, line_item="c")]]
    )
    async with ua.UsageClient(server.key, base_url=server.base_url) as client:
        rows = ua.focus_rows(client.costs(start_time=JAN_30), billing_account_id="org-1")
        out = io.StringIO()
        await write_focus(rows, out)
    _, written = read_csv(out.getvalue())
    assert [row["BilledCost"] for row in written] == [long, "0", "10"]
    # The total too, as text: 36 significant digits, where Decimal's + keeps 28.
    assert [str(total) for total in rows.summary.billed.values()] == ["10" + long[1:]]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0E-6176", "0"),
        ("-0.000", "0"),
        ("1E+1", "10"),
        ("1.500", "1.5"),
        ("-2.25", "-2.25"),
        (
            "12345678901234567890.123456789012345678901",
            "12345678901234567890.123456789012345678901",
        ),
    ],
)
def test_focus_numbers_have_no_exponent_no_trailing_zeros_and_no_lost_digits(
    value: str, text: str
) -> None:
    assert focus_number(Decimal(value)) == text


async def test_empty_strings_from_the_api_become_nulls(costs_server: Start) -> None:
    server = await costs_server(
        [[cost("1", line_item="", project_id="proj_a", project_name="", api_key_id="")]]
    )
    rows, _ = await export_from(server, billing_account_id="org-1")
    assert rows[0]["ChargeDescription"] is None
    assert rows[0]["x_ApiKeyId"] is None
    assert rows[0]["SubAccountName"] is None


async def test_project_names_come_from_the_row_else_the_directory_else_stay_null(
    costs_server: Start,
) -> None:
    server = await costs_server(
        [
            [
                cost("1", line_item="a", project_id="proj_a", project_name="Named in row"),
                cost("1", line_item="a", project_id="proj_b"),
                cost("1", line_item="a", project_id="proj_gone"),
            ]
        ]
    )
    directory = Names({"proj_a": "Directory A", "proj_b": "Directory B"})
    rows, summary = await export_from(server, billing_account_id="org-1", directory=directory)
    assert [row["SubAccountName"] for row in rows] == ["Named in row", "Directory B", None]
    assert directory.asked == ["proj_b", "proj_gone"]
    assert summary.gaps["SubAccountName"] == 1


async def test_rows_are_produced_page_by_page_not_after_the_whole_range() -> None:
    async with (
        serve(port=0, now=lambda: NOW) as emulator,
        ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client,
    ):
        stream = client.costs(start_time=START, limit=5, group_by=["line_item"])
        rows = ua.focus_rows(stream, billing_account_id="org-1")
        iterator = aiter(rows)
        first = await anext(iterator)
        assert first["ChargePeriodStart"] == "2025-12-31T00:00:00Z"
        assert emulator.stats.by_endpoint["costs"] == 1
        await iterator.aclose()  # type: ignore[attr-defined]


async def test_each_iteration_starts_over_with_a_fresh_summary(costs_server: Start) -> None:
    server = await costs_server([[cost("1", line_item="a")], [cost("2", line_item="a")]])
    async with ua.UsageClient(server.key, base_url=server.base_url) as client:
        rows = ua.focus_rows(client.costs(start_time=JAN_30), billing_account_id="org-1")
        first = [row async for row in rows]
        second = [row async for row in rows]
    assert first == second
    assert rows.summary.rows == 2
    assert server.requests == 2


async def test_a_stream_of_another_endpoint_or_an_empty_setting_is_refused_at_the_call() -> None:
    async with ua.UsageClient("sk-admin-x", base_url="http://127.0.0.1:9/v1") as client:
        with pytest.raises(ua.InvalidParameterError, match="costs"):
            ua.focus_rows(client.completions(start_time=JAN_30))  # type: ignore[arg-type]
        with pytest.raises(ua.InvalidParameterError, match="billing_account_id"):
            ua.focus_rows(client.costs(start_time=JAN_30), billing_account_id=" ")
        with pytest.raises(ua.InvalidParameterError, match="project_name"):
            ua.focus_rows(client.costs(start_time=JAN_30), directory=object())  # type: ignore[arg-type]


def test_the_column_table_names_every_row_column_in_order() -> None:
    assert ua.FocusRows.columns == tuple(column.name for column in ua.FOCUS_COLUMNS)
    assert len(set(ua.FocusRows.columns)) == len(ua.FocusRows.columns)


async def test_buckets_of_result_objects_give_the_rows_the_stream_gives(
    costs_server: Start,
) -> None:
    server = await costs_server(
        [
            [
                cost(
                    "2.50",
                    line_item="a",
                    project_id="proj_a",
                    quantity=1000,
                    quantity_unit="tokens",
                ),
                cost("0.75", project_id="", organization_id="org-row", project_name="Named"),
            ],
            [cost("1", line_item="b", quantity="2.5", quantity_unit="gibibyte_hours")],
        ]
    )
    async with ua.UsageClient(server.key, base_url=server.base_url) as client:
        from_stream = ua.focus_rows(client.costs(start_time=JAN_30), billing_account_id="org-1")
        streamed = [row async for row in from_stream]
        buckets = await client.costs(start_time=JAN_30).collect()

    async def objects() -> AsyncIterator[ua.Bucket[ua.CostsResult]]:
        for bucket in buckets:
            yield bucket

    from_objects = ua.focus_rows(objects(), billing_account_id="org-1")
    made = [row async for row in from_objects]
    assert made == streamed
    assert from_objects.summary == from_stream.summary
    # Money and quantities are exact Decimals either way (== alone would let 1000 or 1000.0 by).
    numbers = [c.name for c in ua.FOCUS_COLUMNS if c.type == "Decimal"]
    for row in [*streamed, *made]:
        assert {type(row[name]) for name in numbers} <= {Decimal, type(None)}, row
    assert streamed[0]["ConsumedQuantity"] == Decimal(1000)
    assert made[2]["ConsumedQuantity"] == Decimal("2.5")
    assert (streamed[1]["BillingAccountId"], streamed[1]["SubAccountId"]) == ("org-row", None)
