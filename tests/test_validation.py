"""Bad parameters raise InvalidParameterError at the call, before anything is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aioresponses import aioresponses

import usage_async as ua

from .conftest import BASE, KEY

START = 1_764_547_200  # 2025-12-01T00:00:00Z


@pytest.fixture
async def quiet_client(mocked: aioresponses) -> Any:
    async with ua.UsageClient(KEY, base_url=BASE) as c:
        yield c
    assert mocked.requests == {}, "validation must reject before any request is sent"


@pytest.mark.parametrize(
    ("endpoint", "width", "maximum"),
    [
        ("completions", "1d", 31),
        ("completions", "1h", 168),
        ("completions", "1m", 1440),
        ("images", None, 31),  # the default width is 1d
        ("costs", "1d", 180),
        ("costs", None, 180),
    ],
)
async def test_limit_accepts_the_range_of_its_width_and_refuses_beyond(
    quiet_client: ua.UsageClient, endpoint: str, width: str | None, maximum: int
) -> None:
    ok = quiet_client.stream(endpoint, start_time=START, bucket_width=width, limit=maximum)
    assert ok.query.limit == maximum
    assert quiet_client.stream(endpoint, start_time=START, bucket_width=width, limit=1)
    for bad in (maximum + 1, 0, -3):
        with pytest.raises(ua.InvalidParameterError, match="limit") as info:
            quiet_client.stream(endpoint, start_time=START, bucket_width=width, limit=bad)
        assert info.value.param == "limit"


async def test_limit_must_be_an_int(quiet_client: ua.UsageClient) -> None:
    for bad in (True, 2.0, "7"):
        with pytest.raises(ua.InvalidParameterError, match="limit"):
            quiet_client.completions(start_time=START, limit=bad)  # type: ignore[typeddict-item]


async def test_costs_refuses_any_width_but_1d(quiet_client: ua.UsageClient) -> None:
    for width in ("1h", "1m"):
        with pytest.raises(ua.InvalidParameterError, match="costs does not take") as info:
            quiet_client.costs(start_time=START, bucket_width=width)  # type: ignore[typeddict-item]
        assert info.value.param == "bucket_width"
    with pytest.raises(ua.InvalidParameterError, match="bucket_width"):
        quiet_client.completions(start_time=START, bucket_width="1w")  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        ("completions", "size"),  # an images field
        ("embeddings", "batch"),  # a completions field
        ("vector_stores", "model"),
        ("costs", "model"),
        ("file_search_calls", "model"),
        ("web_search_calls", "vector_store_id"),
        ("completions", "modell"),
    ],
)
async def test_group_by_refuses_fields_the_endpoint_does_not_know(
    quiet_client: ua.UsageClient, endpoint: str, field: str
) -> None:
    with pytest.raises(ua.InvalidParameterError, match=f"unknown field '{field}'") as info:
        quiet_client.stream(endpoint, start_time=START, group_by=["project_id", field])
    assert info.value.param == "group_by"


@pytest.mark.parametrize(
    ("endpoint", "param", "good", "bad"),
    [
        ("images", "sizes", "1024x1024", "1000x1000"),
        ("images", "sources", "image.edit", "image.upscale"),
        ("web_search_calls", "context_levels", "high", "extreme"),
    ],
)
async def test_enum_filters_refuse_values_outside_their_choices(
    quiet_client: ua.UsageClient, endpoint: str, param: str, good: str, bad: str
) -> None:
    assert quiet_client.stream(endpoint, start_time=START, **{param: [good]})
    with pytest.raises(ua.InvalidParameterError, match=f"unknown value '{bad}'"):
        quiet_client.stream(endpoint, start_time=START, **{param: [good, bad]})


@pytest.mark.parametrize(
    ("endpoint", "param"),
    [
        ("vector_stores", "models"),
        ("costs", "user_ids"),
        ("embeddings", "batch"),
        ("completions", "line_items"),
        ("completions", "modles"),
        ("completions", "bucket"),
    ],
)
async def test_a_parameter_the_endpoint_does_not_take_is_refused_by_name(
    quiet_client: ua.UsageClient, endpoint: str, param: str
) -> None:
    with pytest.raises(ua.InvalidParameterError, match=f"unexpected parameter '{param}'") as info:
        quiet_client.stream(endpoint, start_time=START, **{param: ["x"]})
    assert info.value.param == param


async def test_time_range_must_run_forwards(quiet_client: ua.UsageClient) -> None:
    for end in (START, START - 60):
        with pytest.raises(ua.InvalidParameterError, match="must be after start_time"):
            quiet_client.completions(start_time=START, end_time=end)


async def test_naive_datetimes_are_refused_and_aware_ones_converted(
    quiet_client: ua.UsageClient,
) -> None:
    with pytest.raises(ua.InvalidParameterError, match="naive datetime") as info:
        quiet_client.completions(start_time=dt.datetime(2025, 12, 1))
    assert info.value.param == "start_time"
    with pytest.raises(ua.InvalidParameterError, match="naive datetime"):
        quiet_client.completions(start_time=START, end_time=dt.datetime(2025, 12, 2))
    paris = dt.timezone(dt.timedelta(hours=1))
    stream = quiet_client.completions(
        start_time=dt.datetime(2025, 12, 1, 1, 0, tzinfo=paris),
        end_time=dt.datetime(2025, 12, 2, tzinfo=dt.UTC),
    )
    assert (stream.query.start_time, stream.query.end_time) == (START, START + 86400)


async def test_start_time_is_required_and_must_be_unix_seconds(
    quiet_client: ua.UsageClient,
) -> None:
    with pytest.raises(ua.InvalidParameterError, match="needs start_time"):
        quiet_client.completions()  # type: ignore[call-arg]
    for bad in ("2025-12-01", 1.5, True, -1):
        with pytest.raises(ua.InvalidParameterError) as info:
            quiet_client.completions(start_time=bad)  # type: ignore[typeddict-item]
        assert info.value.param == "start_time"


async def test_filters_must_be_non_empty_lists_of_strings(quiet_client: ua.UsageClient) -> None:
    with pytest.raises(ua.InvalidParameterError, match="project_ids is empty"):
        quiet_client.completions(start_time=START, project_ids=[])
    with pytest.raises(ua.InvalidParameterError, match="non-empty strings"):
        quiet_client.completions(start_time=START, models=["gpt-4o", 3])  # type: ignore[list-item]
    with pytest.raises(ua.InvalidParameterError, match="list of strings"):
        quiet_client.completions(start_time=START, user_ids=42)  # type: ignore[typeddict-item]
    with pytest.raises(ua.InvalidParameterError, match="True or False"):
        quiet_client.completions(start_time=START, batch="yes")  # type: ignore[typeddict-item]


async def test_a_plain_string_is_one_value_or_a_comma_list_of_names(
    quiet_client: ua.UsageClient,
) -> None:
    stream = quiet_client.completions(
        start_time=START, group_by="model, project_id", project_ids="proj_1"
    )
    assert stream.query.group_by == ("model", "project_id")
    assert stream.query.filters == (("project_ids", ("proj_1",)),)
    images = quiet_client.images(start_time=START, sizes="256x256,512x512")
    assert images.query.filters == (("sizes", ("256x256", "512x512")),)
    # Free values are never split: cost line items contain commas.
    costs = quiet_client.costs(start_time=START, line_items="gpt-4o-2024-08-06, input")
    assert costs.query.filters == (("line_items", ("gpt-4o-2024-08-06, input",)),)


async def test_duplicate_values_are_sent_once(quiet_client: ua.UsageClient) -> None:
    stream = quiet_client.completions(start_time=START, group_by=["model", "model", "user_id"])
    assert stream.query.group_by == ("model", "user_id")


async def test_concurrency_and_page_are_checked_too(quiet_client: ua.UsageClient) -> None:
    with pytest.raises(ua.InvalidParameterError, match="concurrency"):
        quiet_client.completions(start_time=START, concurrency=0)
    with pytest.raises(ua.InvalidParameterError, match="cursor"):
        quiet_client.completions(start_time=START, page="")


async def test_unknown_endpoint_name_is_refused(quiet_client: ua.UsageClient) -> None:
    with pytest.raises(ua.InvalidParameterError, match="unknown endpoint 'usage'"):
        quiet_client.stream("usage", start_time=START)


def test_invalid_parameter_error_is_a_value_error() -> None:
    assert issubclass(ua.InvalidParameterError, ValueError)
    assert issubclass(ua.InvalidParameterError, ua.UsageError)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [(["active", "any"], "takes one value"), ("active,any", "takes one value"), ("all", "all")],
)
async def test_a_one_value_filter_takes_exactly_one_of_its_choices(
    quiet_client: ua.UsageClient, value: Any, complaint: str
) -> None:
    with pytest.raises(ua.InvalidParameterError, match=complaint) as caught:
        await quiet_client.project_api_keys("proj_1", owner_project_access=value).collect()
    assert caught.value.param == "owner_project_access"


def test_a_one_value_filter_is_sent_as_name_equals_value_and_resumes_the_same() -> None:
    from usage_async._protocol import validate_list

    endpoint = ua.LIST_ENDPOINTS["project_api_keys"]
    for given in ("inactive", ["inactive"]):
        query = validate_list(endpoint, {"project_id": "proj_1", "owner_project_access": given})
        assert ("owner_project_access", "inactive") in query.params()
        assert not any(name.endswith("[]") for name, _ in query.params())
        assert validate_list(endpoint, {"project_id": "proj_1", **query.kwargs()}) == query
