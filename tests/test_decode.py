"""Decoding wire JSON into typed results: every type, the live API's quirks, and bad bodies."""

from __future__ import annotations

import typing
from decimal import Decimal
from typing import Any

import attrs
import orjson
import pytest

import usage_async as ua
from usage_async._convert import BucketDecoder, converter, parse_body, read_envelope

from .samples import bucket, completions_result, page


def decode(
    raw_page: dict[str, Any], result_type: type = ua.CompletionsResult
) -> list[ua.Bucket[Any]]:
    return decode_body(orjson.dumps(raw_page), result_type)


def decode_body(body: bytes, result_type: type = ua.CompletionsResult) -> list[ua.Bucket[Any]]:
    decoder = BucketDecoder(result_type)
    data, _, _ = read_envelope(decoder.parse(body, "req_t"), "req_t")
    buckets, index = decoder.decode(data, 0, 10**9, "req_t")
    assert index == len(data)
    return buckets


def _sample_value(annotation: Any, name: str) -> Any:
    base = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return {int: 7, float: 1.5, str: f"{name}-x", bool: True, Decimal: "2.5"}.get(base[0])


@pytest.mark.parametrize("endpoint", sorted(ua.ENDPOINTS))
def test_every_result_type_decodes_every_field_it_declares(endpoint: str) -> None:
    cls = ua.ENDPOINTS[endpoint].result_type
    wire: dict[str, Any] = {"object": cls.object}
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        wire[field.name] = _sample_value(hints[field.name], field.name)
    if cls is ua.CostsResult:
        wire["amount"] = {"value": "12.50", "currency": "usd"}
    [decoded_bucket] = decode(page([bucket(0, [wire])]), cls)
    [result] = decoded_bucket.results
    assert type(result) is cls
    for field in attrs.fields(cls):
        if field.name == "quantity":
            assert result.quantity == Decimal("2.5")
        elif field.name != "amount":
            assert getattr(result, field.name) == wire[field.name], field.name
    if cls is ua.CostsResult:
        assert result.amount == ua.Amount(Decimal("12.50"), "usd")


def test_optional_fields_absent_or_null_decode_as_none() -> None:
    [b] = decode(page([bucket(0, [completions_result(model=None)])]))
    result = b.results[0]
    assert isinstance(result, ua.CompletionsResult)
    assert result.model is None
    assert result.input_cached_tokens is None
    assert (result.input_tokens, result.output_tokens, result.num_model_requests) == (1000, 200, 5)


def test_buckets_keep_their_times_and_offer_aware_datetimes() -> None:
    [b] = decode(page([bucket(1_764_547_200, [])]))
    assert (b.start_time, b.end_time) == (1_764_547_200, 1_764_633_600)
    assert b.start.isoformat() == "2025-12-01T00:00:00+00:00"
    assert b.end.isoformat() == "2025-12-02T00:00:00+00:00"
    assert b.results == ()


def test_the_older_result_key_is_accepted() -> None:
    raw = bucket(0)
    raw["result"] = raw.pop("results")
    [b] = decode(page([raw]))
    assert len(b.results) == 1


def test_the_older_sessions_field_is_accepted_for_code_interpreter() -> None:
    tag = ua.CodeInterpreterSessionsResult.object
    new = {"object": tag, "num_sessions": 4, "project_id": "p"}
    old = {"object": tag, "sessions": 4, "project_id": "p"}
    [b] = decode(page([bucket(0, [new, old])]), ua.CodeInterpreterSessionsResult)
    assert b.results[0] == b.results[1] == ua.CodeInterpreterSessionsResult(4, "p")


@pytest.mark.parametrize(
    ("wire_value", "expected"),
    [
        (
            "0.000004500000000000000000000000000000000",
            Decimal("0.000004500000000000000000000000000000000"),
        ),
        ("1234.567890123456789012345", Decimal("1234.567890123456789012345")),
        ("0E-6176", Decimal("0E-6176")),
        (0.0045, Decimal("0.0045")),
        (12, Decimal(12)),
        ("1234.5678", Decimal("1234.5678")),
    ],
)
def test_cost_values_arrive_as_numbers_or_decimal_strings_and_stay_exact(
    wire_value: Any, expected: Decimal
) -> None:
    wire = {
        "object": ua.CostsResult.object,
        "amount": {"value": wire_value, "currency": "usd"},
        "line_item": "gpt-4o, input",
        "organization_id": "org_unlisted_field",
    }
    [b] = decode(page([bucket(0, [wire])]), ua.CostsResult)
    result = b.results[0]
    assert isinstance(result, ua.CostsResult)
    assert result.amount.value == expected
    assert str(result.amount.value) == str(expected)  # the digits, not only the value
    assert isinstance(result.amount.value, Decimal)


