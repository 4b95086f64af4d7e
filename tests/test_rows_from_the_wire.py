"""Rows straight from the wire (``stream.row_buckets``, ``ua.rows`` of a stream) are the rows
of the result objects: same values, same errors, same results kept aside, same checkpoints.

The object path is the reference: every case here decodes the same bytes both ways.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import typing
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from aiohttp import web
from aioresponses import aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import usage_async as ua
from usage_async._convert import BucketDecoder, read_envelope
from usage_async._row_columns import column_paths
from usage_async.emulator import Emulator, serve

from .conftest import KEY
from .samples import bucket, completions_result, page
from .servers import GridServer, serve_app

__all__ = ["serve_app"]  # the fixture, imported for the tests below

DAY = 86400
HOUR = 3600
EMULATOR_NOW = 1_772_368_496  # 2026-03-01T12:34:56Z
START = 1_764_547_200
URL_RE = re.compile(r"^https://api\.example\.test/v1/organization/.*$")
RESULT_TYPES = sorted({e.result_type for e in ua.ENDPOINTS.values()}, key=lambda c: c.__name__)


class Names:
    """A directory stub: a name for every ID but one, so both branches are taken."""

    def project_name(self, project_id: str | None) -> str | None:
        return None if project_id == "proj_nameless" else f"P:{project_id}"

    def user_email(self, user_id: str | None) -> str | None:
        return f"{user_id}@example.com"

    def api_key_name(self, api_key_id: str | None) -> str | None:
        return f"K:{api_key_id}"


def decode(body: bytes, result_type: type, row: tuple[str | None, ...] | None) -> Any:
    """The buckets of a page body, or the ``DecodeError`` message."""
    decoder = BucketDecoder(result_type, row)
    try:
        data, _, _ = read_envelope(decoder.parse(body, "req_w"), "req_w")
        buckets, index = decoder.decode(data, 0, 10**9, "req_w")
    except ua.DecodeError as exc:
        return str(exc)
    assert index == len(data)
    return buckets


def expected_value(result: Any, column: str) -> Any:
    """A column read off a result object, the plain way (no shared code with either path)."""
    if isinstance(result, ua.CostsResult) and column in ("amount", "currency"):
        return result.amount.value if column == "amount" else result.amount.currency
    return getattr(result, column, None)


# --- Wire results, good and bad --------------------------------------------------------------


def _valid(annotation: Any, name: str) -> st.SearchStrategy[Any]:
    base = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    kind = base[0]
    if kind is int:
        return st.integers(0, 2**53) | st.integers(0, 10**6).map(float)
    if kind is str:
        ids = ["proj_a", "proj_nameless", "user_b", "key_c", "gpt-4o", ""]
        return st.sampled_from(ids) | st.text(max_size=8)
    if kind is bool:
        return st.booleans()
    if kind is Decimal:
        return st.decimals(allow_nan=False, allow_infinity=False, places=12).map(str) | st.integers(
            0, 10**12
        )
    if kind is ua.Amount:
        value = st.decimals(allow_nan=False, allow_infinity=False, places=20).map(str)
        currency = st.sampled_from(["usd", "eur"])
        return st.fixed_dictionaries({"value": value}, optional={"currency": currency})
    raise AssertionError(f"no strategy for {name}: {annotation}")


_INVALID = st.sampled_from(["x", 1.5, True, [1], {"a": 1}, "NaN", -(2**70)])
_AMOUNT_INVALID = st.sampled_from(
    [{"value": None}, {}, {"value": "lots"}, {"value": "1", "currency": 5}, "1.0", [1]]
)


@st.composite
def wire_result(draw: st.DrawFn, cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    tag_kind = draw(st.integers(0, 19))
    if tag_kind < 16:
        tag: str | None = cls.object
    elif tag_kind < 18:
        tag = [None, "organization.usage.new.result"][tag_kind - 16]
    else:
        tag = draw(st.sampled_from([c.object for c in RESULT_TYPES if c is not cls]))
    if tag is not None:
        out["object"] = tag
    for field in attrs.fields(cls):
        kind = draw(st.integers(0, 59))  # mostly good: a result has up to 24 fields
        if kind < 54:
            out[field.name] = draw(_valid(hints[field.name], field.name))
        elif kind < 57:
            continue  # absent
        elif kind < 59:
            out[field.name] = None
        elif hints[field.name] is ua.Amount:
            out[field.name] = draw(_AMOUNT_INVALID)
        else:
            out[field.name] = draw(_INVALID)
    if "num_sessions" in out and draw(st.booleans()):
        out["sessions"] = out.pop("num_sessions")  # the older wire name
    if draw(st.booleans()):
        out["brand_new_field"] = 1
    return out


@st.composite
def wire_page(draw: st.DrawFn) -> tuple[type, bytes]:
    cls = draw(st.sampled_from(RESULT_TYPES))
    results = draw(st.lists(wire_result(cls), max_size=4))
    buckets = [bucket(START, results), bucket(START + DAY, [])]
    return cls, json.dumps(page(buckets)).encode()  # orjson refuses ints past 64 bits


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(drawn=wire_page())
def test_rows_from_the_wire_are_the_rows_of_the_result_objects(drawn: tuple[type, bytes]) -> None:
    cls, body = drawn
    every = ua.row_fields(cls, names=True, extras=True)
    from_objects = decode(body, cls, None)
    from_wire = decode(body, cls, column_paths(cls, every[2:]))
    if isinstance(from_objects, str):
        assert from_wire == from_objects  # the same DecodeError, word for word
        return
    assert not isinstance(from_wire, str), from_wire
    for objects, tuples in zip(from_objects, from_wire, strict=True):
        assert (tuples.start_time, tuples.end_time) == (objects.start_time, objects.end_time)
        assert tuples.unknown == objects.unknown
        assert [list(t) for t in tuples.results] == [
            [expected_value(r, column) for column in every[2:]] for r in objects.results
        ]
    # The dict rows, names filled from the directory where the result has none.
    fields = ua.row_fields(cls, names=True)
    named = decode(body, cls, column_paths(cls, fields[2:]))
    for objects, tuples in zip(from_objects, named, strict=True):
        assert ua.row_dicts(tuples, fields, names=Names()) == ua.bucket_rows(objects, names=Names())


@pytest.mark.parametrize(
    "number",
    [b"0.123456789012345678901234567890", b"1234567890.1234567890123", b"1.5E-20", b"-0.00001"],
)
def test_money_from_the_wire_keeps_every_digit(number: bytes) -> None:
    body = (
        b'{"object": "page", "has_more": false, "next_page": null, "data": [{"object": "bucket",'
        b' "start_time": 0, "end_time": 86400, "results": [{"object": "organization.costs.result",'
        b' "amount": {"value": '
        + number
        + b', "currency": "usd"}, "quantity": '
        + number
        + b"}]}]}"
    )
    row = column_paths(ua.CostsResult, ["amount", "currency", "quantity"])
    [decoded] = decode(body, ua.CostsResult, row)
    [(amount, currency, quantity)] = decoded.results
    assert str(amount) == str(quantity) == str(Decimal(number.decode()))
    assert currency == "usd"


def test_a_row_asks_only_for_columns_its_endpoint_has() -> None:
    with pytest.raises(ua.InvalidParameterError, match="no column 'line_item'") as info:
        column_paths(ua.CompletionsResult, ["model", "line_item"])
    assert info.value.param == "columns"
    assert column_paths(ua.CostsResult, ["amount", "currency", "project_name"]) == (
        "amount.value",
        "amount.currency",
        "project_name",
    )
    assert column_paths(ua.CompletionsResult, ["project_name"]) == (None,)  # filled by names


# --- Through a stream ------------------------------------------------------------------------


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with serve(port=0, now=lambda: EMULATOR_NOW) as emu:
        yield emu


async def objects_of(stream: ua.BucketStream[Any]) -> AsyncIterator[ua.Bucket[Any]]:
    """The stream's buckets of result objects, through something that is not a stream."""
    async for b in stream:
        yield b


