"""``projects``, ``users``, ``api-keys`` and ``service-accounts``: the directory, in every format.

The expected rows come from the emulator's own catalog (``ORGANIZATION``), not from the
library, so a listing that drops, reorders or misreads an item fails here. Every test runs
the installed script in a child process.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from usage_async.emulator import ORGANIZATION, Emulator

from .conftest import Result, in_terminal

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
