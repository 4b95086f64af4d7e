"""``usage-async projects``, ``users``, ``api-keys`` and ``service-accounts``: the directory.

The rows and their tables are ``_listings``'s; this adds the commands and their filters.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping

from .._arguments import Common, Subcommands, add_format_flag, add_names_flag, whole_value
from .._running import EXIT_OK, complete, fail, make_client

__all__ = ["LISTING_FLAGS", "register"]

LISTING_FLAGS: Mapping[str, str] = {
    "include_archived": "--include-archived",
    "emails": "--email",
    "project_id": "--project-id",
    "owner_project_access": "--owner-project-access",
}
"""The listing commands' flags, by the client parameter each sets (for API errors)."""


def register(commands: Subcommands, common: Common) -> None:
    """Add the four listing commands, with the connection."""
    parents = [common.connection]
    projects = _add_listing(
        commands,
        parents,
        "projects",
        "the organization's projects",
        "The organization's projects: ID, name, status, and when each was created and "
        "archived (UTC).",
    )
    projects.add_argument(
        LISTING_FLAGS["include_archived"],
        dest="include_archived",
        action="store_true",
        help="archived projects too",
    )
    users = _add_listing(
        commands,
        parents,
        "users",
        "the organization's users",
        "The organization's users: ID, email, name, role, and when each was added (UTC).",
    )
    users.add_argument(
        LISTING_FLAGS["emails"],
        dest="emails",
        metavar="ADDRESS",
        type=whole_value,
        action="extend",
        help="only the user with this email address (repeat the flag for several)",
    )
    _add_api_keys(commands, parents)
    service_accounts = _add_listing(
        commands,
        parents,
        "service-accounts",
        "the projects' service accounts",
        "Every project's service accounts, archived projects included: ID, name, role, and "
        "when each was created (UTC).",
    )
    _add_project_ids(service_accounts, "service accounts")


def _add_listing(
    commands: Subcommands,
    parents: list[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    # The endpoint commands are spelled as the client's methods (file_search_calls): the
    # same spelling works here too.
    snake = name.replace("-", "_")
    parser = commands.add_parser(
        name,
        aliases=[snake] if snake != name else [],
        parents=parents,
        allow_abbrev=False,
        help=summary,
        description=description,
    )
    add_format_flag(parser)
    parser.set_defaults(run=run, listing=name, parser=parser)
    return parser


def _add_project_ids(parser: argparse.ArgumentParser, noun: str) -> None:
    parser.add_argument(
        LISTING_FLAGS["project_id"],
        dest="project_ids",
        metavar="ID",
        type=whole_value,
        action="extend",
        help=f"only this project's {noun} (repeat the flag for several; default: every "
        "project's, archived ones included)",
    )
    add_names_flag(
        parser,
        "name each project (default: in the table, where the name stands in for the ID; "
        "--names adds project_name to csv, jsonl and json; --no-names reads no project "
        "list when --project-id is given)",
    )


def _add_api_keys(commands: Subcommands, parents: list[argparse.ArgumentParser]) -> None:
    api_keys = _add_listing(
        commands,
        parents,
        "api-keys",
        "the projects' API keys and who owns each",
        "Every project's API keys, archived projects included: ID, name, owner (a user or "
        "a service account), and when each was created and last used (UTC). The secret is "
        "never shown, only its redacted form.",
    )
    _add_project_ids(api_keys, "keys")
    api_keys.add_argument(
        LISTING_FLAGS["owner_project_access"],
        dest="owner_project_access",
        choices=("active", "inactive", "any"),
        default="any",
        help="keys whose owner still has access to the project (active), no longer has it "
        "(inactive), or either (any, the default)",
    )


def _nothing_listed(args: argparse.Namespace, noun: str) -> str:
    filters = [
        f"{LISTING_FLAGS[param]} {shlex.quote(value)}"
        for param, values in (
            ("emails", getattr(args, "emails", None)),
            ("project_id", getattr(args, "project_ids", None)),
        )
        for value in values or ()
    ]
    access = getattr(args, "owner_project_access", "any")
    if access != "any":
        filters.append(f"{LISTING_FLAGS['owner_project_access']} {access}")
    return f"usage-async: no {noun}" + (" with " + " ".join(filters) if filters else "")


def run(args: argparse.Namespace, now: int) -> int:
    """Read the listing whole and write it; returns the exit code."""
    from .._listings import LISTINGS, Listed, fetch_listing, write_listing

    listing = LISTINGS[args.listing]
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    names = listing.in_projects and (args.names if args.names is not None else fmt == "table")
    client, key = make_client(args)
    listed = Listed([])

    async def work() -> None:
        nonlocal listed
        listed = await fetch_listing(
            client,
            listing,
            names=names,
            include_archived=getattr(args, "include_archived", False),
            emails=getattr(args, "emails", None),
            project_ids=getattr(args, "project_ids", None),
            owner_project_access=getattr(args, "owner_project_access", "any"),
        )

    code = complete(work(), key, LISTING_FLAGS, base_url=client.base_url)
    if code != EXIT_OK:
        return code
    if listed.unread:
        return fail(f"cannot list {listing.noun}: the projects list could not be read", key)
    write_listing(listing, listed, fmt, names=names)
    if not listed.rows:
        print(_nothing_listed(args, listing.noun), file=sys.stderr)
    return EXIT_OK
