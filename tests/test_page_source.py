"""A stream needs only a ``PageSource``: pages fetched on request, tasks, open or closed.

The stub here serves pages from memory, with no client, no session and no HTTP. If a stream
reached past the protocol into the client, these tests would fail with an AttributeError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

import usage_async as ua
from usage_async._paging import ListPage, PageSource, RowPaths
from usage_async._protocol import ListQuery, Query, validate, validate_list

T = TypeVar("T")
DAY = 86400
START = 1_764_547_200


def day(i: int) -> ua.Bucket[Any]:
    return ua.Bucket(START + i * DAY, START + (i + 1) * DAY, ())


class MemorySource:
    """Serves ``pages`` by cursor and ``items`` by ``after``; records what was asked."""

    def __init__(
        self, pages: dict[str | None, ua.Page[Any]], items: list[ua.Project] | None = None
    ) -> None:
        self.pages = pages
        self.items = items or []
        self.asked: list[str | None] = []
        self.closed = False

    def ensure_open(self) -> None:
        if self.closed:
            raise ua.ClientClosedError("the memory source is closed")

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        return asyncio.ensure_future(coroutine)

    async def fetch_page(
        self, query: Query, cursor: str | None, row: RowPaths | None = None
    ) -> ua.Page[Any]:
        self.asked.append(cursor)
        return self.pages[cursor]

    async def fetch_list(self, query: ListQuery, after: str | None) -> ListPage[Any]:
        self.asked.append(after)
        start = 0 if after is None else [p.id for p in self.items].index(after) + 1
        chunk = tuple(self.items[start : start + 2])
        more = start + 2 < len(self.items)
        return ListPage(chunk, more, chunk[-1].id if chunk else None)


def two_pages() -> MemorySource:
    return MemorySource(
        {
            None: ua.Page((day(0), day(1)), True, "cursor_1"),
            "cursor_1": ua.Page((day(2),), False, None),
        }
    )


def costs_query() -> Query:
    return validate(ua.ENDPOINTS["costs"], {"start_time": START, "end_time": START + 3 * DAY})


async def test_a_bucket_stream_walks_every_page_of_any_page_source() -> None:
    source = two_pages()
    stream: ua.BucketStream[Any] = ua.BucketStream(source, costs_query())
    buckets = await stream.collect()
    assert [b.start_time for b in buckets] == [START, START + DAY, START + 2 * DAY]
    assert source.asked == [None, "cursor_1"]
    assert stream.done
    assert stream.client is source


async def test_closing_the_source_stops_its_streams_with_client_closed_error() -> None:
    source = two_pages()
    stream: ua.BucketStream[Any] = ua.BucketStream(source, costs_query())
    iterator = aiter(stream)
    await anext(iterator)
    source.closed = True
    with pytest.raises(ua.ClientClosedError):
        await anext(iterator)
    assert source.asked == [None]  # the second page was never asked for


async def test_a_list_stream_follows_last_ids_through_any_page_source() -> None:
    projects = [
        ua.Project(id=f"proj_{i}", created_at=0, name=f"p{i}", status="active") for i in range(5)
    ]
    source = MemorySource({}, projects)
    query = validate_list(ua.LIST_ENDPOINTS["projects"], {})
    stream: ua.ListStream[ua.Project] = ua.ListStream(source, query)
    assert [p.id for p in await stream.collect()] == [p.id for p in projects]
    assert source.asked == [None, "proj_1", "proj_3"]


def test_the_client_is_a_page_source() -> None:
    source: PageSource = ua.UsageClient("sk-admin-test")  # mypy checks the protocol here
    assert not source.closed
    source.ensure_open()
