"""What a client gets wrong, and what it gets back: 400/401/403/404/405 envelopes, cursors,
request ids, array encodings, and a fuzz of query strings that must never produce a 500."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import usage_async as ua

from .conftest import DAY, KEY, MIDNIGHT, NOW, REQUEST_ID, LiveEmulator, assert_error

START = str(MIDNIGHT - 3 * DAY)


BAD_QUERIES = [
    ("completions", "", "start_time"),
    ("completions", "start_time=yesterday", "start_time"),
    ("completions", "start_time=-5", "start_time"),
    ("completions", "start_time=1.5", "start_time"),
    ("completions", f"start_time={START}&start_time={START}", "start_time"),
    ("completions", f"start_time={START}&end_time={START}", "end_time"),
    ("completions", f"start_time={START}&bucket_width=2h", "bucket_width"),
    ("completions", f"start_time={START}&bucket_width=", "bucket_width"),
    ("costs", f"start_time={START}&bucket_width=1h", "bucket_width"),
    ("completions", f"start_time={START}&limit=0", "limit"),
    ("completions", f"start_time={START}&limit=32", "limit"),
    ("completions", f"start_time={START}&bucket_width=1h&limit=169", "limit"),
    ("completions", f"start_time={START}&bucket_width=1m&limit=1441", "limit"),
    ("completions", f"start_time={START}&limit=ten", "limit"),
    ("completions", f"start_time={START}&group_by=colour", "group_by"),
    ("completions", f"start_time={START}&group_by[]=model&group_by[]=", "group_by"),
    ("embeddings", f"start_time={START}&group_by=batch", "group_by"),
    ("images", f"start_time={START}&sources=image.paint", "sources"),
    ("images", f"start_time={START}&sizes=100x100", "sizes"),
    ("web_search_calls", f"start_time={START}&context_levels=extreme", "context_levels"),
    ("completions", f"start_time={START}&batch=maybe", "batch"),
    ("completions", f"start_time={START}&colour=blue", "colour"),
    ("embeddings", f"start_time={START}&batch=true", "batch"),
    ("vector_stores", f"start_time={START}&user_ids=u", "user_ids"),
    ("completions", f"start_time={START}&page=not-a-cursor", "page"),
    ("completions", f"start_time={START}&page=", "page"),
    ("costs", "start_time=1764892800&group_by=api_key_id", "group_by"),
]


@pytest.mark.parametrize(("endpoint", "query", "param"), BAD_QUERIES)
def test_invalid_parameter_is_a_400_naming_it(
    live: LiveEmulator, endpoint: str, query: str, param: str
) -> None:
    assert_error(live.get(endpoint, query), 400, param)


def test_limit_over_the_maximum_says_so_like_the_live_api(live: LiveEmulator) -> None:
    error = assert_error(live.get("costs", f"start_time={START}&limit=366"), 400, "limit")
    assert (
        error["message"] == "Invalid limit provided: 366. Limit must be less than or equal to 180."
    )


def test_costs_grouped_by_api_key_are_refused_only_before_2025_12_06(live: LiveEmulator) -> None:
    since = 1_764_979_200  # 2025-12-06T00:00:00Z
    query = f"end_time={since + 2 * DAY}&group_by=api_key_id"
    assert_error(live.get("costs", f"start_time={since - 1}&{query}"), 400, "group_by")
    rows = [
        r
        for b in live.buckets(
            "costs",
            [
                ("start_time", str(since)),
                ("end_time", str(since + 2 * DAY)),
                ("group_by", "api_key_id"),
            ],
        )
        for r in b["results"]
    ]
    assert any(r["api_key_id"] for r in rows)


@pytest.mark.parametrize(
    "header_key",
    [None, "sk-admin-wrong", KEY + "x", KEY[:-1], "sk-admin-\xff\xfe"],
    ids=["none", "other", "longer", "shorter", "undecodable"],
)
def test_missing_or_wrong_key_is_a_401_that_never_echoes_the_key(
    live: LiveEmulator, header_key: str | None
) -> None:
    reply = live.get("completions", f"start_time={START}", key=header_key)
    assert_error(reply, 401)
    assert b"sk-admin" not in reply.body


def test_project_key_is_a_403_for_the_missing_scope(live: LiveEmulator) -> None:
    reply = live.get("completions", f"start_time={START}", key="sk-proj-abc")
    error = assert_error(reply, 403)
    assert "api.usage.read" in str(error["message"])


def test_unknown_path_is_a_404_envelope(live: LiveEmulator) -> None:
    assert_error(live.get("/organization/usage/teleports", f"start_time={START}"), 404)
    assert_error(live.get("/nothing-here"), 404)


def test_other_methods_are_a_405_that_allows_get(live: LiveEmulator) -> None:
    reply = live.get("completions", f"start_time={START}", method="POST")
    assert_error(reply, 405)
    assert reply.headers["allow"] == "GET"


def test_every_response_has_its_own_request_id(live: LiveEmulator) -> None:
    replies = [
        live.get("completions", f"start_time={START}"),
        live.get("completions", f"start_time={START}"),
        live.get("completions", "start_time=x"),
        live.get("/nowhere"),
        live.get("completions", f"start_time={START}", key=None),
    ]
    ids = [r.headers["x-request-id"] for r in replies]
    assert all(REQUEST_ID.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def _cursor(live: LiveEmulator, query: str) -> str:
    page = live.page("completions", urllib.parse.parse_qsl(query))
    cursor: str = page["next_page"]
    return cursor


def test_cursor_replayed_with_other_parameters_is_a_400_on_page(live: LiveEmulator) -> None:
    query = f"start_time={START}&bucket_width=1h&group_by=model"
    cursor = _cursor(live, query)
    assert live.get("completions", f"{query}&page={cursor}").status == 200
    for changed in (
        f"start_time={START}&bucket_width=1h&group_by=project_id",
        f"start_time={START}&bucket_width=1h&group_by=model&limit=12",
        f"start_time={int(START) + 1}&bucket_width=1h&group_by=model",
        f"start_time={START}&bucket_width=1h&group_by=model&models=gpt-4o-2024-08-06",
    ):
        assert_error(live.get("completions", f"{changed}&page={cursor}"), 400, "page")
    assert_error(live.get("embeddings", f"{query}&page={cursor}"), 400, "page")


@given(position=st.integers(min_value=5), replacement=st.sampled_from("AQgw-_xZ09"))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_tampered_cursor_is_a_400_on_page(
    live: LiveEmulator, position: int, replacement: str
) -> None:
    query = f"start_time={START}&bucket_width=1h"
    cursor = _cursor(live, query)
    index = position % len(cursor)
    tampered = cursor[:index] + replacement + cursor[index + 1 :]
    if tampered == cursor:
        return
    assert_error(live.get("completions", f"{query}&page={tampered}"), 400, "page")


def test_array_encodings_are_equivalent_down_to_the_bytes(live: LiveEmulator) -> None:
    base = f"start_time={START}&bucket_width=1h"
    forms = [
        "group_by[]=model&group_by[]=project_id&models[]=gpt-4o-2024-08-06&models[]=o3-mini-2025-01-31",
        "group_by=model&group_by=project_id&models=gpt-4o-2024-08-06&models=o3-mini-2025-01-31",
        "group_by=model,project_id&models=gpt-4o-2024-08-06,o3-mini-2025-01-31",
        "group_by=project_id,model&models=o3-mini-2025-01-31&models[]=gpt-4o-2024-08-06",
    ]
    bodies = {live.get("completions", f"{base}&{form}").body for form in forms}
    assert len(bodies) == 1
    rows = [r for b in orjson_loads(bodies.pop())["data"] for r in b["results"]]
    assert {r["model"] for r in rows} == {"gpt-4o-2024-08-06", "o3-mini-2025-01-31"}


def orjson_loads(body: bytes) -> dict[str, list[dict[str, list[dict[str, object]]]]]:
    import orjson

    result: dict[str, list[dict[str, list[dict[str, object]]]]] = orjson.loads(body)
    return result


@pytest.mark.parametrize("value", ["true", "false", "TRUE", "False"])
def test_batch_filter_accepts_true_and_false(live: LiveEmulator, value: str) -> None:
    page = live.page(
        "completions", [("start_time", START), ("batch", value), ("group_by", "batch")]
    )
    batches = {r["batch"] for b in page["data"] for r in b["results"]}
    assert batches == {value.lower() == "true"}


# --- Fuzz: a client's mistake is never a 500 -------------------------------------------------

_NAMES = st.sampled_from(
    sorted(
        {"start_time", "end_time", "bucket_width", "limit", "page", "group_by", "group_by[]"}
        | {f.name for e in ua.ENDPOINTS.values() for f in e.filters}
        | {f"{f.name}[]" for e in ua.ENDPOINTS.values() for f in e.filters}
    )
) | st.text(min_size=1, max_size=12)
_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=NOW - 400 * DAY, max_value=NOW + DAY).map(str),
    st.sampled_from(["1m", "1h", "1d", "true", "false", "model", "project_id", "page_AAAA", ""]),
    st.text(max_size=30),
)


@given(
    endpoint=st.sampled_from(sorted(ua.ENDPOINTS)),
    pairs=st.lists(st.tuples(_NAMES, _VALUES), max_size=8),
    start=st.integers(min_value=NOW - 400 * DAY, max_value=NOW + DAY),
    with_start=st.booleans(),
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzzed_query_strings_never_get_a_server_error(
    live: LiveEmulator,
    endpoint: str,
    pairs: list[tuple[str, str]],
    start: int,
    with_start: bool,
) -> None:
    query = [("start_time", str(start))] * with_start + pairs
    reply = live.get(endpoint, urllib.parse.urlencode(query))
    assert reply.status in (200, 400), reply.body[:300]
    body = reply.json()
    assert REQUEST_ID.match(reply.headers["x-request-id"])
    if reply.status == 200:
        assert body["object"] == "page"
    else:
        assert body["error"]["type"] == "invalid_request_error"


@given(raw=st.binary(max_size=60))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_undecodable_query_bytes_never_get_a_server_error(live: LiveEmulator, raw: bytes) -> None:
    query = urllib.parse.quote_from_bytes(raw, safe="=&[],")
    reply = live.get("completions", f"start_time={START}&{query}")
    assert reply.status in (200, 400), reply.body[:300]
