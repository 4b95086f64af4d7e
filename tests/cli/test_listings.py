"""``projects``, ``users``, ``api-keys`` and ``service-accounts``: the directory, in every format.

The expected rows come from the emulator's own catalog (``ORGANIZATION``), not from the
library, so a listing that drops, reorders or misreads an item fails here. Every test runs
the installed script in a child process: against the session's emulator, or against a small
directory server of our own whose projects vanish between the two reads.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import orjson
import pytest
from aiohttp import web

from usage_async.emulator import ORGANIZATION, Emulator

from ..servers import app_url
from .conftest import Result, in_terminal, served

Script = Callable[..., Result]
Row = dict[str, Any]

FORMATS = ("csv", "jsonl", "json")
DIRECTORY_LISTS = ("projects", "users", "project_api_keys", "project_service_accounts")

PROJECTS = {p.id: p for p in ORGANIZATION.projects}
USERS = {u.id: u for u in ORGANIZATION.users}
ACCOUNTS = {a.id: a for a in ORGANIZATION.service_accounts}


def iso(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_projects(archived: bool) -> list[Row]:
    return [
        {
            "id": p.id,
            "name": p.name,
            "status": p.status,
            "created_at": iso(p.created_at),
            "archived_at": iso(p.archived_at),
        }
        for p in ORGANIZATION.projects
        if archived or p.archived_at is None
    ]


def expected_users() -> list[Row]:
    return [
        {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "added_at": iso(u.added_at)}
        for u in ORGANIZATION.users
    ]


def in_project_order(items: Any) -> list[Any]:
    """Items listed project by project, in the directory's order of projects."""
    order = list(PROJECTS)
    return sorted(items, key=lambda item: order.index(item.project_id))


def expected_api_keys() -> list[Row]:
    rows = []
    for key in in_project_order(ORGANIZATION.api_keys):
        user = USERS.get(key.user_id or "")
        account = ACCOUNTS.get(key.service_account_id or "")
        rows.append(
            {
                "project_id": key.project_id,
                "id": key.id,
                "name": key.name,
                "redacted_value": key.redacted_value,
                "created_at": iso(key.created_at),
                "last_used_at": iso(key.last_used_at),
                "owner_type": "user" if user else "service_account",
                "owner_id": user.id if user else account.id if account else None,
                "owner_name": user.name if user else account.name if account else None,
                "owner_email": user.email if user else None,
                "owner_role": key.owner_role,
            }
        )
    return rows


def expected_service_accounts() -> list[Row]:
    return [
        {
            "project_id": a.project_id,
            "id": a.id,
            "name": a.name,
            "role": a.role,
            "created_at": iso(a.created_at),
        }
        for a in in_project_order(ORGANIZATION.service_accounts)
    ]


def parsed(out: str, fmt: str) -> list[Row]:
    """The rows of ``out`` in ``fmt``; csv's empty cells read as ``None``."""
    if fmt == "csv":
        return [
            {k: v if v != "" else None for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(out))
        ]
    if fmt == "jsonl":
        return [orjson.loads(line) for line in out.splitlines()]
    rows: list[Row] = orjson.loads(out)
    return rows


