"""What a stream needs of whoever sends its requests: the ``PageSource`` protocol.

Streams (``_streams``) are written against this protocol, not against the client, so the
client depends on the streams and never the other way round. ``UsageClient`` is the one
implementation the library ships; a test may pass any object with these members.

Core layer: imports the standard library and attrs; the core's models and queries for types
only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

if TYPE_CHECKING:
    from ._models import Page
    from ._protocol import ListQuery, Query

__all__ = ["ListPage", "PageSource", "RowPaths"]

T = TypeVar("T")

RowPaths = tuple[str | None, ...]
"""Where each value of a row tuple is read from in a result (``_row_columns.column_paths``)."""


@attrs.define
class ListPage(Generic[T]):
    """One page of a directory list; ``next_page`` is its ``last_id`` (the next ``after``)."""

    data: tuple[T, ...]
    has_more: bool
    next_page: str | None
    request_id: str | None = attrs.field(default=None, eq=False)


class PageSource(Protocol):
    """Fetches the pages of streams, runs their tasks, and says whether it is still open.

    Closing the source is final for every stream of it: ``closed`` turns true, the tasks it
    spawned are cancelled, and ``ensure_open`` raises ``ClientClosedError``.
    """

    @property
    def closed(self) -> bool:
        """Whether the source is closed (no request of it will be sent any more)."""
        ...

    def ensure_open(self) -> None:
        """Return if the source is open; raises ``ClientClosedError`` if it is closed."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task running ``coroutine``, which closing the source cancels and awaits.

        Raises ``ClientClosedError`` (and never starts ``coroutine``) once closed.
        """
        ...

    async def fetch_page(
        self, query: Query, cursor: str | None, row: RowPaths | None = None
    ) -> Page[Any]:
        """One page of a usage or costs query at ``cursor`` (``None``: the first page).

        With ``row`` its results are tuples of the values at those paths instead of result
        objects. Raises what the request raises (``APIError`` and its subclasses,
        ``ClientClosedError``).
        """
        ...

    async def fetch_list(self, query: ListQuery, after: str | None) -> ListPage[Any]:
        """One page of a directory list after the item ``after`` (``None``: the first page).

        Raises what the request raises (``APIError`` and its subclasses,
        ``ClientClosedError``).
        """
        ...
