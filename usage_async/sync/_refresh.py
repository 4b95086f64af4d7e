"""The directory tables, refreshed by need, with every request counted.

The organization's projects and users are paged lists, a request per hundred: a run reads
them every time. API keys are listed per project, a request per project: a run lists the
keys only of the projects whose keys appear in the rows it wrote and are not in the
``api_keys`` table yet, and of the projects whose key list is older than ``max_age``
(``projects.api_keys_read_at``, the server's clock). Service accounts are never listed:
no table keeps them. A run that brings nothing new makes no request per project.

The reads go through ``Counting``, which passes every list page through to the client and
counts it, so that a run's report counts every request it sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any, Literal, TypeVar

from .._client import UsageClient
from .._directory import load_directory
from .._exceptions import APIError, NotFoundError, PermissionDeniedError
from .._models import Page, ProjectApiKey
from .._paging import ListPage, RowPaths
from .._protocol import ListQuery, Query
from .._streams import ListStream
from ._store import Store

__all__ = ["Counting", "refresh_keys", "refresh_projects_and_users", "key_records"]

logger = logging.getLogger("usage_async")

T = TypeVar("T")
PAGE = 100  # the lists' largest page: the fewest requests


class Counting:
    """The client as the directory's lists read it (a ``PageSource`` and a
    ``DirectorySource``), counting each list page it fetches in ``requests``."""

    def __init__(self, client: UsageClient) -> None:
        self.client = client
        self.requests = 0

    @property
    def closed(self) -> bool:
        return self.client.closed

    def ensure_open(self) -> None:
        self.client.ensure_open()

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        return self.client.spawn(coroutine)

    async def fetch_page(
        self, query: Query, cursor: str | None, row: RowPaths | None = None
    ) -> Page[Any]:
        self.requests += 1
        return await self.client.fetch_page(query, cursor, row)

    async def fetch_list(self, query: ListQuery, after: str | None) -> ListPage[Any]:
        self.requests += 1
        return await self.client.fetch_list(query, after)

    def projects(
        self, *, include_archived: bool | None = None, limit: int | None = None
    ) -> ListStream[Any]:
        query = self.client.projects(include_archived=include_archived, limit=limit).query
        return ListStream(self, query)

    def users(self, *, limit: int | None = None) -> ListStream[Any]:
        return ListStream(self, self.client.users(limit=limit).query)

    def project_api_keys(
        self,
        project_id: str,
        *,
        owner_project_access: Literal["active", "inactive", "any"] | None = None,
        limit: int | None = None,
    ) -> ListStream[Any]:
        stream = self.client.project_api_keys(
            project_id, owner_project_access=owner_project_access, limit=limit
        )
        return ListStream(self, stream.query)

    def project_service_accounts(
        self, project_id: str, *, limit: int | None = None
    ) -> ListStream[Any]:
        return ListStream(self, self.client.project_service_accounts(project_id, limit=limit).query)


def key_records(keys: Iterable[ProjectApiKey]) -> list[dict[str, Any]]:
    """The rows of the ``api_keys`` table of ``keys``."""
    records = []
    for key in keys:
        owner = key.owner
        records.append(
            {
                "id": key.id,
                "name": key.name,
                "project_id": key.project_id,
                "owner_type": owner.type if owner is not None else None,
                "owner_id": owner.id if owner is not None else None,
                "owner_name": (owner.email or owner.name) if owner is not None else None,
            }
        )
    return records


async def refresh_projects_and_users(counting: Counting, store: Store, source: str) -> bool:
    """Read the projects and users lists and upsert them; whether they could be read (a
    directory the key may not read at all is logged and skipped: usage syncs without it)."""
    try:
        directory = await load_directory(counting, ("projects", "users"))
    except APIError as exc:
        logger.warning("sync %s: the directory could not be read (%s)", source, exc)
        return False
    await store.write_directory(
        source,
        projects=directory.projects.values(),
        users=directory.users.values(),
        create=False,
    )
    return True


async def refresh_keys(
    counting: Counting,
    store: Store,
    source: str,
    seen: Iterable[tuple[str | None, str]],
    stale_from: int,
    now: int,
) -> None:
    """List the API keys of the projects that need it (see the module's docstring) and
    upsert them, marking each project listed at ``now``. ``seen`` holds the (project, key)
    pairs of the rows written; a key list read at or before ``stale_from`` is too old."""
    seen = list(seen)
    known = await store.known_keys(source, {key for _, key in seen})
    unknown = [(project, key) for project, key in seen if key not in known]
    projects = await store.key_lists_to_read(source, stale_from)
    if any(project is None for project, _ in unknown):  # a key of no project: ask them all
        projects |= await store.project_ids(source)
    projects |= {project for project, _ in unknown if project is not None}
    if not projects:
        return
    lists = [_project_keys(counting, project) for project in sorted(projects)]
    keys = [key for read in await asyncio.gather(*lists) for key in read]
    await store.write_keys(source, key_records(keys), sorted(projects), now)


async def _project_keys(counting: Counting, project: str) -> list[ProjectApiKey]:
    """The keys of one project; none, logged, if the key may not read them or the project
    is gone."""
    # "any": keys whose owner lost access still carry usage to name.
    stream = counting.project_api_keys(project, owner_project_access="any", limit=PAGE)
    try:
        return await stream.collect()
    except (PermissionDeniedError, NotFoundError) as exc:
        logger.warning("the directory has no API keys of project %s: %s", project, exc)
        return []
