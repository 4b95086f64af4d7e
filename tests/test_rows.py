"""Rows for CSV/pandas and totals: columns, ISO times, exact money, sums by field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

import usage_async as ua

DAY = 86400
START = 1_764_547_200


async def stream_of(*buckets: ua.Bucket[Any]) -> AsyncIterator[ua.Bucket[Any]]:
    for b in buckets:
        yield b


def completions(model: str | None, tokens: int, cached: int | None = None) -> ua.CompletionsResult:
    return ua.CompletionsResult(tokens, tokens // 10, 1, input_cached_tokens=cached, model=model)


def cost(line_item: str, value: str, currency: str = "usd") -> ua.CostsResult:
    return ua.CostsResult(amount=ua.Amount(Decimal(value), currency), line_item=line_item)


async def test_rows_are_one_per_result_with_iso_times_groups_then_metrics() -> None:
    b = ua.Bucket(START, START + DAY, (completions("gpt-4o", 100), completions("o3", 50)))
    got = [
        r
        async for r in ua.rows(
            stream_of(b, ua.Bucket(START + DAY, START + 2 * DAY, ())), group_by=["model"]
        )
    ]
    assert len(got) == 2
    first = got[0]
    assert list(first)[:4] == ["start_time", "end_time", "model", "input_tokens"]
    assert first["start_time"] == "2025-12-01T00:00:00Z"
    assert first["end_time"] == "2025-12-02T00:00:00Z"
    assert (first["model"], first["input_tokens"], first["output_tokens"]) == ("gpt-4o", 100, 10)
    assert "project_id" not in first
    assert list(first) == ua.row_fields(ua.CompletionsResult, ["model"])


async def test_rows_without_group_by_carry_every_grouping_column() -> None:
    b = ua.Bucket(START, START + DAY, (completions(None, 1),))
    [row] = [r async for r in ua.rows(stream_of(b))]
    for field in ua.ENDPOINTS["completions"].group_by:
        assert field in row
        assert row[field] is None


async def test_costs_rows_carry_exact_amount_and_currency() -> None:
    b = ua.Bucket(START, START + DAY, (cost("gpt-4o, input", "0.0000045"),))
    rows = [r async for r in ua.rows(stream_of(b), group_by=["line_item"])]
    assert rows[0]["amount"] == Decimal("0.0000045")
    assert rows[0]["currency"] == "usd"
    assert list(rows[0]) == [
        "start_time",
        "end_time",
        "line_item",
        "amount",
        "currency",
        "quantity",
        "quantity_unit",
    ]


async def test_unknown_results_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    b = ua.Bucket(
        START,
        START + DAY,
        (completions("m", 3),),
        (ua.UnknownResult("organization.new.result", {}),),
    )
    rows = [r async for r in ua.rows(stream_of(b))]
    assert len(rows) == 1
    assert "organization.new.result" in caplog.text
    assert "unknown object type" in caplog.text


async def test_totals_sum_metrics_by_the_chosen_fields() -> None:
    b1 = ua.Bucket(
        START, START + DAY, (completions("gpt-4o", 100, cached=5), completions("o3", 50))
    )
    b2 = ua.Bucket(START + DAY, START + 2 * DAY, (completions("gpt-4o", 10, cached=1),))
    table = await ua.totals(stream_of(b1, b2), by=["model"])
    assert table[("gpt-4o",)]["input_tokens"] == 110
    assert table[("gpt-4o",)]["input_cached_tokens"] == 6
    assert table[("o3",)]["input_tokens"] == 50
    assert "input_cached_tokens" not in table[("o3",)]  # never sent: not invented as 0
    everything = await ua.totals(stream_of(b1, b2))
    assert everything[()]["num_model_requests"] == 3


async def test_cost_totals_are_decimal_and_never_mix_currencies() -> None:
    b = ua.Bucket(
        START,
        START + DAY,
        (cost("a", "0.10"), cost("a", "0.20"), cost("b", "1.00", "eur"), cost("b", "0.000001")),
    )
    table = await ua.totals(stream_of(b), by=["line_item"])
    assert table[("a", "usd")]["amount"] == Decimal("0.30")
    assert table[("b", "eur")]["amount"] == Decimal("1.00")
    assert table[("b", "usd")]["amount"] == Decimal("0.000001")
    assert isinstance(table[("a", "usd")]["amount"], Decimal)
    by_currency = await ua.totals(stream_of(b))
    assert by_currency[("usd",)]["amount"] == Decimal("0.300001")


async def test_totals_keys_name_their_fields() -> None:
    b = ua.Bucket(START, START + DAY, (cost("a", "0.10"), cost("b", "1.00", "eur")))
    table = await ua.totals(stream_of(b), by=["line_item"])
    keys = sorted(table, key=lambda k: k.line_item)
    assert [(k.line_item, k.currency) for k in keys] == [("a", "usd"), ("b", "eur")]
    usage = await ua.totals(
        stream_of(ua.Bucket(START, START + DAY, (completions("m", 1),))), by=["model"]
    )
    [key] = usage
    assert key.model == "m"
    assert key._fields == ("model",)


async def test_totals_refuse_a_field_the_results_do_not_have() -> None:
    b = ua.Bucket(START, START + DAY, (completions("m", 1),))
    with pytest.raises(ua.InvalidParameterError, match="line_item"):
        await ua.totals(stream_of(b), by=["line_item"])


async def test_levels_like_stored_bytes_are_not_summed_across_buckets() -> None:
    def stored(project: str, size: int) -> ua.VectorStoresResult:
        return ua.VectorStoresResult(usage_bytes=size, project_id=project)

    days = [
        ua.Bucket(START, START + DAY, (stored("a", 100), stored("b", 10))),
        ua.Bucket(START + DAY, START + 2 * DAY, (stored("a", 150), stored("b", 20))),
    ]
    assert ua.ENDPOINTS["vector_stores"].level_metrics == ("usage_bytes",)
    overall = await ua.totals(stream_of(*days))
    assert overall[()]["usage_bytes"] == 170  # the latest day, both projects
    per_project = await ua.totals(stream_of(*days), by=["project_id"])
    assert per_project[("a",)]["usage_bytes"] == 150
    out_of_order = await ua.totals(stream_of(*reversed(days)), by=["project_id"])
    assert out_of_order[("b",)]["usage_bytes"] == 20
