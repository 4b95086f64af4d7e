"""Names for IDs: in the table by default, in csv/jsonl/json with --names, nowhere with --no-names.

The installed script runs in a child process against the session's emulator (whose request
counts say which directory lists were read) or against a small server of our own that serves
costs but refuses the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator

from ..servers import app_url
from .conftest import END, END_TS, START, START_TS, Result, in_terminal, served

Script = Callable[..., Result]

DIRECTORY_LISTS = ("projects", "users", "project_api_keys", "project_service_accounts")
PERIOD = ("--start", START, "--end", END)


def directory_requests(emulator: Emulator) -> dict[str, int]:
    counts = emulator.stats.by_endpoint
    return {name: counts[name] for name in DIRECTORY_LISTS}


def read_since(emulator: Emulator, before: dict[str, int]) -> dict[str, int]:
    """Directory requests served since ``before``, by list (lists not read are left out)."""
    now = directory_requests(emulator)
    return {name: now[name] - before[name] for name in DIRECTORY_LISTS if now[name] > before[name]}


def library_named_rows(emulator: Emulator, endpoint: str, **params: Any) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
            directory = await client.directory()
            stream = client.stream(endpoint, start_time=START_TS, end_time=END_TS, **params)
            return [row async for row in ua.rows(stream, names=directory)]

    return asyncio.run(collect())


def table_rows(screen: str) -> list[list[str]]:
    """The table's body lines, split on the column gaps (names may hold single spaces)."""
    return [
        re.split(r" {2,}", line.strip())
        for line in screen.splitlines()
        if re.match(r"\d{4}-\d\d-\d\d", line)
    ]


# --- At a terminal ------------------------------------------------------------------------


def test_on_an_80_column_terminal_costs_by_project_show_each_projects_name(
    emulator: Emulator,
) -> None:
    screen = in_terminal(emulator, "costs", *PERIOD, "--group-by", "project_id")
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "project_name" in lines[1] + lines[2]
    assert "proj_" not in screen  # every project in the period has a name
    rows = table_rows(screen)
    named = {project.name for project in ORGANIZATION.projects}
    assert {row[1] for row in rows} <= named
    assert {"Voice", "Support Copilot", "Default project"} <= {row[1] for row in rows}
    assert len({(row[0], row[1]) for row in rows}) == len(rows) > 10


def test_on_an_80_column_terminal_names_of_project_user_and_key_leave_room_for_a_metric(
    emulator: Emulator,
) -> None:
    screen = in_terminal(
        emulator, "completions", *PERIOD, "--group-by", "project_id,user_id,api_key_id"
    )
    assert all(len(line) <= 80 for line in screen.splitlines())
    assert "…" not in screen
    header = " ".join(screen.splitlines()[1:3])
    for column in ("project_name", "user_email", "api_key_name", "tokens"):
        assert column in header
    rows = table_rows(screen)
    assert rows[0][:4] == ["2026-11-01", "Default project", "alice@example.com", "alice-default"]
    assert len({tuple(row[:4]) for row in rows}) == len(rows)
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(("proj_", "user-", "key_"))]


def test_no_names_shows_the_ids_whole_and_reads_no_directory(emulator: Emulator) -> None:
    before = directory_requests(emulator)
    screen = in_terminal(emulator, "costs", *PERIOD, "--group-by", "project_id", "--no-names")
    assert read_since(emulator, before) == {}
    voice = ORGANIZATION.project("Voice").id
    assert any(voice in line for line in screen.splitlines())
    assert "Voice" not in screen


# --- Machine formats -------------------------------------------------------------------------


def test_csv_keeps_ids_only_by_default_and_reads_no_directory(
    script: Script, emulator: Emulator
) -> None:
    before = directory_requests(emulator)
    done = script("costs", *PERIOD, "--group-by", "project_id")
    assert done.code == 0, done.err
    assert done.out.splitlines()[0] == ",".join(ua.row_fields(ua.CostsResult, ["project_id"]))
    assert read_since(emulator, before) == {}


def test_names_in_csv_puts_each_name_after_its_id_as_the_library_does(
    script: Script, emulator: Emulator
) -> None:
    group_by = ["project_id", "user_id", "api_key_id", "model"]
    done = script("completions", *PERIOD, "--group-by", ",".join(group_by), "--names")
    assert done.code == 0, done.err
    assert done.err == ""
    got = list(csv.DictReader(io.StringIO(done.out)))
    expected = library_named_rows(emulator, "completions", group_by=group_by)
    assert list(got[0]) == ua.row_fields(ua.CompletionsResult, group_by, names=True)
    assert [
        (r["project_id"], r["project_name"], r["user_email"], r["api_key_name"]) for r in got
    ] == [
        (r["project_id"], r["project_name"], r["user_email"] or "", r["api_key_name"])
        for r in expected
    ]
    assert {r["project_name"] for r in got} >= {"Voice", "Data Pipeline"}


def test_names_in_json_and_a_name_column_picked_alone(script: Script) -> None:
    done = script(
        "costs", *PERIOD, "--group-by", "project_id", "--columns", "project_name,amount",
        "--format", "json",
    )  # fmt: skip
    assert done.code == 0, done.err
    rows = orjson.loads(done.out)
    assert all(list(row) == ["project_name", "amount"] for row in rows)
    assert {row["project_name"] for row in rows} >= {"Voice", "Support Copilot"}


