"""The organization directory: list streams with after/last_id cursors, the Directory lookup
with its tolerated 403s, and names beside IDs in rows — against a directory server of our own
(the emulator's fidelity tests cover its side)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

import usage_async as ua

from .conftest import KEY, client_tasks
from .servers import Served, serve_app

__all__ = ["serve_app"]

Serve = Callable[[Any], Any]


def project(n: int, archived: bool = False) -> dict[str, Any]:
    return {
        "object": "organization.project",
        "id": f"proj_{n:03}",
        "name": f"Project {n}",
        "created_at": 1_700_000_000 + n,
        "status": "archived" if archived else "active",
        "archived_at": 1_750_000_000 if archived else None,
    }


def user(n: int) -> dict[str, Any]:
    return {
        "object": "organization.user",
        "id": f"user-{n:03}",
        "email": f"u{n}@example.com",
        "name": f"User {n}",
        "role": "reader",
        "added_at": 1_700_000_000,
    }


def key(n: int, project_id: str, by_service_account: bool = False) -> dict[str, Any]:
    owner: dict[str, Any] = (
        {
            "type": "service_account",
            "service_account": {
                "id": f"svc_{n}",
                "name": f"bot {n}",
                "role": "member",
                "created_at": 1,
            },
        }
        if by_service_account
        else {
            "type": "user",
            "user": {
                "id": f"user-{n:03}",
                "name": f"User {n}",
                "email": f"u{n}@example.com",
                "role": "owner",
                "created_at": 1,
            },
        }
    )
    return {
        "object": "organization.project.api_key",
        "id": f"key_{project_id}_{n}",
        "name": f"key {n}",
        "created_at": 1_700_000_000,
        "last_used_at": None,
        "redacted_value": "sk-...abcd",
        "owner": owner,
        "owner_project_access": "active",
    }


class DirectoryServer:
    """Serves lists from fixed data with the live API's paging: after=<last_id>."""

    def __init__(self, projects: int = 7, users: int = 5, keys_per_project: int = 3) -> None:
        self.projects = [project(n, archived=n == 2) for n in range(projects)]
        self.users = [user(n) for n in range(users)]
        self.keys = {
            p["id"]: [key(n, p["id"], by_service_account=n == 0) for n in range(keys_per_project)]
            for p in self.projects
        }
        self.refuse: dict[str, int] = {}  # path fragment -> status
        self.queries: list[tuple[str, list[tuple[str, str]]]] = []
        self.in_flight = 0
        self.peak = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.queries.append((request.raw_path.partition("?")[0], list(request.query.items())))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            return self._answer(request)
        finally:
            self.in_flight -= 1

    def _answer(self, request: web.Request) -> web.Response:
        path = request.raw_path.partition("?")[0].removeprefix("/v1")
        for fragment, status in self.refuse.items():
            if fragment in path:
                return web.json_response(
                    {"error": {"message": "nope", "type": "x", "param": None, "code": None}},
                    status=status,
                )
        parts = path.strip("/").split("/")
        if parts == ["organization", "projects"]:
            items = self.projects
            if request.query.get("include_archived") != "true":
                items = [p for p in items if p["status"] == "active"]
        elif parts == ["organization", "users"]:
            emails = request.query.getall("emails[]", [])
            items = [u for u in self.users if not emails or u["email"] in emails]
        elif parts[:2] == ["organization", "projects"] and parts[3:] == ["api_keys"]:
            items = self.keys.get(parts[2], [])
        elif parts[:2] == ["organization", "projects"] and parts[3:] == ["service_accounts"]:
            items = [
                {
                    "object": "organization.project.service_account",
                    "id": f"svc_{parts[2]}",
                    "name": "bot",
                    "role": "member",
                    "created_at": 1,
                }
            ]
        else:
            return web.json_response({"error": {"message": "no"}}, status=404)
        limit = int(request.query.get("limit", 20))
        after = request.query.get("after")
        start = 0 if after is None else [i["id"] for i in items].index(after) + 1
        chosen = items[start : start + limit]
        return web.json_response(
            {
                "object": "list",
                "data": chosen,
                "first_id": chosen[0]["id"] if chosen else None,
                "last_id": chosen[-1]["id"] if chosen else None,
                "has_more": start + limit < len(items),
            }
        )


async def started(serve_app: Serve, server: DirectoryServer) -> Served:
    served: Served = await serve_app(server.handle)
    return served


def connect(served: Served, **kwargs: Any) -> ua.UsageClient:
    return ua.UsageClient(KEY, base_url=served.base_url, **kwargs)