LISTINGS = [
    pytest.param(["projects"], expected_projects(archived=False), id="projects"),
    pytest.param(
        ["projects", "--include-archived"], expected_projects(archived=True), id="projects-all"
    ),
    pytest.param(["users"], expected_users(), id="users"),
    pytest.param(["api-keys"], expected_api_keys(), id="api-keys"),
    pytest.param(["service-accounts"], expected_service_accounts(), id="service-accounts"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("argv", "expected"), LISTINGS)
def test_every_listing_carries_every_item_exactly_in_each_machine_format(
    script: Script, argv: list[str], expected: list[Row], fmt: str
) -> None:
    done = script(*argv, "--format", fmt)
    assert done.code == 0, done.err
    assert done.err == ""
    got = parsed(done.out, fmt)
    assert got == expected
    assert all(list(row) == list(expected[0]) for row in got)  # the same columns, in order


def test_a_listing_is_csv_when_stdout_is_not_a_terminal(script: Script) -> None:
    done = script("users")
    assert done.code == 0, done.err
    assert done.out.splitlines()[0] == "id,email,name,role,added_at"
    assert done.out.splitlines()[1].endswith(",owner,2023-12-01T09:10:02Z")


def test_api_keys_on_an_80_column_terminal_name_the_project_and_the_owner(
    emulator: Emulator,
) -> None:
    screen = in_terminal(emulator, "api-keys")
    lines = screen.splitlines()
    assert lines[0] == f"{len(ORGANIZATION.api_keys)} API keys in 7 projects, times UTC"
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in screen
    for key in ORGANIZATION.api_keys:
        [line] = [line for line in lines if f" {key.id} " in line]
        assert line.startswith(PROJECTS[key.project_id].name + " ")
        owner = USERS[key.user_id].email if key.user_id else ACCOUNTS[key.service_account_id].name
        assert f" {key.name} " in line
        assert line.rstrip().endswith(owner)
    assert "Not shown, to fit 80 columns: owner_type, last_used_at" in " ".join(lines)


def test_projects_on_a_terminal_show_readable_utc_times_and_archived_ones_on_request(
    emulator: Emulator,
) -> None:
    screen = in_terminal(emulator, "projects", "--include-archived", columns=120)
    prototype = ORGANIZATION.project("Prototype")
    [line] = [line for line in screen.splitlines() if prototype.id in line]
    created, archived = ["2023-12-22", "15:30"], ["2024-01-05", "09:00"]
    assert line.split()[1:] == ["Prototype", "archived", *created, *archived]
    assert screen.splitlines()[0] == "7 projects (2 archived), times UTC"
    assert "T15:30" not in screen


def test_users_on_a_terminal_were_added_to_the_minute(emulator: Emulator) -> None:
    screen = in_terminal(emulator, "users", columns=120)
    first = ORGANIZATION.users[0]
    [line] = [line for line in screen.splitlines() if first.id in line]
    added = dt.datetime.fromtimestamp(first.added_at, dt.UTC)
    assert added.second, "a time with seconds, or the minute is not shown to be the end"
    assert line.rstrip().endswith(added.strftime("%Y-%m-%d %H:%M"))


def test_users_by_email_finds_them_whatever_the_case(script: Script) -> None:
    done = script("users", "--email", "bob@example.com", "--email", "CAROL@example.com")
    assert done.code == 0, done.err
    assert [row["email"] for row in parsed(done.out, "csv")] == [
        "bob@example.com",
        "carol@example.com",
    ]


def test_no_such_user_is_said_on_stderr_and_still_exits_0(script: Script) -> None:
    done = script("users", "--email", "nobody@example.com", "--format", "json")
    assert done.code == 0
    assert orjson.loads(done.out) == []
    assert done.err == "usage-async: no users with --email nobody@example.com\n"


def directory_requests(emulator: Emulator) -> dict[str, int]:
    return {name: emulator.stats.by_endpoint[name] for name in DIRECTORY_LISTS}


def test_keys_of_one_project_with_names_read_the_projects_list_and_no_names_do_not(
    script: Script, emulator: Emulator
) -> None:
    voice = ORGANIZATION.project("Voice")
    argv = ("api-keys", "--project-id", voice.id, "--owner-project-access", "inactive")
    before = directory_requests(emulator)
    plain = script(*argv)
    middle = directory_requests(emulator)
    named = script(*argv, "--names", "--format", "jsonl")
    after = directory_requests(emulator)
    assert plain.code == named.code == 0
    assert [row["name"] for row in parsed(plain.out, "csv")] == ["frank-voice-trial"]
    assert "project_name" not in plain.out.splitlines()[0]
    assert [(row["project_name"], row["name"]) for row in parsed(named.out, "jsonl")] == [
        ("Voice", "frank-voice-trial")
    ]
    assert middle["projects"] == before["projects"]  # --project-id without names: no list
    assert after["projects"] == middle["projects"] + 1
    assert after["project_api_keys"] - middle["project_api_keys"] == 1


def test_an_unknown_project_exits_1_with_the_apis_message(script: Script) -> None:
    done = script("service-accounts", "--project-id", "proj_nope")
    assert done.code == 1
    assert done.out == ""
    assert done.err.startswith("usage-async: error: HTTP 404: No project with ID 'proj_nope'")
    assert "Traceback" not in done.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["users", "--email", " "], "empty value"),
        (["api-keys", "--owner-project-access", "sometimes"], "invalid choice: 'sometimes'"),
        (["projects", "--format", "xml"], "invalid choice: 'xml'"),
        (["projects", "--base-url", "ftp://example.com/v1"], "is not an http(s) URL"),
    ],
    ids=["empty-email", "access", "format", "base-url"],
)
def test_bad_listing_arguments_exit_2(script: Script, argv: list[str], message: str) -> None:
    done = script(*argv)
    assert done.code == 2
    assert message in done.err
    assert done.out == ""