@pytest.mark.parametrize(
    "number",
    [
        b"0.123456789012345678901234567890",
        b"1234567890.1234567890123",
        b"1.5E-20",
        b"-0.00001",
        b"2e+3",
        b"7E2",
    ],
)
def test_money_sent_as_json_numbers_keeps_every_digit(number: bytes) -> None:
    body = (
        b'{"object": "page", "has_more": false, "next_page": null, "data": [{"object": "bucket",'
        b' "start_time": 0, "end_time": 86400, "results": [{"object": "organization.costs.result",'
        b' "amount": {"value": '
        + number
        + b', "currency": "usd"}, "quantity": '
        + number
        + b"}]}]}"
    )
    [b] = decode_body(body, ua.CostsResult)
    [result] = b.results
    assert result.amount.value == Decimal(number.decode())
    assert str(result.amount.value) == str(Decimal(number.decode()))
    assert result.quantity == Decimal(number.decode())


def test_text_that_looks_like_a_money_field_inside_a_string_is_left_as_it_was_sent() -> None:
    line_item = 'odd "value": 0.5 and "quantity" :1.25e3'
    wire = {
        "object": ua.CostsResult.object,
        "amount": {"value": 0.25, "currency": "usd"},
        "line_item": line_item,
        "project_name": '{"value": 1.5}',
    }
    body = orjson.dumps(page([bucket(0, [wire])]))
    assert b'\\"value\\": 0.5' in body  # escaped quotes, as JSON writes them
    [b] = decode_body(body, ua.CostsResult)
    [result] = b.results
    assert result.line_item == line_item
    assert result.project_name == '{"value": 1.5}'
    assert str(result.amount.value) == "0.25"


def test_whole_number_quantities_are_decimals_too() -> None:
    wire = {"object": ua.CostsResult.object, "amount": {"value": "1"}, "quantity": 16999}
    [b] = decode(page([bucket(0, [wire])]), ua.CostsResult)
    assert b.results[0].quantity == Decimal(16999)
    assert isinstance(b.results[0].quantity, Decimal)


def test_a_cost_without_an_amount_is_kept_aside_with_the_reason_never_as_zero() -> None:
    tag = ua.CostsResult.object
    rows = [
        {"object": tag, "line_item": "a"},
        {"object": tag, "amount": {"value": "1.5"}, "line_item": "b"},
        {"object": tag, "amount": {"value": None}, "line_item": "c"},
    ]
    [b] = decode(page([bucket(0, rows)]), ua.CostsResult)
    assert [r.amount for r in b.results] == [ua.Amount(Decimal("1.5"), "usd")]
    assert [u.raw["line_item"] for u in b.unknown] == ["a", "c"]
    assert all(u.object == tag and "no amount" in u.reason for u in b.unknown)


def test_an_unknown_result_object_is_kept_aside_without_breaking_the_page() -> None:
    novel = {"object": "organization.usage.teleportation.result", "jumps": 3}
    [b] = decode(page([bucket(0, [completions_result(), novel])]))
    [known] = b.results
    [unknown] = b.unknown
    assert isinstance(known, ua.CompletionsResult)
    assert unknown.object == "organization.usage.teleportation.result"
    assert unknown.raw["jumps"] == 3
    assert unknown.reason == "unknown object type"


def test_a_result_of_another_endpoint_is_kept_aside_so_results_hold_one_type() -> None:
    embed = {"object": ua.EmbeddingsResult.object, "input_tokens": 3, "num_model_requests": 1}
    [b] = decode(page([bucket(0, [embed, completions_result()])]))
    assert b.results == (ua.CompletionsResult(1000, 200, 5),)
    [kept] = b.unknown
    assert kept.object == ua.EmbeddingsResult.object
    assert "not this endpoint's type" in kept.reason


def test_unknown_fields_are_tolerated_everywhere() -> None:
    raw = bucket(0, [completions_result(brand_new_metric=9)])
    raw["start_time_iso"] = "2025-01-01T00:00:00Z"
    raw_page = page([raw])
    raw_page["first_id"] = "x"
    [b] = decode(raw_page)
    assert isinstance(b.results[0], ua.CompletionsResult)


