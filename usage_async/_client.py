"""``UsageClient``: the async face of the library.

The client holds configuration, one transport (one aiohttp session), a cap on requests in
flight and a back-off shared by all its requests. Each endpoint method validates its
arguments at the call and returns a lazy ``BucketStream`` (``_streams``); nothing is sent
until the stream is iterated, and then one page at a time (or, with ``concurrency=k``, up to
``k`` one-page time windows at a time, still yielded in time order).

Closing is final: ``close()`` cancels the client's own tasks and every request in flight or
waiting (behind the in-flight cap, or in a back-off), which end at once with
``ClientClosedError``; after it, no request leaves and no session is created.

Core layer: imports the standard library and the core only; aiohttp's session type comes
through ``_transport``, which sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import time
import urllib.parse
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, Literal, TypeVar, Unpack

from ._base_url import DEFAULT_BASE_URL, check_base_url
from ._closing import Interrupts
from ._convert import (
    BucketDecoder,
    ListDecoder,
    parse_body,
    read_envelope,
)
from ._directory import PARTS, Directory, load_directory
from ._endpoints import (
    ENDPOINTS,
    LIST_ENDPOINTS,
    CompletionsParams,
    CostsParams,
    FileSearchCallsParams,
    ImagesParams,
    ModelUsageParams,
    ProjectUsageParams,
    WebSearchCallsParams,
)
from ._exceptions import (
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    DecodeError,
    InvalidParameterError,
    RateLimitError,
)
from ._models import (
    AudioSpeechesResult,
    AudioTranscriptionsResult,
    CodeInterpreterSessionsResult,
    CompletionsResult,
    CostsResult,
    DecisionsResult,
    EmbeddingsResult,
    FileSearchesResult,
    ImagesResult,
    ModerationsResult,
    Page,
    Project,
    ProjectApiKey,
    ServiceAccount,
    User,
    VectorStoresResult,
    WebSearchesResult,
)
from ._paging import ListPage, RowPaths
from ._protocol import (
    ListQuery,
    Query,
    Response,
    error_from_response,
    validate,
    validate_list,
)
from ._redact import redact
from ._retry import RetryPolicy
from ._streams import BucketStream, ListStream, resume
from ._transport import AiohttpTransport, Session
from ._version import __version__

__all__ = ["UsageClient", "__version__"]

logger = logging.getLogger("usage_async")

T = TypeVar("T")

# Results decoded between two turns given to the event loop while decoding one large page.
_DECODE_SLICE = 1024


class _Secret:
    """Holds the admin key so that no repr, log line or traceback frame shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("the admin key is not picklable")


