"""One writer per source: a run holds its (database, prefix, source) lock while it writes.

Two runs of one source at once (cron beside a backfill, a CronJob that overlaps) would each
delete and insert the same bucket ranges; on PostgreSQL, where writers run side by side,
both would keep their rows. So a run takes its source's lock before it writes anything and
keeps it to the end: a second run waits for it (saying once whom it waits for), or with
``wait=False`` gives up at once with ``SyncBusyError``. The lock is the database's own
(each backend's ``source_lock``: an advisory lock on PostgreSQL, a locked file beside a
SQLite database) and dies with the process that holds it, so a killed run never leaves
a stale lock behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from .._exceptions import UsageError
from ._backend import Holder
from ._registry import backend_of

__all__ = ["SyncBusyError", "writer_lock"]


class SyncBusyError(UsageError):
    """Another run holds the source's lock and the run was asked not to wait
    (``wait=False``); nothing was written. ``holder`` says who holds it, if known."""

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


@contextlib.asynccontextmanager
async def writer_lock(
    engine: AsyncEngine,
    prefix: str,
    source: str,
    *,
    wait: bool,
    on_wait: Callable[[str], None],
) -> AsyncIterator[bool]:
    """Hold the lock of ``source`` (under ``prefix``) in ``engine``'s database for the
    ``async with``; yields whether another run held it first (the caller's view of the
    world is older than that run's writes).

    A held lock is waited for after ``on_wait`` is told once whom for; with ``wait=False``,
    ``SyncBusyError`` is raised instead.
    """
    lock = backend_of(engine.dialect).source_lock(engine, prefix, source)
    try:
        waited = False
        if not await lock.try_acquire():
            holder = await lock.holder()
            by = holder or "another process"
            if not wait:
                raise SyncBusyError(
                    f"the sync of source {source!r} is held by {by}; not waiting for it", holder
                )
            on_wait(f"waiting for the sync of source {source!r} held by {by}...")
            await lock.acquire()
            waited = True
        yield waited
    finally:
        # Shielded: a run cancelled (SIGTERM) must still let its lock go before it ends.
        await asyncio.shield(lock.release())
