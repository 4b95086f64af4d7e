"""Lazy paging, completeness guards and resuming from a cursor."""

from __future__ import annotations

import re

import pytest
from aioresponses import aioresponses

import usage_async as ua

from .samples import bucket, page
from .test_transport import sent

URL_RE = re.compile(r"^https://api\.example\.test/v1/organization/usage/completions.*$")
DAY = 86400
START = 1_764_547_200


def serve_pages(mocked: aioresponses, count: int, per_page: int = 2) -> None:
    for i in range(count):
        cursor = f"cursor_{i + 1}" if i + 1 < count else None
        starts = [START + (i * per_page + j) * DAY for j in range(per_page)]
        mocked.get(URL_RE, payload=page([bucket(s) for s in starts], next_page=cursor))


async def test_nothing_is_fetched_until_iteration_starts(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 3)
    stream = client.completions(start_time=START)
    assert sent(mocked) == []
    iterator = aiter(stream)
    await anext(iterator)
    assert len(sent(mocked)) == 1


async def test_one_page_is_fetched_at_a_time_as_the_consumer_pulls(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 3)
    seen_requests = []
    async for _ in client.completions(start_time=START):
        seen_requests.append(len(sent(mocked)))
    assert seen_requests == [1, 1, 2, 2, 3, 3]


async def test_breaking_out_sends_no_further_request(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 3)
    async for b in client.completions(start_time=START):
        if b.start_time == START + DAY:  # the last bucket of page 1
            break
    assert len(sent(mocked)) == 1


async def test_collect_and_pages_walk_the_whole_range_in_order(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 3)
    buckets = await client.completions(start_time=START).collect()
    assert [b.start_time for b in buckets] == [START + i * DAY for i in range(6)]
    serve_pages(mocked, 3)
    pages = [p async for p in client.completions(start_time=START).pages()]
    assert [p.next_page for p in pages] == ["cursor_1", "cursor_2", None]
    assert [p.has_more for p in pages] == [True, True, False]


async def test_a_stream_can_be_iterated_again_from_the_start(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    stream = client.completions(start_time=START)
    serve_pages(mocked, 2)
    first = await stream.collect()
    serve_pages(mocked, 2)
    assert await stream.collect() == first


async def test_an_empty_page_with_has_more_does_not_end_iteration(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="c1"))
    mocked.get(URL_RE, payload=page([], next_page="c2"))
    mocked.get(URL_RE, payload=page([bucket(START + DAY)]))
    buckets = await client.completions(start_time=START).collect()
    assert [b.start_time for b in buckets] == [START, START + DAY]


async def test_a_repeated_cursor_raises_instead_of_looping(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="same"))
    mocked.get(
        URL_RE,
        payload=page([bucket(START + DAY)], next_page="same"),
        headers={"x-request-id": "req_loop"},
    )
    got: list[int] = []

    async def consume() -> None:
        async for b in client.completions(start_time=START):
            got.append(b.start_time)

    with pytest.raises(ua.PaginationError, match="second time") as info:
        await consume()
    assert got == [START]  # the looping page's buckets are not yielded
    assert info.value.request_id == "req_loop"
    assert len(sent(mocked)) == 2


async def test_a_cursor_equal_to_the_starting_page_is_a_repeat(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="start_here"))
    with pytest.raises(ua.PaginationError):
        await client.completions(start_time=START, page="start_here").collect()


async def test_has_more_without_a_cursor_raises_instead_of_stopping_short(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page=None, has_more=True))
    with pytest.raises(ua.PaginationError, match="no next_page"):
        await client.completions(start_time=START).collect()


async def test_has_more_false_ends_the_stream_even_if_a_cursor_is_sent(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="stale", has_more=False))
    stream = client.completions(start_time=START)
    assert len(await stream.collect()) == 1
    assert stream.next_page is None
    assert stream.done


async def test_next_page_resumes_with_no_gap_and_no_duplicate(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 3)
    stream = client.completions(start_time=START)
    first_part = []
    async for b in stream:
        first_part.append(b.start_time)
        if len(first_part) == 4:  # the end of page 2
            break
    assert stream.next_page == "cursor_2"
    assert not stream.done
    resumed = client.completions(start_time=START, page=stream.next_page)
    rest = [b.start_time async for b in resumed]
    assert first_part + rest == [START + i * DAY for i in range(6)]
    assert resumed.done
    assert resumed.next_page is None
    assert sent(mocked)[-1][1]["params"][-1] == ("page", "cursor_2")


async def test_next_page_stays_at_the_last_complete_page_when_stopped_mid_page(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 3)
    stream = client.completions(start_time=START)
    count = 0
    async for _ in stream:
        count += 1
        if count == 3:  # first bucket of page 2
            break
    assert stream.next_page == "cursor_1"  # page 2 is fetched again on resume


async def test_an_error_mid_stream_leaves_a_cursor_to_resume_from(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 1)
    mocked.clear()
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="c1"))
    mocked.get(
        URL_RE,
        status=400,
        payload={"error": {"message": "bad", "type": "x", "param": None, "code": None}},
    )
    stream = client.completions(start_time=START)
    got: list[ua.Bucket[ua.CompletionsResult]] = []

    async def consume() -> None:
        async for b in stream:
            got.append(b)

    with pytest.raises(ua.BadRequestError):
        await consume()
    assert len(got) == 1
    assert stream.next_page == "c1"
    assert not stream.done


async def test_stopping_on_the_final_bucket_marks_the_stream_done(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    serve_pages(mocked, 2)
    stream = client.completions(start_time=START)
    async for b in stream:
        if b.start_time == START + 3 * DAY:  # the very last bucket of the range
            break
    assert stream.done  # so the README's resume recipe does not start over
    assert stream.next_page is None
    assert len(sent(mocked)) == 2


async def test_a_future_end_time_is_left_out_so_the_api_ends_the_range_at_its_now(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)]))
    far_future = 4_102_444_800  # 2100-01-01
    await client.completions(start_time=START, end_time=far_future).collect()
    params = sent(mocked)[0][1]["params"]
    assert [name for name, _ in params] == ["start_time"]
