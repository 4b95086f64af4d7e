"""Progress of a sync on a terminal: one bar per table, buckets written of buckets to read.

Drawn on stderr with rich, and only when asked (the command line asks when stderr is a
terminal); otherwise nothing is imported or drawn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Progress"]


class Progress:
    """Bars for the tables of a sync; a no-op unless ``enabled``."""

    def __init__(self, enabled: bool) -> None:
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("buckets, {task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> Progress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def track(self, label: str, buckets: int) -> None:
        """A bar for ``label`` expecting ``buckets`` buckets."""
        if self._bars is not None:
            self._tasks[label] = self._bars.add_task(label, total=max(buckets, 1), rows=0)

    def advance(self, label: str, buckets: int, rows: int) -> None:
        """``buckets`` more buckets (``rows`` more rows) written for ``label``."""
        task = self._tasks.get(label)
        if task is None:
            return
        done = self._bars.tasks[self._bars.task_ids.index(task)]
        completed = done.completed + buckets
        self._bars.update(
            task,
            completed=completed,
            total=max(done.total or 0, completed),
            rows=done.fields["rows"] + rows,
        )
