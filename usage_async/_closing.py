"""Closing that reaches what is waiting: requests of a client or a stream end when it closes.

A request runs in whichever task iterates the stream (or in a window task of the stream's
own). ``Interrupts`` knows which tasks are inside a request of its owner; ``interrupt()``
cancels them, and the request, seeing that its owner cancelled it, ends in
``ClientClosedError`` instead of a bare cancellation — so the consumer can tell "closed"
from "cancelled", and a task cancelled for its own reasons is still cancelled.

Core layer: imports the standard library and ``_exceptions`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from ._exceptions import ClientClosedError

__all__ = ["Interrupts"]

Task = asyncio.Task[Any]


class Interrupts:
    """The tasks inside a request of one owner, and ending those requests when it closes."""

    __slots__ = ("_cancelled", "_inside", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._inside: dict[Task, int] = {}
        self._cancelled: set[Task] = set()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Around a request: if ``interrupt()`` cancels it, raise ``ClientClosedError``."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - requests run in tasks
            yield
            return
        self._inside[task] = self._inside.get(task, 0) + 1
        try:
            yield
        except asyncio.CancelledError:
            if task in self._cancelled:
                self._cancelled.discard(task)
                if task.uncancel() == 0:  # only we cancelled it: say why, do not cancel
                    raise ClientClosedError(f"{self._what} was closed") from None
            raise
        finally:
            depth = self._inside.pop(task, 1) - 1
            if depth:
                self._inside[task] = depth
            elif task in self._cancelled:  # the cancellation was swallowed on the way
                self._cancelled.discard(task)
                task.uncancel()

    def interrupt(self, also: Iterable[Task] = ()) -> None:
        """Cancel every task inside a request of the owner (each ends in
        ``ClientClosedError``), and ``also`` these tasks (the owner's own), once each."""
        current = asyncio.current_task()
        for task in list(self._inside):
            if task is not current and not task.done() and task not in self._cancelled:
                self._cancelled.add(task)
                task.cancel()
        for task in also:
            if task is not current and not task.done() and task not in self._cancelled:
                task.cancel()
