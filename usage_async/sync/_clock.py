"""The server's clock, which a run reads to: never this machine's.

From the ``Date`` header of one small request to the first endpoint the run syncs that the
key may read (so a key limited to costs reads the time off costs), or, from a server that
sends no ``Date``, off the data: an open range's last bucket ends at the server's now.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .._client import UsageClient
from .._endpoints import BUCKET_SECONDS, ENDPOINTS
from .._exceptions import BadRequestError, PermissionDeniedError, UsageError
from .._models import Page
from .._time import DAY, floor_to

__all__ = ["server_now"]


async def server_now(
    client: UsageClient, anchor: int, endpoints: Sequence[str] = ("completions",)
) -> tuple[int, int]:
    """The server's clock (Unix seconds), and how many requests it took to read it.

    One small request to the first of ``endpoints`` (the run's, in its order) that the key
    may read: the server's ``Date`` header (``stream.server_time``). An endpoint that answers
    403 is passed over for the next; if every one does, the first 403 is raised. A server
    that sends no ``Date`` is read off the data instead. ``anchor`` is a time the server has
    passed (a state's ``settled_until``); if it has not, the probe steps back.
    """
    denied: PermissionDeniedError | None = None
    for requests, name in enumerate(endpoints, start=1):
        try:
            told = await _date_of_a_probe(client, name, anchor)
        except PermissionDeniedError as exc:
            denied = denied or exc
            continue
        if told is not None:
            return told, requests
        now, more = await _now_from_data(client, name, anchor)
        return now, requests + more
    if denied is None:
        raise UsageError("no endpoint to read the server's clock from")
    raise denied


async def _date_of_a_probe(client: UsageClient, name: str, anchor: int) -> int | None:
    """The ``Date`` of one page of one bucket of ``name`` on the anchor's day (``None`` if
    the server sends none)."""
    width = "1d" if ENDPOINTS[name].whole_days else "1m"
    start = floor_to(anchor, DAY)
    probe = client.stream(
        name, start_time=start, end_time=start + BUCKET_SECONDS[width], bucket_width=width,
        limit=1,
    )  # fmt: skip
    try:
        async with probe:
            async for _ in probe.pages():
                break
    except BadRequestError as exc:
        if exc.param != "start_time":
            raise
    return probe.server_time


async def _now_from_data(client: UsageClient, name: str, anchor: int) -> tuple[int, int]:
    """The server's now off the data of ``name``: an open range's last bucket ends there.
    One page of daily buckets (31 days) per request, each stream closed after its first
    page: from 30 days before this machine's now, which one page takes to the server's now
    unless the clocks are far apart; from the anchor back if the server has not reached that
    day, and on if a page is not the last."""
    origin = floor_to(anchor, DAY)
    start = max(origin, floor_to(int(time.time()), DAY) - 30 * DAY)
    step = 31 * DAY
    for requests in range(1, 33):
        stream = client.stream(name, start_time=start, bucket_width="1d", limit=31, concurrency=1)
        page: Page[Any] | None = None
        try:
            async with stream:
                page = await anext(stream.pages(), None)
        except BadRequestError as exc:  # a start in the server's future, refused
            if exc.param != "start_time":
                raise
        if page is not None and page.data:
            if not page.has_more:
                return page.data[-1].end_time, requests
            start = page.data[-1].end_time  # the server is further on than one page
        elif start > origin:
            start = origin  # not there yet: from the anchor, which the server has passed
        else:
            start -= step
            step *= 2
    raise UsageError("could not read the server's clock: no bucket ended in any range probed")