def test_only_the_directory_lists_a_shown_name_needs_are_read(
    script: Script, emulator: Emulator
) -> None:
    before = directory_requests(emulator)
    by_project = script("costs", *PERIOD, "--group-by", "project_id", "--names")
    assert by_project.code == 0, by_project.err
    assert read_since(emulator, before) == {"projects": 1}

    before = directory_requests(emulator)
    by_key = script("completions", *PERIOD, "--group-by", "api_key_id", "--names")
    assert by_key.code == 0, by_key.err
    # Key names are listed per project: the projects, then each one's keys, nothing else.
    assert read_since(emulator, before) == {
        "projects": 1,
        "project_api_keys": len(ORGANIZATION.projects),
    }

    before = directory_requests(emulator)
    by_model = script("completions", *PERIOD, "--group-by", "model", "--names")
    assert by_model.code == 0, by_model.err
    assert read_since(emulator, before) == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--columns", "start_time,project_name"],
            "--columns project_name needs --group-by project_id",
        ),
        (
            ["--group-by", "project_id", "--columns", "project_name", "--no-names"],
            "--columns project_name is a name, which --no-names turns off",
        ),
    ],
    ids=["name-without-its-group", "name-with-no-names"],
)  # fmt: skip
def test_a_name_column_that_cannot_be_filled_is_a_usage_error(
    script: Script, argv: list[str], message: str
) -> None:
    done = script("costs", "--start", START, *argv)
    assert done.code == 2
    assert message in done.err
    assert done.out == ""


# --- A directory the key cannot read ----------------------------------------------------------

COSTS_PAGE = {
    "object": "page",
    "data": [
        {
            "object": "bucket",
            "start_time": START_TS,
            "end_time": START_TS + 86400,
            "results": [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": "12.5", "currency": "usd"},
                    "project_id": f"proj_{name}",
                }
                for name in ("alpha", "beta")
            ],
        }
    ],
    "has_more": False,
    "next_page": None,
}


def refusal(status: int) -> web.Response:
    return web.json_response(
        {
            "error": {
                "message": "You have insufficient permissions for this operation."
                if status == 403
                else "Invalid URL (GET /v1/organization/projects).",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
        status=status,
        headers={"x-request-id": "req_refused"},
    )


@contextlib.asynccontextmanager
async def costs_without_directory(status: int) -> AsyncIterator[str]:
    """A server that serves costs but answers ``status`` for the projects and users lists."""

    async def costs(request: web.Request) -> web.Response:
        return web.json_response(COSTS_PAGE)

    async def refused(request: web.Request) -> web.Response:
        return refusal(status)

    app = web.Application()
    app.router.add_get("/v1/organization/costs", costs)
    app.router.add_get("/v1/organization/projects", refused)
    app.router.add_get("/v1/organization/users", refused)
    async with app_url(app) as base_url:
        yield base_url


@pytest.fixture(params=[403, 404], ids=["forbidden", "not-served"])
def no_directory(request: pytest.FixtureRequest) -> Iterator[tuple[int, str]]:
    with served(lambda: costs_without_directory(request.param)) as base_url:
        yield request.param, base_url


def test_a_directory_the_key_cannot_read_leaves_the_ids_and_says_so_in_one_line(
    script: Script, no_directory: tuple[int, str]
) -> None:
    status, base_url = no_directory
    done = script(
        "costs", "--start", START, "--end", "2026-11-02", "--group-by", "project_id",
        "--format", "table", env={"OPENAI_BASE_URL": base_url, "OPENAI_ADMIN_KEY": "sk-admin-x"},
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "proj_alpha" in done.out
    assert "proj_beta" in done.out
    assert "project_id" in done.out  # the ID column, not names standing in for nothing
    lines = done.err.splitlines()
    assert len(lines) == 1, done.err  # said once: not by the library and again by the CLI
    [line] = lines
    assert f"HTTP {status}" in line
    if status == 403:  # a part the key may not read: the library's warning, in our voice
        assert line.startswith("usage-async: warning: the directory has no projects: ")
    else:  # a directory that cannot be read at all
        assert line.startswith(
            "usage-async: warning: cannot read names from the directory, showing IDs: "
        )
    assert "Traceback" not in done.err


# --- The report and the demo ------------------------------------------------------------------


def test_the_report_names_projects_and_no_names_shows_their_ids(
    script: Script, emulator: Emulator
) -> None:
    named = script("report", *PERIOD)
    before = directory_requests(emulator)
    ids = script("report", *PERIOD, "--no-names")
    assert read_since(emulator, before) == {}
    assert named.code == ids.code == 0
    projects = {p.id: p.name for p in ORGANIZATION.projects}
    assert "Cost by project" in named.out
    for project_id, name in projects.items():
        if project_id in ids.out:
            assert name in named.out
            assert project_id not in named.out
    assert "Voice" in named.out
    assert "Voice" not in ids.out


def test_the_demo_lists_cost_by_project_by_name(script: Script) -> None:
    done = script("demo")
    assert done.code == 0, done.err
    assert done.err == ""
    assert "Cost by project" in done.out
    assert "Support Copilot" in done.out
    assert "proj_" not in done.out
