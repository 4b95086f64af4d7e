"""``usage-async projects``, ``users``, ``api-keys`` and ``service-accounts``: the directory.

One ``Listing`` per command says what its rows hold and what its table shows; the rows are
the API's items, flattened (a key's owner becomes ``owner_type``, ``owner_id``...), with
times as ISO-8601 UTC text, as the usage rows have them. API keys and service accounts are
listed per project: every project's, archived ones included, as ``client.directory()`` reads
them (concurrently, a project gone between the two reads left out with a warning), unless
``--project-id`` names some. The rows keep the projects' order. Their tables name each
project (``project_name`` standing in for ``project_id``, as in the usage tables); csv,
jsonl and json add ``project_name`` with ``--names``.

A listing is a few pages at most, so it is read whole, then written: the table needs every
row to size its columns anyway.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .._client import UsageClient
from .._directory import Directory
from .._models import KeyOwner, Project, ProjectApiKey, ServiceAccount, User
from .._time import iso_utc
from ._names import NameLookup, label, shared_names
from ._output import machine_writer, print_table
from ._table import Column, TablePlan, plan_listing, text_column, time_cells
from ._voice import plural

__all__ = ["LISTINGS", "Listed", "Listing", "fetch_listing", "listing_table", "write_listing"]

Row = dict[str, Any]
Access = Literal["active", "inactive", "any"]

_TIMES = ("created_at", "archived_at", "added_at", "last_used_at")
PAGE = 100  # the lists' largest page: the fewest requests
_REMEDY = "csv, jsonl and json carry every field"


@attrs.frozen
class Listing:
    """One directory command: its rows' fields and the table's columns.

    ``kept`` columns are always in the table (identifiers are never left out or cut);
    ``optional`` ones follow, in that order, as the terminal's width allows. ``owner`` is
    the table's own: a key owner's email, or a service account's name.
    """

    command: str
    noun: str
    fields: tuple[str, ...]
    kept: tuple[str, ...]
    optional: tuple[str, ...]
    in_projects: bool = False

    def columns(self, names: bool) -> list[str]:
        """The fields of its csv, jsonl and json rows (``project_name`` with ``names``)."""
        if names and self.in_projects:
            at = self.fields.index("project_id") + 1
            return [*self.fields[:at], "project_name", *self.fields[at:]]
        return list(self.fields)


LISTINGS: Mapping[str, Listing] = {
    listing.command: listing
    for listing in (
        Listing(
            "projects",
            "projects",
            ("id", "name", "status", "created_at", "archived_at"),
            kept=("id", "name"),
            optional=("status", "created_at", "archived_at"),
        ),
        Listing(
            "users",
            "users",
            ("id", "email", "name", "role", "added_at"),
            kept=("id", "email"),
            optional=("name", "role", "added_at"),
        ),
        Listing(
            "api-keys",
            "API keys",
            (
                "project_id",
                "id",
                "name",
                "redacted_value",
                "created_at",
                "last_used_at",
                "owner_type",
                "owner_id",
                "owner_name",
                "owner_email",
                "owner_role",
            ),
            kept=("project_id", "id", "name"),
            optional=("owner", "owner_type", "last_used_at", "created_at", "redacted_value"),
            in_projects=True,
        ),
        Listing(
            "service-accounts",
            "service accounts",
            ("project_id", "id", "name", "role", "created_at"),
            kept=("project_id", "id", "name"),
            optional=("role", "created_at"),
            in_projects=True,
        ),
    )
}


def _when(seconds: int | None) -> str | None:
    return iso_utc(seconds) if seconds is not None else None


def project_row(project: Project) -> Row:
    return {
        "id": project.id,
        "name": project.name,
        "status": project.status,
        "created_at": _when(project.created_at),
        "archived_at": _when(project.archived_at),
    }


def user_row(user: User) -> Row:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "added_at": _when(user.added_at),
    }


def api_key_row(key: ProjectApiKey) -> Row:
    owner = key.owner or KeyOwner(type="")
    return {
        "project_id": key.project_id,
        "id": key.id,
        "name": key.name,
        "redacted_value": key.redacted_value,
        "created_at": _when(key.created_at),
        "last_used_at": _when(key.last_used_at),
        "owner_type": owner.type or None,
        "owner_id": owner.id,
        "owner_name": owner.name,
        "owner_email": owner.email,
        "owner_role": owner.role,
    }


def service_account_row(account: ServiceAccount) -> Row:
    return {
        "project_id": account.project_id,
        "id": account.id,
        "name": account.name,
        "role": account.role,
        "created_at": _when(account.created_at),
    }


@attrs.frozen
class Listed:
    """What a listing command read: its rows, how many projects they came from (listings per
    project), and the names more than one project carries. ``unread``: the projects list
    itself could not be read (the library's warning said why), so there are no rows to give.
    """

    rows: list[Row]
    projects: int = 0
    shared: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    unread: bool = False


async def fetch_listing(
    client: UsageClient,
    listing: Listing,
    *,
    names: bool = False,
    include_archived: bool = False,
    emails: Sequence[str] | None = None,
    project_ids: Sequence[str] | None = None,
    owner_project_access: Access = "any",
) -> Listed:
    """Read ``listing``'s rows through ``client`` (closed when done).

    ``names`` adds ``project_name`` to the rows of listings per project. Raises
    ``APIError`` when a list cannot be read, except one project's list when every project's
    is read: that project is left out, with the library's warning.
    """
    async with client:
        if listing.command == "projects":
            stream = client.projects(include_archived=include_archived or None, limit=PAGE)
            return Listed([project_row(p) for p in await stream.collect()])
        if listing.command == "users":
            users = await client.users(emails=emails or None, limit=PAGE).collect()
            return Listed([user_row(u) for u in users])
        if project_ids:
            return await _of_projects(
                client, listing, list(dict.fromkeys(project_ids)), names, owner_project_access
            )
        return await _of_every_project(client, listing, names, owner_project_access)


async def _of_every_project(
    client: UsageClient, listing: Listing, names: bool, access: Access
) -> Listed:
    # Every project, archived ones too (their keys still carry usage to name), read as the
    # library reads the directory: a project archived or removed between the projects list
    # and its own list is a warning, not the end of the command.
    keys = listing.command == "api-keys"
    directory = await client.directory(
        parts=("projects", "api_keys" if keys else "service_accounts")
    )
    if directory.warnings and not directory.projects:
        # Not even the projects list could be read (an organization always has one): "no
        # keys" would be an answer the command does not have.
        return Listed([], unread=True)
    if keys:
        # The keys were read with owner_project_access="any"; each says which it is.
        rows = [
            api_key_row(key)
            for key in directory.api_keys.values()
            if access == "any" or key.owner_project_access == access
        ]
    else:
        rows = [service_account_row(a) for a in directory.service_accounts.values()]
    return Listed(_named(rows, directory, names), len(directory.projects), shared_names(directory))


async def _of_projects(
    client: UsageClient, listing: Listing, wanted: list[str], names: bool, access: Access
) -> Listed:
    # Projects named by hand, a few at most: read one after another, each project's error
    # (a 404 for an ID that is not one) failing the command as itself. The names are read
    # beside them.
    lookup = NameLookup({"project_name"}) if names else None
    rows: list[Row] = []
    try:
        if lookup is not None:
            lookup.start(client)
        for project_id in wanted:
            if listing.command == "api-keys":
                stream = client.project_api_keys(
                    project_id, owner_project_access=access, limit=PAGE
                )
                rows.extend(api_key_row(key) for key in await stream.collect())
            else:
                accounts = client.project_service_accounts(project_id, limit=PAGE)
                rows.extend(service_account_row(a) for a in await accounts.collect())
        found = await lookup.directory() if lookup is not None else None
    finally:
        if lookup is not None:
            await lookup.aclose()
    return Listed(_named(rows, found, names), len(wanted), shared_names(found))


def _named(rows: list[Row], directory: Directory | None, names: bool) -> list[Row]:
    if not names:
        return rows
    found = directory or Directory()
    named = []
    for row in rows:
        out: Row = {}
        for field, value in row.items():
            out[field] = value
            if field == "project_id":
                out["project_name"] = found.project_name(value)
        named.append(out)
    return named


# --- Writing ---------------------------------------------------------------------------------


def _title(listing: Listing, listed: Listed) -> str:
    count = len(listed.rows)
    where = ""
    if listing.in_projects:
        where = f" in {plural(listed.projects, 'project')}"
    if listing.command == "projects":
        archived = sum(row["status"] == "archived" for row in listed.rows)
        where = f" ({archived} archived)" if archived else ""
    return f"{plural(count, listing.noun.removesuffix('s'), listing.noun)}{where}, times UTC"


def _cells(field: str, rows: Sequence[Row]) -> list[str]:
    if field in _TIMES:
        return time_cells([row.get(field) for row in rows], seconds=False)
    if field == "owner":
        values = [row.get("owner_email") or row.get("owner_name") for row in rows]
    else:
        values = [row.get(field) for row in rows]
    return ["" if value is None else str(value) for value in values]


def _table_column(field: str, rows: Sequence[Row], listed: Listed) -> Column:
    if field == "project_id" and any(row.get("project_name") is not None for row in rows):
        shared = listed.shared.get("project_name", frozenset())
        cells = [label(row.get("project_name"), row.get("project_id"), shared) for row in rows]
        return text_column("project_name", cells)
    return text_column(field, _cells(field, rows))


def listing_table(listing: Listing, listed: Listed, width: int | None) -> TablePlan:
    """The table of ``listed`` for ``width`` characters (``None``: every column)."""
    rows = listed.rows
    return plan_listing(
        _title(listing, listed),
        [_table_column(field, rows, listed) for field in listing.kept],
        [_table_column(field, rows, listed) for field in listing.optional],
        width=width,
        remedy=_REMEDY,
    )


def write_listing(listing: Listing, listed: Listed, fmt: str, *, names: bool) -> None:
    """Write ``listed`` to stdout as ``fmt`` (a table prints nothing for no rows)."""
    if fmt != "table":
        writer = machine_writer(fmt, listing.columns(names), sys.stdout)
        writer.write(listed.rows)
        writer.close()
        return
    if not listed.rows:
        return  # the command says so on stderr
    print_table(lambda width: listing_table(listing, listed, width))
