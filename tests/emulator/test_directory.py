"""The organization directory (projects, users, project API keys and service accounts): the
official SDK's models accept every item, its auto-pager walks every list to the end, and a
client's mistakes get the same envelopes as on the usage endpoints."""

from __future__ import annotations

import urllib.parse
from typing import Any

import openai
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.admin.organization import OrganizationUser
from openai.types.admin.organization import Project as SDKProject
from openai.types.admin.organization.projects import ProjectAPIKey, ProjectServiceAccount
from openai.types.admin.organization.projects.project_api_key import (
    OwnerServiceAccount,
    OwnerUser,
)

from usage_async.emulator import ORGANIZATION, Emulator, Faults, Project, serve

from .conftest import DAY, KEY, REQUEST_ID, LiveEmulator, assert_error, pinned_clock

PROJECTS = "/organization/projects"
USERS = "/organization/users"
ACTIVE = [p for p in ORGANIZATION.projects if p.archived_at is None]
ARCHIVED = [p for p in ORGANIZATION.projects if p.archived_at is not None]


def keys_path(project_id: str) -> str:
    return f"{PROJECTS}/{urllib.parse.quote(project_id, safe='')}/api_keys"


def accounts_path(project_id: str) -> str:
    return f"{PROJECTS}/{urllib.parse.quote(project_id, safe='')}/service_accounts"