async def test_projects_follow_after_cursors_to_every_item_once(serve_app: Serve) -> None:
    server = DirectoryServer(projects=7)
    served = await started(serve_app, server)
    async with connect(served) as client:
        projects = await client.projects(include_archived=True, limit=3).collect()
    assert [p.id for p in projects] == [f"proj_{n:03}" for n in range(7)]
    assert all(isinstance(p, ua.Project) for p in projects)
    assert projects[2].status == "archived"
    assert projects[2].archived_at == 1_750_000_000
    afters = [dict(q).get("after") for _, q in server.queries]
    assert afters == [None, "proj_002", "proj_005"]
    assert dict(server.queries[0][1])["include_archived"] == "true"


async def test_users_can_be_filtered_by_email(serve_app: Serve) -> None:
    server = DirectoryServer(users=5)
    served = await started(serve_app, server)
    async with connect(served) as client:
        users = await client.users(emails=["u1@example.com", "u3@example.com"]).collect()
    assert [u.email for u in users] == ["u1@example.com", "u3@example.com"]
    assert ("emails[]", "u1@example.com") in server.queries[0][1]


async def test_api_keys_carry_their_owner_and_project(serve_app: Serve) -> None:
    server = DirectoryServer(projects=2, keys_per_project=3)
    served = await started(serve_app, server)
    async with connect(served) as client:
        keys = await client.project_api_keys("proj_001", limit=2).collect()
    assert [k.project_id for k in keys] == ["proj_001"] * 3
    assert keys[0].owner == ua.KeyOwner("service_account", "svc_0", "bot 0", None, "member")
    assert keys[1].owner is not None
    assert keys[1].owner.email == "u1@example.com"


