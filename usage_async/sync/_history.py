"""History that grows backwards: a ``since`` before where a table's reading began adds just
the older range, in the same transactional way as the rest.

The range ``[since, read_from)`` is read newest part first, one page's worth of buckets at a
time (each grouping segment of it whole, in one transaction that moves the state's
``read_from`` back to the part's start), so that what is read always reaches where the
reading began without a gap: a run killed halfway leaves a table read from a little
earlier, and the next run with the same ``since`` adds the rest. Empty buckets are read
once: ``read_from`` says they were, where the table's rows could not. The state's
``settled_until`` and ``synced_until`` describe the newest buckets and are written back
unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import attrs

from .._client import UsageClient
from .._models import Bucket
from .._time import DAY, iso_utc, utc_day
from ._plan import Job, segments
from ._store import State, Store

__all__ = ["HistoryPart", "history_parts", "span_text"]


@attrs.frozen
class HistoryPart:
    """One older range written: ``[start, end)``, its rows, the buckets read and the pages
    they took."""

    start: int
    end: int
    rows: Sequence[tuple[Any, ...]]
    buckets: Sequence[Bucket[Any]]
    pages: int


def span_text(start: int, end: int) -> str:
    """``start..end`` as days when both are midnights, else as instants."""
    if start % DAY == 0 and end % DAY == 0:
        return f"{utc_day(start)}..{utc_day(end)}"
    return f"{iso_utc(start)}..{iso_utc(end)}"


async def history_parts(
    client: UsageClient,
    store: Store,
    source: str,
    job: Job,
    state: State,
    start: int,
    first: int,
    write: Callable[[Awaitable[None]], Awaitable[None]],
) -> AsyncIterator[HistoryPart]:
    """Read and write ``[start, first)`` of ``job``'s table for ``source``, newest first,
    one transaction per part (through ``write``, which lets a started write finish); yield
    each part once it is committed."""
    span = job.endpoint.page_limit(job.width).maximum * job.width_seconds
    end = first
    while end > start:
        chunk = max(start, end - span)
        for part in reversed(segments(job, chunk, end)):
            columns, shape = store.shaper(job, source, part.group_by)
            stream = client.stream(
                job.endpoint.name,
                start_time=part.start,
                end_time=part.end,
                bucket_width=job.width,
                group_by=list(part.group_by) or None,
                limit=job.endpoint.page_limit(job.width).maximum,
                concurrency=1,
            )
            buckets: list[Bucket[Any]] = []
            rows: list[tuple[Any, ...]] = []
            pages = 0
            async for page in stream.row_pages(columns):
                pages += 1
                buckets.extend(page.data)
                rows.extend(row for bucket in page.data for row in shape(bucket))
            settled, synced = state.settled_until, state.synced_until  # unchanged
            await write(
                store.replace(job, source, part.start, part.end, rows, settled, synced, part.start)
            )
            yield HistoryPart(part.start, part.end, rows, buckets, pages)
        end = chunk