def test_integral_floats_are_accepted_for_integer_fields() -> None:
    [b] = decode(page([bucket(0, [completions_result(input_tokens=1000.0)])]))
    result = b.results[0]
    assert isinstance(result, ua.CompletionsResult)
    assert result.input_tokens == 1000
    assert type(result.input_tokens) is int


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (
            [completions_result(input_tokens="1000")],
            "result 0: field 'input_tokens' should be an integer, got str '1000'",
        ),
        (
            [completions_result(), completions_result(output_tokens=1.5)],
            "result 1: field 'output_tokens' should be an integer",
        ),
        (
            [{"object": "organization.usage.completions.result", "input_tokens": 1}],
            "missing required field 'output_tokens'",
        ),
        ([completions_result(model=42)], "field 'model' should be a string, got int 42"),
        ([completions_result(batch="yes")], "field 'batch' should be true or false"),
        (
            [completions_result(input_tokens=True)],
            "field 'input_tokens' should be an integer, got bool",
        ),
        (["not a result"], "a result should be an object, got str"),
    ],
)
def test_wrong_types_raise_decode_error_saying_where_and_what(
    results: list[Any], message: str
) -> None:
    with pytest.raises(ua.DecodeError) as info:
        decode(page([bucket(0), bucket(86400, results)]))
    assert message in str(info.value)
    assert "bucket starting 86400" in str(info.value)
    assert info.value.request_id == "req_t"


def test_bad_amount_values_raise_decode_error() -> None:
    for value in ("lots", "NaN", True, [1]):
        wire = {"object": ua.CostsResult.object, "amount": {"value": value, "currency": "usd"}}
        with pytest.raises(ua.DecodeError, match=r"amount\.value"):
            decode(page([bucket(0, [wire])]), ua.CostsResult)


@pytest.mark.parametrize(
    ("raw_bucket", "message"),
    [
        ("bucket", "a bucket should be an object"),
        ({"start_time": "0", "end_time": 60, "results": []}, "'start_time' should be an integer"),
        ({"start_time": 0, "end_time": None, "results": []}, "'end_time' should be an integer"),
        ({"start_time": 0, "end_time": 60}, "neither 'results' nor 'result'"),
        ({"start_time": 0, "end_time": 60, "results": {"a": 1}}, "'results' should be a list"),
    ],
)
def test_malformed_buckets_raise_decode_error(raw_bucket: Any, message: str) -> None:
    with pytest.raises(ua.DecodeError, match=message):
        decode(page([raw_bucket]))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "not valid JSON"),
        (b'{"object": "page", "data": [', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "expected a page object, got list"),
        (b'{"data": null}', "'data' should be a list"),
        (b'{"data": [], "has_more": "yes"}', "'has_more' should be true or false"),
        (b'{"data": [], "has_more": true, "next_page": 7}', "'next_page' should be a string"),
    ],
)
def test_bodies_off_the_envelope_raise_decode_error(body: bytes, message: str) -> None:
    with pytest.raises(ua.DecodeError, match=message) as info:
        read_envelope(parse_body(body, "req_x"), "req_x")
    assert info.value.request_id == "req_x"
    assert "req_x" in str(info.value)


def test_decoding_in_slices_gives_the_same_buckets() -> None:
    raw = page(
        [bucket(i * 60, [completions_result(model=str(j)) for j in range(3)]) for i in range(10)]
    )
    data = raw["data"]
    decoder = BucketDecoder(ua.CompletionsResult)
    sliced: list[ua.Bucket[Any]] = []
    index = 0
    while index < len(data):
        more, index = decoder.decode(data, index, 4, None)
        assert more, "every slice makes progress"
        sliced.extend(more)
    assert sliced == decode(raw)


def test_the_converter_structures_a_single_result_with_the_same_hooks() -> None:
    hook = converter.get_structure_hook(ua.CompletionsResult)
    assert hook(completions_result(), ua.CompletionsResult) == ua.CompletionsResult(1000, 200, 5)
    novel = hook({"object": "organization.new.result"}, ua.CompletionsResult)
    assert novel == ua.UnknownResult(
        "organization.new.result", {"object": "organization.new.result"}
    )


def test_models_do_not_import_cattrs() -> None:
    import usage_async._models as models

    source = open(models.__file__).read()  # noqa: SIM115
    assert "cattrs" not in source.replace("do not import cattrs", "")


def test_result_classes_have_their_wire_object_as_a_class_constant() -> None:
    assert ua.FileSearchesResult.object == "organization.usage.file_searches.result"
    assert ua.WebSearchesResult.object == "organization.usage.web_searches.result"
    assert typing.get_type_hints(ua.Page)["next_page"] == str | None