async def test_a_project_id_cannot_add_a_path_segment(serve_app: Serve) -> None:
    server = DirectoryServer()
    served = await started(serve_app, server)
    async with connect(served) as client:
        await client.project_api_keys("proj_000/../../users").collect()
    assert server.queries[0][0] == "/v1/organization/projects/proj_000%2F..%2F..%2Fusers/api_keys"


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda c: c.projects(limit=0), "limit"),
        (lambda c: c.projects(limit=101), "limit"),
        (lambda c: c.users(emails=[]), "emails"),
        (lambda c: c.project_api_keys(""), "project_id"),
        (lambda c: c.projects(include_archived="yes"), "include_archived"),
    ],
)
async def test_bad_list_parameters_are_refused_before_any_request(
    serve_app: Serve, call: Callable[[ua.UsageClient], Any], param: str
) -> None:
    server = DirectoryServer()
    served = await started(serve_app, server)
    async with connect(served) as client:
        with pytest.raises(ua.InvalidParameterError) as info:
            call(client)
    assert info.value.param == param
    assert server.queries == []


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([{"data": [project(1)], "has_more": True, "last_id": None}], "no next_page"),
        (
            [
                {"data": [project(1)], "has_more": True, "last_id": "proj_001"},
                {"data": [project(1)], "has_more": True, "last_id": "proj_001"},
            ],
            "a second time",
        ),
        (  # fresh ids with nothing in them: a server paging without advancing
            [
                {"data": [project(1)], "has_more": True, "last_id": "proj_001"},
                {"data": [], "has_more": True, "last_id": "proj_fresh"},
            ],
            "empty list page",
        ),
    ],
)
async def test_list_paging_guards(
    serve_app: Serve, pages: list[dict[str, Any]], message: str
) -> None:
    answers = iter(pages)

    async def handle(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", **next(answers)})

    served = await serve_app(handle)
    async with connect(served) as client:
        with pytest.raises(ua.PaginationError, match=message):
            await client.projects().collect()


async def test_a_list_checkpoint_resumes_after_the_last_item_yielded(serve_app: Serve) -> None:
    server = DirectoryServer(projects=9)
    served = await started(serve_app, server)
    async with connect(served) as client:
        stream = client.projects(include_archived=True, limit=4)
        first = []
        async for p in stream:
            first.append(p.id)
            if len(first) == 5:
                break
        checkpoint = stream.checkpoint()
    async with connect(served) as other:
        rest = [p.id async for p in other.resume(checkpoint)]
    assert first + rest == [f"proj_{n:03}" for n in range(9)]


async def test_a_list_stream_closes_like_a_bucket_stream(serve_app: Serve) -> None:
    server = DirectoryServer(projects=30)
    served = await started(serve_app, server)
    async with connect(served) as client:
        async with client.projects(limit=2) as stream:
            async for _ in stream:
                break
        count = len(server.queries)
        with pytest.raises(ua.ClientClosedError):
            await stream.collect()
    assert len(server.queries) == count


async def test_the_directory_reads_every_part_concurrently(serve_app: Serve) -> None:
    server = DirectoryServer(projects=6, users=4, keys_per_project=2)
    served = await started(serve_app, server)
    before = client_tasks()
    async with connect(served, max_in_flight=4) as client:
        directory = await client.directory()
    assert set(directory.projects) == {f"proj_{n:03}" for n in range(6)}  # archived too
    assert directory.project_name("proj_002") == "Project 2"
    assert directory.user_email("user-003") == "u3@example.com"
    assert directory.api_key_name("key_proj_004_1") == "key 1"
    assert directory.api_key_owner("key_proj_004_0") == ua.KeyOwner(
        "service_account", "svc_0", "bot 0", None, "member"
    )
    assert len(directory.service_accounts) == 6
    assert directory.project_name("proj_unknown") is None
    assert directory.project_name(None) is None
    assert directory.warnings == ()
    assert 1 < server.peak <= 4  # concurrent, within the client's cap
    assert client_tasks() <= before
    with pytest.raises(TypeError):
        directory.projects["x"] = directory.projects["proj_000"]  # type: ignore[index]


async def test_a_part_the_key_cannot_read_is_left_empty_with_a_warning(
    serve_app: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    server = DirectoryServer(projects=3)
    server.refuse = {"/organization/users": 403, "/proj_001/api_keys": 404}
    served = await started(serve_app, server)
    with caplog.at_level(logging.WARNING, logger="usage_async"):
        async with connect(served) as client:
            directory = await client.directory()
    assert directory.users == {}
    assert len(directory.projects) == 3
    assert not [k for k in directory.api_keys.values() if k.project_id == "proj_001"]
    assert [k for k in directory.api_keys.values() if k.project_id == "proj_002"]
    assert len(directory.warnings) == 2
    assert any("users" in w for w in directory.warnings)
    assert any("proj_001" in w for w in directory.warnings)
    assert "the directory has no users" in caplog.text


async def test_other_errors_of_the_directory_are_raised(serve_app: Serve) -> None:
    server = DirectoryServer()
    server.refuse = {"/organization/projects": 401}
    served = await started(serve_app, server)
    async with connect(served) as client:
        with pytest.raises(ua.AuthenticationError):
            await client.directory()


# --- Names beside IDs in rows --------------------------------------------------------------


def sample_directory() -> ua.Directory:
    return ua.Directory(
        projects=[ua.Project("proj_1", 0, "Support Copilot")],
        users=[ua.User("user-1", 0, "alice@example.com")],
        api_keys=[ua.ProjectApiKey("key_1", 0, "support-prod")],
    )


async def bucket_stream(*results: Any) -> Any:
    yield ua.Bucket(0, 86400, tuple(results))


async def test_rows_put_names_beside_the_ids_they_name() -> None:
    result = ua.CompletionsResult(
        1, 2, 3, project_id="proj_1", user_id="user-1", api_key_id="key_1", model="m"
    )
    group_by = ["project_id", "user_id", "api_key_id", "model"]
    [row] = [
        r async for r in ua.rows(bucket_stream(result), group_by=group_by, names=sample_directory())
    ]
    assert list(row)[:9] == [
        "start_time",
        "end_time",
        "project_id",
        "project_name",
        "user_id",
        "user_email",
        "api_key_id",
        "api_key_name",
        "model",
    ]
    assert (row["project_name"], row["user_email"], row["api_key_name"]) == (
        "Support Copilot",
        "alice@example.com",
        "support-prod",
    )
    assert list(row) == ua.row_fields(ua.CompletionsResult, group_by, names=True)


async def test_rows_name_only_the_grouped_ids_and_leave_unknown_ids_unnamed() -> None:
    result = ua.CompletionsResult(1, 2, 3, project_id="proj_gone", model="m")
    [row] = [
        r
        async for r in ua.rows(
            bucket_stream(result), group_by=["project_id", "model"], names=sample_directory()
        )
    ]
    assert row["project_name"] is None
    assert "user_email" not in row


async def test_cost_rows_keep_a_project_name_the_api_sent() -> None:
    cost = ua.CostsResult(
        ua.Amount(Decimal("1"), "usd"), project_id="proj_1", project_name="Renamed by the API"
    )
    [row] = [
        r
        async for r in ua.rows(
            bucket_stream(cost), group_by=["project_id"], names=sample_directory()
        )
    ]
    assert row["project_name"] == "Renamed by the API"


async def test_directory_parts_read_only_what_is_asked(serve_app: Serve) -> None:
    server = DirectoryServer(projects=5, users=3)
    served = await started(serve_app, server)
    async with connect(served) as client:
        names = await client.directory(parts=("projects",))
        assert [path for path, _ in server.queries] == ["/v1/organization/projects"]
        assert names.project_name("proj_001") == "Project 1"
        assert names.users == {}
        server.queries.clear()
        keys = await client.directory(parts=["api_keys"])
    paths = [path for path, _ in server.queries]
    assert paths[0] == "/v1/organization/projects"  # keys are listed per project
    assert len([p for p in paths if p.endswith("/api_keys")]) == 5
    assert not [p for p in paths if "users" in p or "service_accounts" in p]
    assert keys.projects == {}
    assert len(keys.api_keys) == 5 * 3
    with pytest.raises(ua.InvalidParameterError, match="parts"):
        await client.directory(parts=["keys"])