@pytest.mark.parametrize("endpoint", sorted(ua.ENDPOINTS))
async def test_rows_of_a_stream_equal_rows_of_its_objects_for_every_endpoint(
    emulator: Emulator, endpoint: str
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    params: dict[str, Any] = {
        "start_time": EMULATOR_NOW - 20 * DAY,
        "end_time": EMULATOR_NOW - HOUR,
        "bucket_width": "1d" if spec.whole_days else "1h",
        "group_by": list(spec.group_by),
        "concurrency": 3,
    }
    if not spec.whole_days:
        params["start_time"] = EMULATOR_NOW - 2 * DAY
    async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
        names = await client.directory()
        from_wire = [r async for r in ua.rows(client.stream(endpoint, **params), names=names)]
        reference = ua.rows(objects_of(client.stream(endpoint, **params)), names=names)
        from_objects = [r async for r in reference]
    assert from_wire
    assert from_wire == from_objects
    assert list(from_wire[0]) == ua.row_fields(spec.result_type, spec.group_by, names=True)


@pytest.mark.parametrize("concurrency", [None, 3])
@pytest.mark.parametrize("stop_after_bucket", [1, 7, 30])
async def test_a_checkpoint_taken_while_reading_rows_resumes_as_with_objects(
    emulator: Emulator, concurrency: int | None, stop_after_bucket: int
) -> None:
    params: dict[str, Any] = {
        "start_time": EMULATOR_NOW - 3 * DAY - 1234,
        "end_time": EMULATOR_NOW - 600,
        "bucket_width": "1h",
        "limit": 12,
        "group_by": ["model"],
        "concurrency": concurrency,
    }

    async def read(rows: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async for row in rows:
            if len({r["start_time"] for r in got} | {row["start_time"]}) > stop_after_bucket:
                break  # at the first row of the next bucket: the stream has moved past it
            got.append(row)
        return got

    async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
        everything = [r async for r in ua.rows(client.completions(**params))]
        stream = client.completions(**params)
        first = await read(ua.rows(stream))
        resumed = client.resume(stream.checkpoint())
        assert isinstance(resumed, ua.BucketStream)
        rest = [r async for r in ua.rows(resumed)]
        reference = client.completions(**params)
        assert await read(ua.rows(objects_of(reference), group_by=["model"])) == first
        assert reference.checkpoint() == stream.checkpoint()
    stopped_in = sorted({r["start_time"] for r in everything})[stop_after_bucket]
    assert first == [r for r in everything if r["start_time"] < stopped_in]
    assert rest == [r for r in everything if r["start_time"] > stopped_in]


async def test_wrong_types_from_the_wire_raise_decode_error_naming_the_field(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(
        URL_RE,
        payload=page([bucket(START), bucket(START + DAY, [completions_result(model=42)])]),
        headers={"x-request-id": "req_bad"},
    )
    with pytest.raises(ua.DecodeError) as info:
        _ = [r async for r in ua.rows(client.completions(start_time=START, group_by=["model"]))]
    assert "field 'model' should be a string, got int 42" in str(info.value)
    assert f"bucket starting {START + DAY}" in str(info.value)
    assert info.value.request_id == "req_bad"


async def test_results_that_cannot_be_typed_are_skipped_with_a_warning(
    client: ua.UsageClient, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    novel = {"object": "organization.usage.teleportation.result", "jumps": 3}
    mocked.get(URL_RE, payload=page([bucket(START, [completions_result(), novel])]))
    with caplog.at_level(logging.WARNING, logger="usage_async"):
        got = [r async for r in ua.rows(client.completions(start_time=START))]
    assert len(got) == 1
    assert "organization.usage.teleportation.result" in caplog.text
    assert "unknown object type" in caplog.text


async def test_a_cost_without_an_amount_is_never_a_row_of_zero(
    client: ua.UsageClient, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    tag = ua.CostsResult.object
    results = [{"object": tag, "line_item": "a"}, {"object": tag, "amount": {"value": "0.5"}}]
    mocked.get(URL_RE, payload=page([bucket(START, results)]))
    stream = client.costs(start_time=START, group_by=["line_item"])
    [only] = [b async for b in stream.row_buckets(["line_item", "amount", "currency"])]
    assert only.results == ((None, Decimal("0.5"), "usd"),)
    [kept] = only.unknown
    assert kept.raw["line_item"] == "a"
    assert "no amount" in kept.reason


@pytest.mark.parametrize(
    ("alignment", "mixed"),
    [("exact", False), ("floor", False), ("partial-first", False), ("floor", True)],
)
async def test_rows_from_the_wire_keep_the_stream_contract_whatever_the_servers_alignment(
    serve_app: Any, alignment: Any, mixed: bool
) -> None:
    """Windows, seams and the cursor fallback are the stream's own, whatever a page is
    decoded into: against servers aligning buckets three ways, and one whose windows do not
    join (the range's own query answered exactly, every window floored to the grid, so the
    stream falls back to the cursor), the row buckets are the sequential object buckets,
    contiguous, none twice."""
    now = 1_772_368_496
    start = now - 5 * DAY - 1234
    exact = GridServer(alignment="exact", now=lambda: now)
    server = GridServer(alignment=alignment, now=lambda: now)

    async def handle(request: web.Request) -> web.Response:
        own_query = request.query["start_time"] == str(start)
        return await (exact if mixed and own_query else server).handle(request)

    served = await serve_app(handle)
    params: dict[str, Any] = {"start_time": start, "end_time": now - DAY, "bucket_width": "1h"}
    async with ua.UsageClient(KEY, base_url=served.base_url, initial_backoff=0.001) as client:
        objects = [
            (b.start_time, b.end_time, b.results[0].input_tokens)
            async for b in client.completions(**params)
        ]
        server.requests.clear()
        windowed = client.completions(**params, concurrency=4).row_buckets(["input_tokens"])
        rows = [(b.start_time, b.end_time, b.results[0][0]) async for b in windowed]
    assert rows == objects
    assert all(a[1] == b[0] for a, b in itertools.pairwise(rows))
    assert len(server.requests) > 2  # it went by window
