"""The organization's directory, as the admin API lists it: the names behind the IDs.

Usage and costs rows carry only IDs (``project_id``, ``user_id``, ``api_key_id``); these four
lists turn them into names, with the live API's shapes (the official SDK's ``Project``,
``OrganizationUser``, ``ProjectAPIKey`` and ``ProjectServiceAccount``):

* ``/organization/projects``: archived projects only with ``include_archived=true``;
* ``/organization/users``: ``emails`` keeps the users with one of those addresses;
* ``/organization/projects/{project_id}/api_keys``: ``owner_project_access`` is ``active``
  (the default: keys whose owner still has access to the project), ``inactive`` or ``any``;
* ``/organization/projects/{project_id}/service_accounts``.

A page is ``{"object": "list", "data", "first_id", "last_id", "has_more"}`` with at most
``limit`` items (1..100, default 20) in creation order; the next page is asked with
``after=<last_id>``. ``after`` may be the ID of any item of the list, even one its filter
leaves out (so a walk survives a filter that changes between pages); anything else is a 400
naming ``after``. An unknown project in the path is a 404.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from .._endpoints import LIST_ENDPOINTS, ListEndpoint
from ._catalog import ApiKey, Organization, Project, ServiceAccount, User
from ._query import QueryPairs, WireError, choose, parse_boolean, parse_limit, shown

__all__ = ["Directory"]

# The lists, their paths, filters and page limits are the client's own table: the emulator
# answers exactly what the client may ask.
_OWNER_PROJECT_ACCESS = next(
    f.choices
    for f in LIST_ENDPOINTS["project_api_keys"].filters
    if f.name == "owner_project_access"
)

Item = Mapping[str, Any]
Selection = tuple[Sequence[Item], Callable[[Item], bool]]
"""A list's items in creation order, and which of them a query keeps."""


def _project(project: Project) -> Item:
    return {
        "object": "organization.project",
        "id": project.id,
        "name": project.name,
        "created_at": project.created_at,
        "archived_at": project.archived_at,
        "status": project.status,
    }


def _user(user: User) -> Item:
    return {
        "object": "organization.user",
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "added_at": user.added_at,
    }


def _service_account(account: ServiceAccount) -> Item:
    return {
        "object": "organization.project.service_account",
        "id": account.id,
        "name": account.name,
        "role": account.role,
        "created_at": account.created_at,
    }


def _owner(key: ApiKey, users: Mapping[str, User], accounts: Mapping[str, ServiceAccount]) -> Item:
    if key.service_account_id is not None:
        account = accounts[key.service_account_id]
        return {
            "type": "service_account",
            "service_account": {
                "id": account.id,
                "name": account.name,
                "role": account.role,
                "created_at": account.created_at,
            },
        }
    assert key.user_id is not None  # a key has one owner or the other
    user = users[key.user_id]
    return {
        "type": "user",
        "user": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "role": key.owner_role,
            "created_at": user.added_at,
        },
    }


def _api_key(key: ApiKey, owner: Item) -> Item:
    return {
        "object": "organization.project.api_key",
        "id": key.id,
        "name": key.name,
        "redacted_value": key.redacted_value,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "owner": owner,
        "owner_project_access": key.owner_project_access,
    }


def _by_project(items: Iterable[tuple[str, Item]]) -> dict[str, tuple[Item, ...]]:
    out: dict[str, list[Item]] = {}
    for project_id, item in items:
        out.setdefault(project_id, []).append(item)
    return {project_id: tuple(kept) for project_id, kept in out.items()}


def _everything(item: Item) -> bool:
    return True


class Directory:
    """The rendered directory of one organization, and its list pages."""

    def __init__(self, organization: Organization) -> None:
        users = {u.id: u for u in organization.users}
        accounts = {a.id: a for a in organization.service_accounts}
        self._project_ids = frozenset(p.id for p in organization.projects)
        self._projects = tuple(_project(p) for p in organization.projects)
        self._users = tuple(_user(u) for u in organization.users)
        self._api_keys = _by_project(
            (k.project_id, _api_key(k, _owner(k, users, accounts))) for k in organization.api_keys
        )
        self._service_accounts = _by_project(
            (a.project_id, _service_account(a)) for a in organization.service_accounts
        )
        self._select: Mapping[str, Callable[[str, QueryPairs], Selection]] = {
            "projects": self._select_projects,
            "users": self._select_users,
            "project_api_keys": self._select_api_keys,
            "project_service_accounts": self._select_service_accounts,
        }

    def render(
        self, listing: ListEndpoint, project_id: str, items: Iterable[tuple[str, str]]
    ) -> bytes:
        """The body of one page of ``listing`` (``project_id`` is ``""`` outside a project).

        Raises ``WireError``: 404 for an unknown project, 400 for a bad parameter.
        """
        if listing.path_params and project_id not in self._project_ids:
            raise WireError(
                f"No project with ID '{shown(project_id)}' was found in this organization.",
                status=404,
            )
        pairs = QueryPairs(
            listing.path.replace("{project_id}", project_id),
            items,
            arrays=[f.name for f in listing.filters if f.kind == "strings"],
            scalars=["limit", "after", *(f.name for f in listing.filters if f.kind != "strings")],
        )
        limit = parse_limit(pairs.scalar("limit"), listing.limit)
        collection, keep = self._select[listing.name](project_id, pairs)
        start = 0
        after = pairs.scalar("after")
        if after is not None:
            ids = [item["id"] for item in collection]
            if after not in ids:
                raise WireError(
                    f"Invalid 'after': '{shown(after)}' is not the ID of an item of this list. "
                    "Pass the last_id of a previous page.",
                    param="after",
                )
            start = ids.index(after) + 1
        kept = [item for item in collection[start:] if keep(item)]
        data = kept[:limit]
        return orjson.dumps(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(kept) > limit,
            }
        )

    def _select_projects(self, project_id: str, pairs: QueryPairs) -> Selection:
        raw = pairs.scalar("include_archived")
        if raw is not None and parse_boolean("include_archived", raw):
            return self._projects, _everything
        return self._projects, lambda item: item["archived_at"] is None

    def _select_users(self, project_id: str, pairs: QueryPairs) -> Selection:
        if "emails" not in pairs:
            return self._users, _everything
        # Email addresses are compared as their owners would: without regard to case.
        emails = {email.casefold() for email in pairs.array("emails")}
        return self._users, lambda item: str(item["email"]).casefold() in emails

    def _select_api_keys(self, project_id: str, pairs: QueryPairs) -> Selection:
        raw = pairs.scalar("owner_project_access")
        access = "active" if raw is None else raw
        choose("owner_project_access", [access], _OWNER_PROJECT_ACCESS, "value")
        keys = self._api_keys.get(project_id, ())
        if access == "any":
            return keys, _everything
        return keys, lambda item: item["owner_project_access"] == access

    def _select_service_accounts(self, project_id: str, pairs: QueryPairs) -> Selection:
        return self._service_accounts.get(project_id, ()), _everything