class _SharedBackoff:
    """When one request is told to wait (429 + Retry-After), the client's others wait too."""

    __slots__ = ("_clock", "_until")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        self._until = max(self._until, self._clock() + seconds)

    def holding(self) -> bool:
        return self._until > self._clock()

    async def wait(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        delay = self._until - self._clock()
        if delay > 0:
            await sleep(delay)


class UsageClient:
    """Async client for the organization Usage and Costs API.

    Use it as ``async with UsageClient() as client:``; the session is closed on exit. Without
    ``async with`` it opens on first use and ``await client.close()`` releases it.

    Args:
        api_key: An admin key (``sk-admin-...``). Default: ``OPENAI_ADMIN_KEY``.
        base_url: Default: ``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``. Plain
            ``http://`` is refused unless the host is loopback or ``allow_insecure=True``.
        organization: ``OpenAI-Organization`` header. Default: ``OPENAI_ORG_ID``.
        project: ``OpenAI-Project`` header. Default: ``OPENAI_PROJECT_ID``.
        timeout: Seconds one attempt may take.
        max_retries: Retries after the first attempt of a page.
        session: An ``aiohttp.ClientSession`` to borrow; it is never closed by the client.
        max_in_flight: Most requests this client has in flight at once, across all streams.
        limiter: An ``asyncio.Semaphore`` to share one in-flight cap between several clients
            (one per organization, say); it replaces the client's own ``max_in_flight`` cap.
        retry_deadline: Seconds one page may take across all its attempts and waits;
            ``None`` for no bound beyond ``max_retries``.
        max_retry_after: A server-requested wait above this many seconds is not slept on:
            the error is raised with its ``retry_after``.
        initial_backoff: The first wait, in seconds, when the server names none; it doubles
            per retry (with jitter) up to ``max_backoff``. Small values keep tests fast.
        max_backoff: The longest back-off wait, in seconds.
        max_body_size: Largest response body accepted, in bytes.
        allow_insecure: Permit ``http://`` to a non-loopback host.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        session: Session | None = None,
        max_in_flight: int = 8,
        limiter: asyncio.Semaphore | None = None,
        retry_deadline: float | None = None,
        max_retry_after: float = 120.0,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_body_size: int = 256 * 1024 * 1024,
        allow_insecure: bool = False,
    ) -> None:
        self._api_key = _Secret(_admin_key(api_key))
        self.base_url = check_base_url(
            base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL, allow_insecure
        )
        self.organization = organization or os.environ.get("OPENAI_ORG_ID") or None
        self.project = project or os.environ.get("OPENAI_PROJECT_ID") or None
        _check_seconds(
            timeout=timeout,
            retry_deadline=retry_deadline,
            max_retry_after=max_retry_after,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
        )
        _check_count("max_retries", max_retries, least=0)
        _check_count("max_in_flight", max_in_flight, least=1)
        _check_count("max_body_size", max_body_size, least=1)
        self.timeout = timeout
        self.retry_deadline = retry_deadline
        self.retry_policy = RetryPolicy(
            max_retries=max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
        )
        self.max_in_flight = max_in_flight
        self._transport = AiohttpTransport(
            session, max_body_size=max_body_size, pool_size=max_in_flight
        )
        self._in_flight = _in_flight_cap(limiter, max_in_flight)
        self._closed = False
        # Tasks the client started (windows), and the tasks inside a request of the client's:
        # close() cancels both, and the requests end in ClientClosedError.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._interrupts = Interrupts("the UsageClient")
        # Seams for tests: how the client sleeps and reads the clock between attempts.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._clock: Callable[[], float] = time.monotonic
        self._rng = random.Random()
        self._backoff = _SharedBackoff(lambda: self._clock())

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<UsageClient base_url={self.base_url!r} {state}>"

    async def __aenter__(self) -> UsageClient:
        self.ensure_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client for good; returns once nothing of it is running.

        Requests in flight, queued behind the in-flight cap or sleeping in a back-off end at
        once with ``ClientClosedError`` (never retried); the client's own tasks are cancelled
        and awaited; the session is closed if the client created it. Further use raises
        ``ClientClosedError``. Closing twice is harmless.
        """
        self._closed = True
        self._interrupts.interrupt(also=self._tasks)
        current = asyncio.current_task()
        own = [task for task in self._tasks if task is not current]
        await asyncio.gather(*own, return_exceptions=True)
        await self._transport.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called: a closed client sends nothing more."""
        return self._closed

    def ensure_open(self) -> None:
        """Return if the client is open; raises ``ClientClosedError`` once it is closed."""
        if self._closed:
            raise ClientClosedError("this UsageClient is closed; create a new one")

    def _headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key.reveal()}",
            "Accept": "application/json",
            "User-Agent": f"usage-async/{__version__}",
        }
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        if self.project:
            headers["OpenAI-Project"] = self.project
        return headers

    # --- Endpoints (one line each: the table in _endpoints does the work) ----------------------

    def audio_speeches(
        self, **params: Unpack[ModelUsageParams]
    ) -> BucketStream[AudioSpeechesResult]:
        """Text-to-speech usage (characters, requests) per bucket."""
        return self._stream("audio_speeches", params)

    def audio_transcriptions(
        self, **params: Unpack[ModelUsageParams]
    ) -> BucketStream[AudioTranscriptionsResult]:
        """Transcription usage (seconds, requests) per bucket."""
        return self._stream("audio_transcriptions", params)

    def code_interpreter_sessions(
        self, **params: Unpack[ProjectUsageParams]
    ) -> BucketStream[CodeInterpreterSessionsResult]:
        """Code interpreter sessions per bucket."""
        return self._stream("code_interpreter_sessions", params)

    def completions(self, **params: Unpack[CompletionsParams]) -> BucketStream[CompletionsResult]:
        """Completions usage (tokens, requests) per bucket.

        Takes ``start_time`` (required), ``end_time``, ``bucket_width``, ``limit``, ``page``,
        ``group_by``, ``project_ids``, ``user_ids``, ``api_key_ids``, ``models``, ``batch``
        and ``concurrency``. Raises ``InvalidParameterError`` here, before any request.
        """
        return self._stream("completions", params)

    def costs(self, **params: Unpack[CostsParams]) -> BucketStream[CostsResult]:
        """Costs per daily bucket (``amount`` as an exact ``Decimal``)."""
        return self._stream("costs", params)

    def decisions(self, **params: Unpack[CompletionsParams]) -> BucketStream[DecisionsResult]:
        """Decisions usage (tokens, requests) per bucket."""
        return self._stream("decisions", params)

    def embeddings(self, **params: Unpack[ModelUsageParams]) -> BucketStream[EmbeddingsResult]:
        """Embeddings usage (tokens, requests) per bucket."""
        return self._stream("embeddings", params)

    def file_search_calls(
        self, **params: Unpack[FileSearchCallsParams]
    ) -> BucketStream[FileSearchesResult]:
        """File search calls per bucket."""
        return self._stream("file_search_calls", params)

    def images(self, **params: Unpack[ImagesParams]) -> BucketStream[ImagesResult]:
        """Image usage (images, requests) per bucket."""
        return self._stream("images", params)

    def moderations(self, **params: Unpack[ModelUsageParams]) -> BucketStream[ModerationsResult]:
        """Moderations usage (tokens, requests) per bucket."""
        return self._stream("moderations", params)

    def vector_stores(
        self, **params: Unpack[ProjectUsageParams]
    ) -> BucketStream[VectorStoresResult]:
        """Vector store storage (bytes) per bucket."""
        return self._stream("vector_stores", params)

    def web_search_calls(
        self, **params: Unpack[WebSearchCallsParams]
    ) -> BucketStream[WebSearchesResult]:
        """Web search calls per bucket."""
        return self._stream("web_search_calls", params)

    def resume(self, checkpoint: str) -> BucketStream[Any] | ListStream[Any]:
        """The stream a ``stream.checkpoint()`` string describes, continuing where it stood.

        Works in another process and after any amount of time: the query is sent exactly as
        it first was, and nothing already yielded is yielded again. Raises
        ``InvalidParameterError`` for a string that is not a checkpoint this version reads.
        """
        self.ensure_open()
        return resume(self, checkpoint)

    # --- The organization directory -------------------------------------------------------------

    def projects(
        self, *, include_archived: bool | None = None, limit: int | None = None
    ) -> ListStream[Project]:
        """The organization's projects (archived ones too with ``include_archived=True``)."""
        return self._list("projects", {"include_archived": include_archived, "limit": limit})

    def users(
        self, *, emails: Sequence[str] | str | None = None, limit: int | None = None
    ) -> ListStream[User]:
        """The organization's users, optionally only those with the given ``emails``."""
        return self._list("users", {"emails": emails, "limit": limit})

    def project_api_keys(
        self,
        project_id: str,
        *,
        owner_project_access: Literal["active", "inactive", "any"] | None = None,
        limit: int | None = None,
    ) -> ListStream[ProjectApiKey]:
        """The API keys of one project, each with its owner (a user or a service account).

        Without ``owner_project_access`` the API applies its membership rules, which may leave
        out keys whose owner lost access to the project; ``"any"`` lists every enabled key.
        """
        params = {"project_id": project_id, "owner_project_access": owner_project_access}
        return self._list("project_api_keys", {**params, "limit": limit})

    def project_service_accounts(
        self, project_id: str, *, limit: int | None = None
    ) -> ListStream[ServiceAccount]:
        """The service accounts of one project."""
        return self._list("project_service_accounts", {"project_id": project_id, "limit": limit})

    def _list(self, name: str, params: Mapping[str, object]) -> ListStream[Any]:
        self.ensure_open()
        return ListStream(self, validate_list(LIST_ENDPOINTS[name], params))

    async def directory(self, parts: Collection[str] = PARTS) -> Directory:
        """Every project (archived too), user, project API key and service account, as a
        lookup from IDs to names.

        ``parts`` reads only some of them (``("projects",)``: one request per hundred
        projects, where the keys and service accounts take two per project). Fetched
        concurrently, under the client's in-flight cap. A part the key may not read (403), or
        the keys or service accounts of a project gone since it was listed (404), are left
        empty and named in ``Directory.warnings`` (and logged) instead of failing the whole
        lookup; any other error is raised.
        """
        return await load_directory(self, parts)

    def stream(self, endpoint: str, **params: Any) -> BucketStream[Any]:
        """The stream of an endpoint named at run time (``"completions"``, ``"costs"``...)."""
        if endpoint not in ENDPOINTS:
            raise InvalidParameterError(
                f"unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}",
                param="endpoint",
            )
        return self._stream(endpoint, params)

    def _stream(self, name: str, params: Mapping[str, object]) -> BucketStream[Any]:
        self.ensure_open()
        return BucketStream(self, validate(ENDPOINTS[name], params))

    # --- For streams: the PageSource protocol (_paging); not for direct use -------------------

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task of the client's own running ``coroutine``: ``close()`` cancels and awaits it.

        Raises ``ClientClosedError`` (without starting ``coroutine``) once closed.
        """
        if self._closed:
            coroutine.close()  # never started: no "was never awaited" warning either
            self.ensure_open()
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def fetch_page(
        self, query: Query, cursor: str | None, row: RowPaths | None = None
    ) -> Page[Any]:
        """One page of ``query`` at ``cursor``, checked and decoded; failed attempts are
        retried with the same cursor. For streams: iterate ``client.costs(...)`` instead.

        With ``row`` (paths, from ``column_paths``) results are decoded into tuples of those
        values instead of result objects. Raises ``APIError`` (a subclass) once retrying
        gives up, ``DecodeError`` for a body off the documented shape, and
        ``ClientClosedError`` when the client closes.
        """
        path = query.endpoint.path
        response = await self._get_with_retries(path, query.params(cursor), "page", cursor)
        request_id = response.request_id
        with self._redacted_decode_errors(request_id):
            decoder = _decoder_for(query.endpoint.name, row)
            doc = decoder.parse(response.body, request_id)
            data, has_more, next_page = read_envelope(doc, request_id)
            buckets, index = decoder.decode(data, 0, _DECODE_SLICE, request_id)
            while index < len(data):
                await asyncio.sleep(0)  # a huge page must not stall the event loop
                more, index = decoder.decode(data, index, _DECODE_SLICE, request_id)
                buckets.extend(more)
        return Page(tuple(buckets), has_more, next_page, request_id, response.server_time)

    async def fetch_list(self, query: ListQuery, after: str | None) -> ListPage[Any]:
        """One page of a directory list after the item ``after``, checked and decoded; raises
        as ``fetch_page`` does. For streams: iterate ``client.projects()`` instead."""
        response = await self._get_with_retries(query.path, query.params(after), "after", after)
        request_id = response.request_id
        with self._redacted_decode_errors(request_id):
            doc = parse_body(response.body, request_id)
            data, has_more, last_id = read_envelope(doc, request_id, "last_id")
            project_id = dict(query.path_params).get("project_id")
            items = _list_decoder_for(query.endpoint.name).decode(data, request_id, project_id)
        return ListPage(tuple(items), has_more, last_id, request_id)

    @contextlib.contextmanager
    def _redacted_decode_errors(self, request_id: str | None) -> Iterator[None]:
        # A decode error's message quotes a cut-off snippet of the body; a body that echoes
        # the key must not carry any of it on.
        try:
            yield
        except DecodeError as exc:
            redacted = redact(exc.message, self._api_key.reveal())
            if redacted != exc.message:
                raise DecodeError(redacted, request_id=request_id) from None
            raise

    async def _get_with_retries(
        self, path: str, params: list[tuple[str, str]], cursor_name: str, cursor: str | None
    ) -> Response:
        url = self.base_url + path
        describe = f"GET {path}" + (f" {cursor_name}={cursor}" if cursor else "")
        retrying = self.retry_policy.retrying(describe=describe, sleep=self._sleep, rng=self._rng)
        deadline = (
            asyncio.timeout(self.retry_deadline)
            if self.retry_deadline is not None
            else contextlib.nullcontext()
        )
        try:
            with self._interrupts.guard():
                async with deadline:
                    async for attempt in retrying:
                        with attempt:
                            return await self._attempt(url, params, describe)
        except TimeoutError:
            raise APITimeoutError(
                f"{describe} gave up: retry_deadline of {self.retry_deadline} s passed"
            ) from None
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _attempt(self, url: str, params: list[tuple[str, str]], describe: str) -> Response:
        self.ensure_open()  # a retry must not reopen a client closed meanwhile
        # Wait out a back-off before taking a slot, never while holding one: the slots may be
        # shared with other clients (limiter=), whose requests owe this one's 429 nothing. A
        # hold set while this request queued for its slot sends it back to wait.
        while True:
            await self._backoff.wait(self._sleep)
            await self._in_flight.acquire()
            if not self._backoff.holding():
                break
            self._in_flight.release()
        try:
            started = time.perf_counter()
            response = await self._transport.get(url, params, self._headers(), self.timeout)
        finally:
            self._in_flight.release()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.0f ms (request_id %s)",
                describe,
                urllib.parse.urlencode(params),
                response.status,
                (time.perf_counter() - started) * 1000,
                response.request_id,
            )
        if 200 <= response.status < 300:
            return response
        error = error_from_response(response, time.time())
        # An error body may echo the key (a proxy's error page, say), whole or cut off: no
        # error message, nor the log line of a retry, may carry any of it.
        key = self._api_key.reveal()
        error.message = redact(error.message, key)
        error.args = (error.message,)
        for name in ("param", "code", "type"):
            value = getattr(error, name)
            if value is not None:
                setattr(error, name, redact(value, key))
        self._note_throttle(error)
        raise error

    def _note_throttle(self, error: APIStatusError) -> None:
        wait = error.retry_after
        if (
            isinstance(error, RateLimitError)
            and wait is not None
            and 0 < wait <= self.retry_policy.max_retry_after
        ):
            self._backoff.hold(wait)


def _admin_key(api_key: str | None) -> str:
    """``api_key``, else ``OPENAI_ADMIN_KEY``; raises ``InvalidParameterError`` for none, or
    for a key with surrounding spaces or line breaks (it would end up in a header)."""
    key = api_key if api_key is not None else os.environ.get("OPENAI_ADMIN_KEY")
    if not key:
        raise InvalidParameterError(
            "no admin key: pass api_key=... or set the OPENAI_ADMIN_KEY environment variable",
            param="api_key",
        )
    if not isinstance(key, str) or key != key.strip() or any(c in key for c in "\r\n"):
        raise InvalidParameterError(
            "api_key must be a single-line string without surrounding spaces",
            param="api_key",
        )
    return key


def _check_seconds(**durations: float | None) -> None:
    """Raises ``InvalidParameterError`` for a duration that is not a positive number."""
    for name, value in durations.items():
        if value is not None and (isinstance(value, bool) or not value > 0):
            raise InvalidParameterError(
                f"{name} must be a positive number of seconds, got {value!r}", param=name
            )


def _check_count(name: str, count: int, *, least: int) -> None:
    """Raises ``InvalidParameterError`` unless ``count`` is an int of at least ``least``."""
    if isinstance(count, bool) or not isinstance(count, int) or count < least:
        raise InvalidParameterError(f"{name} must be an int >= {least}, got {count!r}", param=name)


def _in_flight_cap(limiter: asyncio.Semaphore | None, max_in_flight: int) -> asyncio.Semaphore:
    """The semaphore that caps requests in flight: the shared ``limiter``, else the client's
    own of ``max_in_flight``; raises ``InvalidParameterError`` for a limiter of another type."""
    if limiter is None:
        return asyncio.Semaphore(max_in_flight)
    if not isinstance(limiter, asyncio.Semaphore):
        raise InvalidParameterError(
            f"limiter must be an asyncio.Semaphore, got {type(limiter).__name__}",
            param="limiter",
        )
    return limiter


@functools.cache
def _list_decoder_for(endpoint: str) -> ListDecoder:
    return ListDecoder(LIST_ENDPOINTS[endpoint].item_type)


@functools.lru_cache(maxsize=256)
def _decoder_for(endpoint: str, row: tuple[str | None, ...] | None = None) -> BucketDecoder:
    return BucketDecoder(ENDPOINTS[endpoint].result_type, row)