def test_a_listing_takes_the_base_url_and_key_file_flags(
    script: Script, emulator: Emulator, tmp_path: Any
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(emulator.api_key + "\n")
    done = script(
        "projects", "--base-url", emulator.base_url, "--api-key-file", str(key_file),
        env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_ADMIN_KEY": "sk-admin-wrong"},
    )  # fmt: skip
    assert done.code == 0, done.err
    assert len(parsed(done.out, "csv")) == 5


def test_the_listings_also_answer_to_the_snake_case_the_endpoint_commands_use(
    script: Script,
) -> None:
    hyphen, snake = script("api-keys", "--format", "json"), script("api_keys", "--format", "json")
    assert hyphen.code == snake.code == 0
    assert hyphen.out == snake.out


def test_keys_of_every_project_by_owner_access_are_those_of_each_project_asked_alone(
    script: Script,
) -> None:
    inactive = {key.id for key in ORGANIZATION.api_keys if key.owner_project_access == "inactive"}
    assert inactive, "the catalog has keys whose owner lost access, or this proves nothing"
    for access in ("inactive", "active"):
        done = script("api-keys", "--owner-project-access", access, "--format", "json")
        assert done.code == 0, done.err
        want = [
            row for row in expected_api_keys() if (row["id"] in inactive) == (access == "inactive")
        ]
        assert orjson.loads(done.out) == want


# --- A project gone between the projects list and its own list ---------------------------------

LIST_PAGE: Mapping[str, Any] = {"object": "list", "first_id": None, "last_id": None}


def listed(items: list[dict[str, Any]]) -> web.Response:
    return web.json_response({**LIST_PAGE, "data": items, "has_more": False})


def a_project(project_id: str, name: str) -> dict[str, Any]:
    return {
        "object": "organization.project",
        "id": project_id,
        "name": name,
        "created_at": 1_700_000_000,
        "status": "active",
        "archived_at": None,
    }


def refused(status: int, message: str) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    return web.json_response({"error": error}, status=status)


@contextlib.asynccontextmanager
async def directory_losing_a_project(projects_status: int = 200) -> AsyncIterator[str]:
    """Lists two projects; the second is gone (404) by the time its keys or service accounts
    are asked for. ``projects_status`` refuses the projects list itself."""

    async def projects(request: web.Request) -> web.Response:
        if projects_status != 200:
            return refused(projects_status, "You have insufficient permissions.")
        return listed([a_project("proj_kept", "Kept"), a_project("proj_gone", "Gone")])

    async def per_project(request: web.Request) -> web.Response:
        project_id, what = request.match_info["project"], request.match_info["what"]
        if project_id == "proj_gone":
            return refused(404, f"No project with ID '{project_id}'.")
        item: dict[str, Any] = {"id": f"{what}_1", "name": "kept one", "created_at": 1_700_000_000}
        if what == "api_keys":
            item.update(
                object="organization.project.api_key",
                redacted_value="sk-...abcd",
                last_used_at=None,
                owner={"type": "service_account", "service_account": {"id": "svc", "name": "bot"}},
                owner_project_access="active",
            )
        else:
            item.update(object="organization.project.service_account", role="member")
        return listed([item])

    app = web.Application()
    app.router.add_get("/v1/organization/projects", projects)
    app.router.add_get("/v1/organization/projects/{project}/{what}", per_project)
    async with app_url(app) as base_url:
        yield base_url


@pytest.fixture
def losing_a_project() -> Iterator[dict[str, str]]:
    with served(directory_losing_a_project) as base_url:
        yield {"OPENAI_BASE_URL": base_url, "OPENAI_ADMIN_KEY": "sk-admin-x"}


@pytest.mark.parametrize(
    ("command", "noun"), [("api-keys", "API keys"), ("service-accounts", "service accounts")]
)
def test_a_project_gone_between_the_two_reads_is_a_warning_not_a_failure(
    script: Script, losing_a_project: dict[str, str], command: str, noun: str
) -> None:
    done = script(command, "--format", "json", env=losing_a_project)
    assert done.code == 0, done.err
    assert [(row["project_id"], row["name"]) for row in orjson.loads(done.out)] == [
        ("proj_kept", "kept one")
    ]
    [line] = done.err.splitlines()
    assert line.startswith(f"usage-async: warning: the directory has no {noun} of project ")
    assert "proj_gone" in line
    assert "HTTP 404" in line


def test_keys_of_every_project_when_the_projects_list_is_refused_exit_1(script: Script) -> None:
    with served(lambda: directory_losing_a_project(projects_status=403)) as base_url:
        done = script(
            "api-keys", env={"OPENAI_BASE_URL": base_url, "OPENAI_ADMIN_KEY": "sk-admin-x"}
        )
    assert done.code == 1
    assert done.out == ""
    warning, error = done.err.splitlines()
    assert warning.startswith("usage-async: warning: the directory has no projects: HTTP 403")
    assert error == "usage-async: error: cannot list API keys: the projects list could not be read"
