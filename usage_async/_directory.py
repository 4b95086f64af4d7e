"""The organization directory: names for the IDs that usage and costs are keyed by.

``load_directory(client)`` reads every project (archived ones too), user, project API key and
service account, concurrently under the client's in-flight cap, into an immutable
``Directory``. A part the key may not read is left empty and named in ``warnings`` rather
than failing the lookup: a report with some IDs unnamed beats no report.

Core layer: imports the standard library, attrs and the core's models only; reads through a
protocol, not the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from typing import Any, Literal, Protocol, TypeVar

import attrs

from ._exceptions import InvalidParameterError, NotFoundError, PermissionDeniedError
from ._models import KeyOwner, Project, ProjectApiKey, ServiceAccount, User

__all__ = ["PARTS", "Collectable", "Directory", "DirectorySource", "load_directory"]

logger = logging.getLogger("usage_async")

T = TypeVar("T")


class Collectable(Protocol[T]):
    """A list the directory reads whole: ``ListStream`` is one."""

    async def collect(self) -> list[T]: ...


class DirectorySource(Protocol):
    """What the directory is read through: the four lists of ``UsageClient``."""

    def projects(
        self, *, include_archived: bool | None = None, limit: int | None = None
    ) -> Collectable[Project]: ...

    def users(self, *, limit: int | None = None) -> Collectable[User]: ...

    def project_api_keys(
        self,
        project_id: str,
        *,
        owner_project_access: Literal["active", "inactive", "any"] | None = None,
        limit: int | None = None,
    ) -> Collectable[ProjectApiKey]: ...

    def project_service_accounts(
        self, project_id: str, *, limit: int | None = None
    ) -> Collectable[ServiceAccount]: ...


PAGE = 100  # the lists' largest page: the fewest requests


def _by_id(items: Iterable[Any]) -> Mapping[str, Any]:
    if isinstance(items, Mapping):
        return types.MappingProxyType(dict(items))
    return types.MappingProxyType({item.id: item for item in items})


@attrs.frozen
class Directory:
    """An immutable lookup from the organization's IDs to its names.

    ``projects``, ``users``, ``api_keys`` and ``service_accounts`` map IDs to the directory's
    records; ``warnings`` says which parts could not be read. The ``*_name``/``user_email``
    lookups return ``None`` for an ID the directory does not know (or ``None`` itself).
    """

    projects: Mapping[str, Project] = attrs.field(factory=dict, converter=_by_id)
    users: Mapping[str, User] = attrs.field(factory=dict, converter=_by_id)
    api_keys: Mapping[str, ProjectApiKey] = attrs.field(factory=dict, converter=_by_id)
    service_accounts: Mapping[str, ServiceAccount] = attrs.field(factory=dict, converter=_by_id)
    warnings: tuple[str, ...] = ()

    def project_name(self, project_id: str | None) -> str | None:
        project = self.projects.get(project_id) if project_id is not None else None
        return project.name if project is not None else None

    def user_email(self, user_id: str | None) -> str | None:
        user = self.users.get(user_id) if user_id is not None else None
        return user.email if user is not None else None

    def api_key_name(self, api_key_id: str | None) -> str | None:
        key = self.api_keys.get(api_key_id) if api_key_id is not None else None
        return key.name if key is not None else None

    def api_key_owner(self, api_key_id: str | None) -> KeyOwner | None:
        key = self.api_keys.get(api_key_id) if api_key_id is not None else None
        return key.owner if key is not None else None


@contextlib.asynccontextmanager
async def _first_error_raised() -> AsyncIterator[None]:
    """A failing part fails the lookup with its own error, not an ``ExceptionGroup``."""
    try:
        yield
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None


PARTS = ("projects", "users", "api_keys", "service_accounts")
"""The parts of the directory, as ``client.directory(parts=...)`` names them."""


async def load_directory(client: DirectorySource, parts: Collection[str] = PARTS) -> Directory:
    """Read ``parts`` of the directory through ``client`` (see the module docstring).

    API keys and service accounts are listed per project, so reading them reads the projects
    too. Raises ``InvalidParameterError`` for a part that is not one of ``PARTS``, and the
    first error of a read that is not a tolerated 403 (or 404 of a project gone meanwhile).
    """
    unknown = sorted(set(parts) - set(PARTS))
    if isinstance(parts, str) or unknown:
        raise InvalidParameterError(
            f"parts must be some of {', '.join(PARTS)}; got {parts!r}", param="parts"
        )
    reader = _PartReader()
    projects, users = await _projects_and_users(client, parts, reader)
    api_keys, service_accounts = await _per_project(client, parts, projects, reader)
    return Directory(
        projects=projects if "projects" in parts else (),
        users=users,
        api_keys=api_keys,
        service_accounts=service_accounts,
        warnings=tuple(reader.warnings),
    )


class _PartReader:
    """Reads parts of the directory, noting a part it may not read instead of failing."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    async def read(
        self, part: str, stream: Collectable[T], tolerate: tuple[type[Exception], ...]
    ) -> list[T]:
        try:
            return await stream.collect()
        except tolerate as exc:
            warning = f"the directory has no {part}: {exc}"
            logger.warning("%s", warning)
            self.warnings.append(warning)
            return []


async def _nothing() -> list[Any]:
    return []


async def _projects_and_users(
    client: DirectorySource, parts: Collection[str], reader: _PartReader
) -> tuple[list[Project], list[User]]:
    """The projects (also when only their keys or accounts are asked for) and the users."""
    per_project_parts = {"api_keys", "service_accounts"} & set(parts)
    readable = (PermissionDeniedError,)
    async with _first_error_raised(), asyncio.TaskGroup() as group:
        projects_read = group.create_task(
            reader.read("projects", client.projects(include_archived=True, limit=PAGE), readable)
            if "projects" in parts or per_project_parts
            else _nothing()
        )
        users_read = group.create_task(
            reader.read("users", client.users(limit=PAGE), readable)
            if "users" in parts
            else _nothing()
        )
    return projects_read.result(), users_read.result()


async def _per_project(
    client: DirectorySource, parts: Collection[str], projects: list[Project], reader: _PartReader
) -> tuple[list[ProjectApiKey], list[ServiceAccount]]:
    """The API keys and the service accounts of every project, as ``parts`` asks."""
    # A project archived or removed between the two reads answers 404: name it, go on.
    per_project = (PermissionDeniedError, NotFoundError)
    async with _first_error_raised(), asyncio.TaskGroup() as group:
        keys_read = [
            group.create_task(
                reader.read(
                    f"API keys of project {p.id}",
                    # "any": keys whose owner lost access still carry usage to name.
                    client.project_api_keys(p.id, owner_project_access="any", limit=PAGE),
                    per_project,
                )
            )
            for p in projects
            if "api_keys" in parts
        ]
        accounts_read = [
            group.create_task(
                reader.read(
                    f"service accounts of project {p.id}",
                    client.project_service_accounts(p.id, limit=PAGE),
                    per_project,
                )
            )
            for p in projects
            if "service_accounts" in parts
        ]
    api_keys = [key for task in keys_read for key in task.result()]
    service_accounts = [account for task in accounts_read for account in task.result()]
    return api_keys, service_accounts
