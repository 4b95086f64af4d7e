"""Names for the IDs a command shows, read from the directory while the usage is pulled.

A command knows which name columns it will show (``project_name``, ``user_email``,
``api_key_name``) before it sends anything; ``NameLookup`` then reads the parts of the
directory that hold them, and only those (``client.directory(parts=...)``): the projects
list alone for project names (one request for up to 100 projects), the users list for
emails, every project's keys for key names. It runs beside the pull, and the rows wait for
it only at the first page. Nothing is read when no shown column needs a name (``--no-names``).

A directory that cannot be read at all leaves the IDs, said in one warning; a part the key
may not read is the library's own warning. Both reach stderr through the run's log handler
(``_voice.library_log``), once each.

In a table a name stands in for its ID (``label``): the ID is shown where the name is
unknown, and after a name that more than one ID carries, so no two rows look alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping

from .._client import UsageClient
from .._directory import Directory
from .._exceptions import APIError
from .._row_columns import NAME_COLUMNS

__all__ = ["ID_OF", "NAME_COLUMNS", "NONE", "NameLookup", "label", "shared_names"]

ID_OF: Mapping[str, str] = {name: ident for ident, name in NAME_COLUMNS.items()}
"""The ID column each name column names (``project_name`` -> ``project_id``)."""

NONE = "(none)"  # a grouping value the API left empty, as the table shows it

PART_OF: Mapping[str, str] = {
    "project_name": "projects",
    "user_email": "users",
    "api_key_name": "api_keys",
}
"""The part of the directory (``client.directory(parts=...)``) each name column comes from."""

# The command line's own warnings, beneath the library's logger: said by the same handler.
logger = logging.getLogger("usage_async.cli")


def label(name: str | None, ident: str | None, shared: Collection[str] = ()) -> str:
    """How a table shows an ID by its name: the name, the ID when the name is unknown, and
    ``name (ID)`` when the name is among ``shared`` (carried by more than one ID)."""
    if ident is None:
        return NONE
    if name is None:
        return ident
    return f"{name} ({ident})" if name in shared else name


def _repeated(names: Collection[str | None]) -> frozenset[str]:
    seen: set[str] = set()
    again: set[str] = set()
    for name in names:
        if name is not None:
            (again if name in seen else seen).add(name)
    return frozenset(again)


def shared_names(directory: Directory | None) -> dict[str, frozenset[str]]:
    """Per name column, the names the directory gives to more than one ID."""
    if directory is None:
        return {}
    return {
        "project_name": _repeated([p.name for p in directory.projects.values()]),
        "user_email": _repeated([u.email for u in directory.users.values()]),
        "api_key_name": _repeated([k.name for k in directory.api_keys.values()]),
    }


class NameLookup:
    """The names of the columns ``needs``, read in the background once ``start``-ed.

    ``await directory()`` gives them, or an empty directory (so IDs, with a warning) when
    the directory could not be read. ``aclose()`` stops a read still running.
    """

    def __init__(self, needs: Collection[str]) -> None:
        self.parts = tuple(dict.fromkeys(PART_OF[need] for need in needs))
        self._task: asyncio.Task[Directory] | None = None
        self._directory: Directory | None = None

    def start(self, client: UsageClient) -> None:
        self._task = asyncio.ensure_future(client.directory(parts=self.parts))

    async def directory(self) -> Directory:
        if self._directory is None:
            assert self._task is not None, "start() the lookup first"
            try:
                directory = await self._task
            except APIError as exc:
                logger.warning("cannot read names from the directory, showing IDs: %s", exc)
                directory = Directory()
            self._directory = directory
        return self._directory

    def shared(self) -> dict[str, frozenset[str]]:
        """``shared_names`` of the directory read, or nothing before it was."""
        return shared_names(self._directory)

    async def aclose(self) -> None:
        task = self._task
        if task is None:
            return
        if not task.done():
            task.cancel()
        # Awaited, so that no failure of a read nobody waited for is logged at exit.
        await asyncio.gather(task, return_exceptions=True)
