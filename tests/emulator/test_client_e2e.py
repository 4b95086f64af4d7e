"""The library's own client against the emulator over loopback: the end-to-end suite.

Every endpoint with every grouping field, filters, pagination across pages, resuming from a
cursor, sharded fetching, and the API's errors arriving as the library's typed exceptions
with the server's request id.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator

from .conftest import DAY, KEY, MIDNIGHT, NOW

REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")
START = MIDNIGHT - 7 * DAY


@pytest.mark.parametrize("endpoint", sorted(ua.ENDPOINTS))
async def test_every_endpoint_decodes_into_its_result_class_grouped_by_every_field(
    emu_client: ua.UsageClient, endpoint: str
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    buckets = await emu_client.stream(
        endpoint, start_time=START, end_time=MIDNIGHT, group_by=list(spec.group_by)
    ).collect()
    assert [b.start_time for b in buckets] == [START + d * DAY for d in range(7)]
    results = [r for b in buckets for r in b.results]
    assert results
    assert all(type(r) is spec.result_type for r in results)
    for field in spec.group_by:
        if field in ("user_id", "api_key_id") and endpoint == "costs":
            continue  # storage and sessions are billed to a project, not a user or key
        assert all(getattr(r, field) is not None for r in results), field


async def test_pages_follow_next_page_until_has_more_is_false(
    emu_client: ua.UsageClient,
) -> None:
    stream = emu_client.completions(
        start_time=MIDNIGHT - 3 * DAY, end_time=MIDNIGHT, bucket_width="1h", limit=24
    )
    pages = [page async for page in stream.pages()]
    assert [len(p.data) for p in pages] == [24, 24, 24]
    assert [p.has_more for p in pages] == [True, True, False]
    assert pages[-1].next_page is None
    assert all(p.request_id and REQUEST_ID.match(p.request_id) for p in pages)
    assert stream.done


async def test_resuming_from_next_page_continues_without_gap_or_overlap(
    emu_client: ua.UsageClient,
) -> None:
    query: dict[str, Any] = {
        "start_time": MIDNIGHT - 2 * DAY + 1800,
        "end_time": MIDNIGHT,
        "bucket_width": "1h",
        "limit": 10,
        "group_by": ["model"],
    }
    everything = await emu_client.completions(**query).collect()
    first = emu_client.completions(**query)
    seen = []
    async for bucket in first:
        seen.append(bucket)
        if len(seen) == 10:
            break
    assert first.next_page is not None
    assert not first.done
    rest = await emu_client.completions(**query, page=first.next_page).collect()
    assert seen + rest == everything
    assert len(everything) == 48


async def test_sharded_fetch_returns_the_sequential_buckets(
    emu_client: ua.UsageClient,
) -> None:
    query: dict[str, Any] = {
        "start_time": MIDNIGHT - 5 * DAY + 123,
        "end_time": MIDNIGHT,
        "bucket_width": "1h",
        "group_by": ["project_id", "model"],
    }
    sequential = await emu_client.completions(**query).collect()
    sharded = await emu_client.completions(**query, concurrency=4).collect()
    assert sharded == sequential


async def test_filters_keep_only_the_requested_values(emu_client: ua.UsageClient) -> None:
    project = ORGANIZATION.project("Support Copilot").id
    buckets = await emu_client.completions(
        start_time=START,
        end_time=MIDNIGHT,
        project_ids=[project],
        models=["gpt-4o-mini-2024-07-18"],
        batch=False,
        group_by=["project_id", "model", "batch", "service_tier", "api_source"],
    ).collect()
    results = [r for b in buckets for r in b.results]
    assert results
    assert {(r.project_id, r.model, r.batch) for r in results} == {
        (project, "gpt-4o-mini-2024-07-18", False)
    }
    assert {r.service_tier for r in results} == {"default", "priority"}


async def test_costs_amounts_arrive_as_exact_decimal_dollars(emu_client: ua.UsageClient) -> None:
    buckets = await emu_client.costs(
        start_time=MIDNIGHT - 2 * DAY, end_time=MIDNIGHT, group_by=["line_item"]
    ).collect()
    totals = await emu_client.costs(start_time=MIDNIGHT - 2 * DAY, end_time=MIDNIGHT).collect()
    for grouped, total in zip(buckets, totals, strict=True):
        lines = [r.amount for r in grouped.results if r.amount is not None]
        assert {a.currency for a in lines} == {"usd"}
        (only,) = total.results
        assert only.amount is not None
        assert sum(a.value for a in lines) == only.amount.value


async def test_line_item_filter_takes_names_that_contain_commas(
    emu_client: ua.UsageClient,
) -> None:
    wanted = ["gpt-4o-mini-2024-07-18, input", "vector store storage"]
    buckets = await emu_client.costs(
        start_time=MIDNIGHT - 2 * DAY, end_time=MIDNIGHT, line_items=wanted, group_by=["line_item"]
    ).collect()
    assert {r.line_item for b in buckets for r in b.results} == set(wanted)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        # Not knowable client-side: the live API's rule for costs grouped by api_key_id.
        ({"start_time": 1_764_892_800, "group_by": ["api_key_id"]}, "group_by"),
        # A cursor that belongs to another query.
        ({"start_time": START, "page": "page_AAAA"}, "page"),
    ],
)
async def test_400_arrives_as_bad_request_error_naming_the_parameter(
    emu_client: ua.UsageClient, query: dict[str, Any], param: str
) -> None:
    with pytest.raises(ua.BadRequestError) as caught:
        await emu_client.costs(**query).collect()
    assert caught.value.status_code == 400
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
    assert caught.value.request_id
    assert REQUEST_ID.match(caught.value.request_id)


async def test_cursor_of_another_query_is_a_bad_request_on_page(
    emu_client: ua.UsageClient,
) -> None:
    pages = emu_client.embeddings(start_time=START, limit=2).pages()
    first = await anext(pages)
    await pages.aclose()
    assert first.next_page
    with pytest.raises(ua.BadRequestError) as caught:
        await emu_client.embeddings(start_time=START, limit=3, page=first.next_page).collect()
    assert caught.value.param == "page"


@pytest.mark.parametrize(
    ("key", "error"),
    [("sk-admin-not-the-key", ua.AuthenticationError), ("sk-proj-abc", ua.PermissionDeniedError)],
)
async def test_bad_keys_arrive_as_typed_errors_with_request_id(
    emu: Emulator, key: str, error: type[ua.APIStatusError]
) -> None:
    async with ua.UsageClient(key, base_url=emu.base_url) as client:
        with pytest.raises(error) as caught:
            await client.completions(start_time=START).collect()
    assert caught.value.request_id
    assert REQUEST_ID.match(caught.value.request_id)
    assert key not in str(caught.value)


async def test_wrong_base_path_is_a_not_found_error(emu: Emulator) -> None:
    base = emu.base_url.removesuffix("/v1") + "/v2"
    async with ua.UsageClient(KEY, base_url=base) as client:
        with pytest.raises(ua.NotFoundError) as caught:
            await client.images(start_time=START).collect()
    assert caught.value.status_code == 404
    assert caught.value.request_id
    assert REQUEST_ID.match(caught.value.request_id)


async def test_open_range_ends_at_the_emulators_now(emu_client: ua.UsageClient) -> None:
    buckets = await emu_client.moderations(start_time=NOW - 3 * 3600, bucket_width="1h").collect()
    assert [b.end_time for b in buckets][-1] == NOW
    assert len(buckets) == 3


# --- The directory, the server's clock and checkpoints against the emulator -------------------


async def test_the_directory_names_every_id_the_usage_carries(emu_client: ua.UsageClient) -> None:
    directory = await emu_client.directory()
    assert directory.warnings == ()
    assert set(directory.projects) == {p.id for p in ORGANIZATION.projects}  # archived too
    assert {p.status for p in directory.projects.values()} == {"active", "archived"}
    assert set(directory.users) == {u.id for u in ORGANIZATION.users}
    assert set(directory.api_keys) == {k.id for k in ORGANIZATION.api_keys}
    assert {k.owner.type for k in directory.api_keys.values() if k.owner} == {
        "user",
        "service_account",
    }
    assert {k.owner_project_access for k in directory.api_keys.values()} == {"active", "inactive"}
    costs = emu_client.costs(
        start_time=START, end_time=MIDNIGHT, group_by=["project_id", "line_item"]
    )
    rows = [row async for row in ua.rows(costs, names=directory)]
    names = {p.id: p.name for p in ORGANIZATION.projects}
    assert rows
    for row in rows:
        assert row["project_name"] == names[row["project_id"]]


async def test_an_open_windowed_range_costs_about_the_sequential_requests(
    emu: Emulator, emu_client: ua.UsageClient
) -> None:
    """The emulator's clock is pinned months before this machine's: windows are planned to
    the server's clock (its Date header), so sharding adds no requests past the server's now."""
    params: dict[str, Any] = {"start_time": NOW - 7 * DAY, "bucket_width": "1h"}
    before = emu.stats.requests
    sequential = await emu_client.completions(**params).collect()
    sequential_requests = emu.stats.requests - before
    before = emu.stats.requests
    windowed = await emu_client.completions(**params, concurrency=4).collect()
    assert windowed == sequential
    assert sequential_requests == 7
    assert emu.stats.requests - before <= sequential_requests + 1
    assert sequential[-1].end_time == NOW
