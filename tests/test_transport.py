"""The client on the wire (aioresponses): retries, error mapping, headers, logging, hygiene."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

import usage_async as ua

from .conftest import BASE, KEY, SleepRecorder
from .samples import bucket, page

URL_RE = re.compile(r"^https://api\.example\.test/v1/organization/usage/completions.*$")
START = 1_764_547_200


def sent(mocked: aioresponses) -> list[tuple[URL, dict[str, Any]]]:
    """Every request sent, in order, as (url with query, request kwargs)."""
    out = []
    for (_method, url), calls in mocked.requests.items():
        out.extend((url, call.kwargs) for call in calls)
    return out


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


async def first_bucket(client: ua.UsageClient, **params: Any) -> ua.Bucket[Any]:
    stream = client.completions(start_time=START, **params)
    async for b in stream:
        return b
    raise AssertionError("no bucket")


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried_then_succeed(
    client: ua.UsageClient, mocked: aioresponses, sleeps: SleepRecorder, status: int
) -> None:
    mocked.get(URL_RE, status=status, payload=error_body("try again", "server_error"))
    mocked.get(URL_RE, payload=page([bucket(START)]))
    b = await first_bucket(client)
    assert b.start_time == START
    assert len(sent(mocked)) == 2
    assert len(sleeps.waits) == 1


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, ua.BadRequestError),
        (401, ua.AuthenticationError),
        (403, ua.PermissionDeniedError),
        (404, ua.NotFoundError),
        (422, ua.APIStatusError),
    ],
)
async def test_client_errors_are_not_retried_and_map_to_typed_errors(
    client: ua.UsageClient, mocked: aioresponses, status: int, error_type: type[ua.APIStatusError]
) -> None:
    mocked.get(
        URL_RE,
        status=status,
        payload=error_body("Invalid limit provided: 366.", param="limit", code="invalid_value"),
        headers={"x-request-id": "req_abc123"},
    )
    with pytest.raises(error_type) as info:
        await first_bucket(client)
    err = info.value
    assert type(err) is error_type
    assert (err.status_code, err.message, err.param, err.code, err.type, err.request_id) == (
        status,
        "Invalid limit provided: 366.",
        "limit",
        "invalid_value",
        "invalid_request_error",
        "req_abc123",
    )
    text = str(err)
    for part in (str(status), "Invalid limit provided", "param: limit", "req_abc123"):
        assert part in text
    assert len(sent(mocked)) == 1


async def test_server_errors_map_to_internal_server_error_after_the_retries(
    client: ua.UsageClient, mocked: aioresponses, sleeps: SleepRecorder
) -> None:
    mocked.get(URL_RE, status=503, payload=error_body("overloaded", "server_error"), repeat=True)
    with pytest.raises(ua.InternalServerError) as info:
        await first_bucket(client)
    assert info.value.status_code == 503
    assert len(sent(mocked)) == client.retry_policy.max_retries + 1 == 4
    assert len(sleeps.waits) == 3


async def test_backoff_grows_exponentially_with_jitter_and_a_cap(
    mocked: aioresponses, sleeps: SleepRecorder
) -> None:
    async with ua.UsageClient(KEY, base_url=BASE, max_retries=7) as c:
        c._sleep = sleeps
        c._clock = sleeps.clock
        mocked.get(URL_RE, status=500, payload=error_body("x"), repeat=True)
        with pytest.raises(ua.InternalServerError):
            await first_bucket(c)
    assert len(sleeps.waits) == 7
    for attempt, wait in enumerate(sleeps.waits):
        ceiling = min(0.5 * 2**attempt, 8.0)
        assert 0.75 * ceiling <= wait <= ceiling, (attempt, wait)


async def test_a_429_without_retry_after_backs_off_and_keeps_the_same_cursor(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="cursor_2"))
    mocked.get(URL_RE, status=429, payload=error_body("slow down", "rate_limit_exceeded"))
    mocked.get(URL_RE, payload=page([bucket(START + 86400)]))
    buckets = await client.completions(start_time=START).collect()
    assert [b.start_time for b in buckets] == [START, START + 86400]
    urls = [url for url, _ in sent(mocked)]
    assert "page" not in urls[0].query
    assert urls[1].query["page"] == urls[2].query["page"] == "cursor_2"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, None),  # in the past: back off instead
    ],
)
async def test_retry_after_headers_set_the_wait(
    client: ua.UsageClient,
    mocked: aioresponses,
    sleeps: SleepRecorder,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    mocked.get(URL_RE, status=429, payload=error_body("slow down"), headers=headers)
    mocked.get(URL_RE, payload=page([bucket(START)]))
    await first_bucket(client)
    if expected is None:
        assert 0.375 <= sleeps.waits[0] <= 0.5
    else:
        assert sleeps.waits[0] == pytest.approx(expected)


async def test_a_retry_after_beyond_the_cap_is_raised_not_slept_on(
    client: ua.UsageClient, mocked: aioresponses, sleeps: SleepRecorder
) -> None:
    mocked.get(
        URL_RE, status=429, payload=error_body("come back later"), headers={"retry-after": "300"}
    )
    with pytest.raises(ua.RateLimitError) as info:
        await first_bucket(client)
    assert info.value.retry_after == 300
    assert sleeps.waits == []
    assert len(sent(mocked)) == 1


async def test_insufficient_quota_is_not_retried(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(
        URL_RE,
        status=429,
        payload=error_body(
            "You exceeded your quota", "insufficient_quota", code="insufficient_quota"
        ),
    )
    with pytest.raises(ua.RateLimitError) as info:
        await first_bucket(client)
    assert info.value.code == "insufficient_quota"
    assert len(sent(mocked)) == 1


async def test_x_should_retry_overrides_the_status_rule_both_ways(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, status=500, payload=error_body("no"), headers={"x-should-retry": "false"})
    with pytest.raises(ua.InternalServerError):
        await first_bucket(client)
    assert len(sent(mocked)) == 1
    mocked.get(URL_RE, status=400, payload=error_body("flaky"), headers={"x-should-retry": "true"})
    mocked.get(URL_RE, payload=page([bucket(START)]))
    await first_bucket(client)
    assert len(sent(mocked)) == 3


@pytest.mark.parametrize(
    ("exception", "error_type"),
    [
        (aiohttp.ClientConnectionError("connection reset"), ua.APIConnectionError),
        (aiohttp.ServerDisconnectedError(), ua.APIConnectionError),
        (aiohttp.ClientPayloadError("truncated"), ua.APIConnectionError),
        (TimeoutError(), ua.APITimeoutError),
        (OSError("network unreachable"), ua.APIConnectionError),
    ],
)
async def test_transport_failures_are_retried_and_surface_as_our_errors(
    client: ua.UsageClient, mocked: aioresponses, exception: Exception, error_type: type[Exception]
) -> None:
    mocked.get(URL_RE, exception=exception, repeat=True)
    with pytest.raises(error_type) as info:
        await first_bucket(client)
    assert type(info.value) is error_type
    assert not isinstance(info.value, aiohttp.ClientError)
    assert len(sent(mocked)) == 4
    mocked.clear()
    mocked.get(URL_RE, exception=exception)
    mocked.get(URL_RE, payload=page([bucket(START)]))
    assert (await first_bucket(client)).start_time == START


async def test_decode_errors_are_not_retried(client: ua.UsageClient, mocked: aioresponses) -> None:
    mocked.get(URL_RE, body=b"<html>oops</html>", headers={"x-request-id": "req_html"})
    with pytest.raises(ua.DecodeError) as info:
        await first_bucket(client)
    assert info.value.request_id == "req_html"
    assert len(sent(mocked)) == 1


async def test_an_html_error_page_still_gives_a_readable_status_error(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(
        URL_RE,
        status=403,
        body=b"<html><h1>Forbidden by proxy</h1></html>",
        content_type="text/html",
    )
    with pytest.raises(ua.PermissionDeniedError) as info:
        await first_bucket(client)
    assert "Forbidden by proxy" in str(info.value)
    assert info.value.param is None


async def test_requests_carry_auth_and_optional_org_and_project_headers(
    mocked: aioresponses,
) -> None:
    async with ua.UsageClient(KEY, base_url=BASE, organization="org_1", project="proj_9") as c:
        mocked.get(URL_RE, payload=page([bucket(START)]))
        await first_bucket(c)
    [(_, kwargs)] = sent(mocked)
    headers = kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["OpenAI-Organization"] == "org_1"
    assert headers["OpenAI-Project"] == "proj_9"
    assert headers["User-Agent"].startswith("usage-async/")
    assert kwargs["allow_redirects"] is False


async def test_arrays_go_out_as_brackets_and_every_parameter_is_resent_with_the_cursor(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)], next_page="c2"))
    mocked.get(URL_RE, payload=page([bucket(START + 86400)]))
    stream = client.completions(
        start_time=START,
        end_time=START + 2 * 86400,
        bucket_width="1d",
        limit=1,
        group_by=["model", "project_id"],
        models=["gpt-4o", "gpt-4o-mini"],
        batch=False,
    )
    await stream.collect()
    calls = sent(mocked)
    assert len(calls) == 2
    for i, (_, kwargs) in enumerate(calls):
        params = kwargs["params"]
        assert ("group_by[]", "model") in params
        assert ("group_by[]", "project_id") in params
        assert ("models[]", "gpt-4o") in params
        assert ("models[]", "gpt-4o-mini") in params
        assert ("batch", "false") in params
        assert ("limit", "1") in params
        assert ("bucket_width", "1d") in params
        assert ("end_time", str(START + 2 * 86400)) in params
        assert (("page", "c2") in params) == (i == 1)


async def test_unset_values_are_not_sent(client: ua.UsageClient, mocked: aioresponses) -> None:
    mocked.get(URL_RE, payload=page([bucket(START)]))
    await client.completions(start_time=START, end_time=None, models=None, limit=None).collect()
    [(_, kwargs)] = sent(mocked)
    assert kwargs["params"] == [("start_time", str(START))]


async def test_retries_are_logged_at_warning_requests_at_debug_and_never_the_key(
    client: ua.UsageClient, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="usage_async")
    mocked.get(URL_RE, status=429, payload=error_body("slow"), headers={"x-request-id": "req_1"})
    mocked.get(URL_RE, payload=page([bucket(START)]))
    await first_bucket(client)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    debugs = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(warnings) == 1
    assert "attempt 1 of 4" in warnings[0].getMessage()
    assert "req_1" in warnings[0].getMessage()
    assert len(debugs) == 2
    assert all(r.name == "usage_async" for r in caplog.records)
    assert all(
        KEY not in r.getMessage() and "TESTKEY" not in r.getMessage() for r in caplog.records
    )


async def test_a_client_wide_backoff_makes_other_requests_wait_after_a_429(
    client: ua.UsageClient, mocked: aioresponses, sleeps: SleepRecorder
) -> None:
    mocked.get(URL_RE, status=429, payload=error_body("slow"), headers={"retry-after": "2"})
    mocked.get(URL_RE, payload=page([bucket(START)]))
    await first_bucket(client)
    assert sleeps.waits == [2.0]  # the retry itself
    sleeps.now -= 1.5  # pretend another request starts half a second into the hold
    mocked.get(URL_RE, payload=page([bucket(START)]))
    await first_bucket(client)
    assert sleeps.waits[1] == pytest.approx(1.5)


async def test_retry_deadline_bounds_the_total_time_of_a_page(mocked: aioresponses) -> None:
    async with ua.UsageClient(KEY, base_url=BASE, retry_deadline=0.2, max_retries=50) as c:
        mocked.get(URL_RE, status=500, payload=error_body("down"), repeat=True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ua.APITimeoutError, match="retry_deadline"):
            await first_bucket(c)
        assert loop.time() - started < 5  # bounded by the deadline, not by 50 retries


async def test_no_request_follows_a_redirect(client: ua.UsageClient, mocked: aioresponses) -> None:
    mocked.get(URL_RE, status=302, headers={"Location": "https://evil.example/steal"}, body=b"")
    with pytest.raises(ua.APIStatusError) as info:
        await first_bucket(client)
    assert info.value.status_code == 302
    assert len(sent(mocked)) == 1


async def test_x_should_retry_true_overrides_insufficient_quota(
    client: ua.UsageClient, mocked: aioresponses
) -> None:
    body = error_body("quota", "insufficient_quota", code="insufficient_quota")
    mocked.get(URL_RE, status=429, payload=body, headers={"x-should-retry": "true"})
    mocked.get(URL_RE, payload=page([bucket(START)]))
    assert (await first_bucket(client)).start_time == START
    assert len(sent(mocked)) == 2
