"""Names for the IDs a command shows, read from the directory while the usage is pulled.

A command knows which name columns it will show (``project_name``, ``user_email``,
``api_key_name``) before it sends anything; ``NameLookup`` then reads the smallest part of
the directory that holds them: the projects list alone for project names (one request for
up to 100 projects), the users list for emails, and the whole directory only for key names,
which are listed project by project. It runs beside the pull, and the rows wait for it only
at the first page. Nothing is read when no shown column needs a name (``--no-names``).

A directory the key cannot read at all leaves the IDs, said in one line; each part it could
not read (``Directory.warnings``) is one line too. The lines are kept in ``messages`` for the
command to print once its output is written: a progress display may be on stderr meanwhile.

In a table a name stands in for its ID (``label``): the ID is shown where the name is
unknown, and after a name that more than one ID carries, so no two rows look alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterator, Mapping
from typing import Any, TypeVar

from .. import _directory
from .._client import UsageClient
from .._directory import Directory
from .._exceptions import APIError, PermissionDeniedError
from .._rows import NAME_COLUMNS
from .._streams import ListStream

__all__ = ["ID_OF", "NAME_COLUMNS", "NONE", "NameLookup", "label", "read_names", "shared_names"]

T = TypeVar("T")

ID_OF: Mapping[str, str] = {name: ident for ident, name in NAME_COLUMNS.items()}
"""The ID column each name column names (``project_name`` -> ``project_id``)."""

NONE = "(none)"  # a grouping value the API left empty, as the table shows it
PAGE = 100  # the lists' largest page: the fewest requests


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


class _DirectoryWarningsSaidHere(logging.Filter):
    """The library logs each part of the directory it could not read; the command line says
    them itself, once, in its own words."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.pathname != _directory.__file__


@contextlib.contextmanager
def _quiet_directory_log() -> Iterator[None]:
    log = logging.getLogger("usage_async")
    quiet = _DirectoryWarningsSaidHere()
    log.addFilter(quiet)
    try:
        yield
    finally:
        log.removeFilter(quiet)


async def read_names(client: UsageClient, needs: Collection[str]) -> Directory:
    """The part of the directory that names the columns ``needs``, read through ``client``.

    A part the key may not read (403) is left empty and named in ``warnings``, as
    ``client.directory()`` does; any other error is raised.
    """
    if "api_key_name" in needs:  # keys are listed per project: every list must be read
        with _quiet_directory_log():
            return await client.directory()
    warnings: list[str] = []

    async def read(part: str, stream: ListStream[T]) -> list[T]:
        try:
            return await stream.collect()
        except PermissionDeniedError as exc:
            warnings.append(f"the directory has no {part}: {exc}")
            return []

    async def nothing() -> list[Any]:
        return []

    try:
        async with asyncio.TaskGroup() as group:
            projects = group.create_task(
                read("projects", client.projects(include_archived=True, limit=PAGE))
                if "project_name" in needs
                else nothing()
            )
            users = group.create_task(
                read("users", client.users(limit=PAGE)) if "user_email" in needs else nothing()
            )
    except BaseExceptionGroup as failed:  # the first failure, as itself
        raise failed.exceptions[0] from None
    return Directory(projects=projects.result(), users=users.result(), warnings=tuple(warnings))


class NameLookup:
    """The names of the columns ``needs``, read in the background once ``start``-ed.

    ``await directory()`` gives them, or an empty directory (so IDs) when the read failed;
    ``messages`` then holds the lines to print. ``aclose()`` stops a read still running.
    """

    def __init__(self, needs: Collection[str]) -> None:
        self.needs = frozenset(needs)
        self.messages: list[str] = []
        self._task: asyncio.Task[Directory] | None = None
        self._directory: Directory | None = None

    def start(self, client: UsageClient) -> None:
        self._task = asyncio.ensure_future(read_names(client, self.needs))

    async def directory(self) -> Directory:
        if self._directory is None:
            assert self._task is not None, "start() the lookup first"
            try:
                directory = await self._task
            except APIError as exc:
                self.messages.append(f"cannot read names from the directory, showing IDs: {exc}")
                directory = Directory()
            self.messages.extend(f"warning: {warning}" for warning in directory.warnings)
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