def walk(live: LiveEmulator, path: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every item of a list, following ``after=<last_id>`` to the end."""
    items: list[dict[str, Any]] = []
    after: list[tuple[str, str]] = []
    while True:
        reply = live.get(path, [*query, *after])
        assert reply.status == 200, reply.body[:300]
        page = reply.json()
        assert set(page) == {"object", "data", "first_id", "last_id", "has_more"}
        assert page["object"] == "list"
        items.extend(page["data"])
        if not page["has_more"]:
            return items
        assert page["last_id"] == page["data"][-1]["id"]
        after = [("after", page["last_id"])]


# --- The SDK's models and auto-pager ------------------------------------------------------------

ANY = ("owner_project_access", "any")
# Every list that has items (empty lists: test_an_empty_list_has_no_ids_and_no_more).
MODELS: list[tuple[str, list[tuple[str, str]], type[pydantic.BaseModel]]] = [
    (PROJECTS, [("include_archived", "true")], SDKProject),
    (USERS, [], OrganizationUser),
    *(
        (keys_path(project_id), [ANY], ProjectAPIKey)
        for project_id in dict.fromkeys(k.project_id for k in ORGANIZATION.api_keys)
    ),
    *(
        (accounts_path(project_id), [], ProjectServiceAccount)
        for project_id in dict.fromkeys(a.project_id for a in ORGANIZATION.service_accounts)
    ),
]


@pytest.mark.parametrize(("path", "query", "model"), MODELS, ids=[m[0] for m in MODELS])
def test_every_item_validates_strictly_and_holds_only_fields_the_sdk_declares(
    live: LiveEmulator, path: str, query: list[tuple[str, str]], model: type[pydantic.BaseModel]
) -> None:
    items = live.page(path, [*query, ("limit", "100")])["data"]
    assert items
    for item in items:
        model.model_validate(item, strict=True)
        assert set(item) <= set(model.model_fields), set(item) - set(model.model_fields)
        if model is ProjectAPIKey:
            owner = item["owner"]
            kind = owner["type"]
            assert set(owner) == {"type", kind}
            declared = {"user": OwnerUser, "service_account": OwnerServiceAccount}[kind]
            assert set(owner[kind]) <= set(declared.model_fields)


async def test_sdk_auto_pager_walks_every_project_once_archived_only_when_asked(
    sdk: openai.AsyncOpenAI,
) -> None:
    everything = [
        p.id async for p in sdk.admin.organization.projects.list(limit=2, include_archived=True)
    ]
    active = [p.id async for p in sdk.admin.organization.projects.list(limit=2)]
    assert everything == [p.id for p in ORGANIZATION.projects]
    assert active == [p.id for p in ACTIVE]
    assert ARCHIVED, "the organization has archived projects"


async def test_sdk_auto_pager_walks_every_user_once_and_filters_by_email(
    sdk: openai.AsyncOpenAI,
) -> None:
    users = [u async for u in sdk.admin.organization.users.list(limit=2)]
    assert [u.id for u in users] == [u.id for u in ORGANIZATION.users]
    assert [(u.email, u.name, u.role) for u in users] == [
        (u.email, u.name, u.role) for u in ORGANIZATION.users
    ]
    wanted = [ORGANIZATION.users[4].email, ORGANIZATION.users[1].email]
    found = [u.email async for u in sdk.admin.organization.users.list(emails=wanted, limit=1)]
    assert found == [ORGANIZATION.users[1].email, ORGANIZATION.users[4].email]


@pytest.mark.parametrize("project", ORGANIZATION.projects, ids=lambda p: p.name)
async def test_sdk_auto_pager_walks_every_api_key_and_service_account_of_a_project(
    sdk: openai.AsyncOpenAI, project: Project
) -> None:
    api_keys = sdk.admin.organization.projects.api_keys
    everyone = [k async for k in api_keys.list(project.id, limit=2, owner_project_access="any")]
    default = [k.id async for k in api_keys.list(project.id, limit=2)]
    inactive = [
        k.id async for k in api_keys.list(project.id, limit=1, owner_project_access="inactive")
    ]
    accounts = sdk.admin.organization.projects.service_accounts
    service_accounts = [a.id async for a in accounts.list(project.id, limit=1)]

    mine = [k for k in ORGANIZATION.api_keys if k.project_id == project.id]
    assert [k.id for k in everyone] == [k.id for k in mine]
    assert default == [k.id for k in mine if k.owner_project_access == "active"]
    assert inactive == [k.id for k in mine if k.owner_project_access == "inactive"]
    assert service_accounts == [
        a.id for a in ORGANIZATION.service_accounts if a.project_id == project.id
    ]
    for key in everyone:
        assert key.redacted_value.startswith("sk-...")
        assert len(key.redacted_value) < 12, "never a whole key"
        if key.owner.type == "service_account":
            assert key.owner.service_account is not None
            assert key.owner.service_account.id in service_accounts
        else:
            assert key.owner.user is not None
            assert key.owner.user.id in {u.id for u in ORGANIZATION.users}


def test_directory_names_the_keys_of_service_accounts_and_the_inactive_owners() -> None:
    kinds = {k.service_account_id is not None for k in ORGANIZATION.api_keys}
    assert kinds == {True, False}
    assert {k.owner_project_access for k in ORGANIZATION.api_keys} == {"active", "inactive"}
    per_project = [
        sum(k.project_id == p.id for k in ORGANIZATION.api_keys) for p in ORGANIZATION.projects
    ]
    assert max(per_project) > 2, "some project needs more than one page at limit=2"
    assert 0 in per_project
    assert all(n <= 25 for n in per_project)


@pytest.mark.parametrize(("path", "query", "model"), MODELS, ids=[m[0] for m in MODELS])
def test_lists_are_in_creation_order_whatever_the_page_size(
    live: LiveEmulator, path: str, query: list[tuple[str, str]], model: type[pydantic.BaseModel]
) -> None:
    whole = walk(live, path, [*query, ("limit", "100")])
    assert whole
    for limit in (1, 2, 3):
        assert walk(live, path, [*query, ("limit", str(limit))]) == whole
    times = [item.get("created_at", item.get("added_at")) for item in whole]
    assert times == sorted(times)


def test_default_page_is_twenty_items_of_at_most_a_hundred(live: LiveEmulator) -> None:
    assert len(live.page(USERS, [])["data"]) == len(ORGANIZATION.users) < 20
    assert live.page(USERS, [("limit", "100")])["has_more"] is False


def test_an_empty_list_has_no_ids_and_no_more(live: LiveEmulator) -> None:
    prototype = ORGANIZATION.project("Prototype")
    for path in (keys_path(prototype.id), accounts_path(prototype.id)):
        page = live.page(path, [])
        assert page == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
    assert live.page(USERS, [("emails", "nobody@example.com")])["data"] == []


@pytest.mark.parametrize(
    "emails",
    [
        "emails[]=alice@example.com&emails[]=carol@example.com",
        "emails=alice@example.com&emails=carol@example.com",
        "emails=alice@example.com,carol@example.com",
        "emails=CAROL@example.com,alice@example.com",
    ],
)
def test_emails_filter_takes_every_array_encoding(live: LiveEmulator, emails: str) -> None:
    page = live.page(USERS, urllib.parse.parse_qsl(emails))
    assert [u["email"] for u in page["data"]] == ["alice@example.com", "carol@example.com"]


def test_after_may_name_an_item_the_filter_leaves_out(live: LiveEmulator) -> None:
    # A walk that started with archived projects shown can go on without them.
    prototype = ORGANIZATION.project("Prototype")
    page = live.page(PROJECTS, [("after", prototype.id)])
    assert page["data"] == []
    page = live.page(PROJECTS, [("after", prototype.id), ("include_archived", "true")])
    assert [p["name"] for p in page["data"]] == ["Hackathon 2024"]


# --- Wire errors ----------------------------------------------------------------------------

SUPPORT = ORGANIZATION.project("Support Copilot").id
VOICE = ORGANIZATION.project("Voice").id

BAD_QUERIES = [
    (PROJECTS, "limit=0", "limit"),
    (PROJECTS, "limit=101", "limit"),
    (PROJECTS, "limit=ten", "limit"),
    (USERS, "limit=-1", "limit"),
    (keys_path(SUPPORT), "limit=1.5", "limit"),
    (accounts_path(SUPPORT), "limit=", "limit"),
    (PROJECTS, "after=proj_unknown", "after"),
    (PROJECTS, f"after={ORGANIZATION.users[0].id}", "after"),
    (USERS, f"after={ORGANIZATION.projects[0].id}", "after"),
    (keys_path(VOICE), f"after={ORGANIZATION.api_keys[0].id}", "after"),  # another project's
    (accounts_path(SUPPORT), f"after={ORGANIZATION.service_accounts[1].id}", "after"),
    (PROJECTS, "include_archived=maybe", "include_archived"),
    (PROJECTS, "include_archived=true&include_archived=false", "include_archived"),
    (keys_path(SUPPORT), "owner_project_access=everyone", "owner_project_access"),
    (USERS, "emails[]=", "emails"),
    (PROJECTS, "start_time=1", "start_time"),
    (USERS, "email=alice@example.com", "email"),
    (keys_path(SUPPORT), "include_archived=true", "include_archived"),
    (accounts_path(SUPPORT), "owner_project_access=any", "owner_project_access"),
]


@pytest.mark.parametrize(("path", "query", "param"), BAD_QUERIES)
def test_invalid_parameter_is_a_400_naming_it(
    live: LiveEmulator, path: str, query: str, param: str
) -> None:
    assert_error(live.get(path, query), 400, param)


def test_limit_over_a_hundred_says_so(live: LiveEmulator) -> None:
    error = assert_error(live.get(USERS, "limit=101"), 400, "limit")
    assert (
        error["message"] == "Invalid limit provided: 101. Limit must be less than or equal to 100."
    )


@pytest.mark.parametrize("make_path", [keys_path, accounts_path])
@pytest.mark.parametrize("project_id", ["proj_doesnotexist", ORGANIZATION.users[0].id, "x" * 100])
def test_unknown_project_is_a_404_naming_it(
    live: LiveEmulator, make_path: Any, project_id: str
) -> None:
    error = assert_error(live.get(make_path(project_id)), 404)
    assert error["type"] == "invalid_request_error"
    assert project_id[:60] in str(error["message"])


@pytest.mark.parametrize(
    "path", [PROJECTS, USERS, keys_path(SUPPORT), accounts_path(SUPPORT)], ids=str
)
def test_directory_has_the_usage_endpoints_auth_and_methods(live: LiveEmulator, path: str) -> None:
    missing = live.get(path, key=None)
    assert_error(missing, 401)
    assert_error(live.get(path, key="sk-admin-wrong"), 401)
    assert b"sk-admin" not in missing.body
    assert_error(live.get(path, key="sk-proj-abc"), 403)
    posted = live.get(path, method="POST")
    assert_error(posted, 405)
    assert posted.headers["allow"] == "GET"


async def test_faults_latency_and_stats_reach_the_directory_too() -> None:
    faults = Faults(rate_limit=1.0, retry_after_ms=1500)
    async with (
        serve(port=0, api_key=KEY, now=pinned_clock, faults=faults, latency=0.001) as emu,
        openai.AsyncOpenAI(
            admin_api_key=KEY, api_key="unused", base_url=emu.base_url, max_retries=0
        ) as sdk,
    ):
        with pytest.raises(openai.RateLimitError) as caught:
            await sdk.admin.organization.projects.list()
        assert caught.value.response.headers["retry-after"] == "2"
        assert caught.value.request_id
        assert caught.value.request_id.startswith("req_")
        assert emu.stats.by_endpoint["projects"] == 1
        assert emu.stats.faults["rate_limit"] == 1


async def test_sdk_sees_an_unknown_project_as_its_not_found_error(
    sdk: openai.AsyncOpenAI, emu: Emulator
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await sdk.admin.organization.projects.api_keys.list("proj_gone")
    assert "proj_gone" in caught.value.message
    assert emu.stats.by_endpoint == {"project_api_keys": 1}


# --- The directory names every ID the usage and costs rows carry --------------------------------


def test_every_id_in_usage_and_costs_has_a_name_in_the_directory(live: LiveEmulator) -> None:
    projects = {p["id"] for p in walk(live, PROJECTS, [("include_archived", "true")])}
    users = {u["id"] for u in walk(live, USERS, [])}
    keys = {
        k["id"]
        for p in projects
        for k in walk(live, keys_path(p), [("owner_project_access", "any")])
    }
    seen: dict[str, set[str]] = {"project_id": set(), "user_id": set(), "api_key_id": set()}
    # Spring 2024, when the archived hackathon project ran, and a recent week.
    for start in (1_711_929_600, 1_771_718_400):  # 2024-04-01, 2026-02-22
        query = [("start_time", str(start)), ("end_time", str(start + 7 * DAY)), ("limit", "7")]
        for endpoint in ("completions", "costs"):
            grouped = [*query, *(("group_by[]", g) for g in seen)]
            if endpoint == "costs":
                grouped = [*query, ("group_by[]", "project_id")]
            for bucket in live.buckets(endpoint, grouped):
                for row in bucket["results"]:
                    for field, ids in seen.items():
                        if row.get(field) is not None:
                            ids.add(row[field])
    assert seen["project_id"] <= projects
    assert seen["user_id"] <= users
    assert seen["api_key_id"] <= keys
    hackathon = ORGANIZATION.project("Hackathon 2024").id
    assert hackathon in seen["project_id"], "the archived project's old usage is still reported"


# --- Fuzz: a client's mistake is never a 500 -------------------------------------------------

_NAMES = st.sampled_from(
    ["limit", "after", "include_archived", "emails", "emails[]", "owner_project_access"]
) | st.text(min_size=1, max_size=12)
_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["true", "false", "any", "active", "", "alice@example.com"]),
    st.sampled_from([p.id for p in ORGANIZATION.projects] + [u.id for u in ORGANIZATION.users]),
    st.text(max_size=30),
)
_PATHS = st.sampled_from([PROJECTS, USERS]) | st.builds(
    lambda make, project: make(project),
    st.sampled_from([keys_path, accounts_path]),
    st.sampled_from([p.id for p in ORGANIZATION.projects]) | st.text(min_size=1, max_size=30),
)


@given(path=_PATHS, pairs=st.lists(st.tuples(_NAMES, _VALUES), max_size=6))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzzed_directory_requests_never_get_a_server_error(
    live: LiveEmulator, path: str, pairs: list[tuple[str, str]]
) -> None:
    reply = live.get(path, urllib.parse.urlencode(pairs))
    assert reply.status in (200, 400, 404), reply.body[:300]
    body = reply.json()
    assert REQUEST_ID.match(reply.headers["x-request-id"])
    if reply.status == 200:
        assert body["object"] == "list"
    else:
        assert body["error"]["type"] == "invalid_request_error"
