"""Protocol logic with no I/O: validation, query encoding, error mapping, Retry-After, cursors.

Everything here is a pure function of its arguments (``retry_after_seconds`` takes the clock
as an argument), so it is tested synchronously and shared by the client, the sharding
scheduler and the CLI.

Core layer: imports the standard library, attrs, orjson and the core's table, errors and time
only; no I/O.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import urllib.parse
from collections.abc import Mapping, Sequence, Set
from typing import Any

import attrs
import orjson

from ._endpoints import BUCKET_SECONDS, Endpoint, Filter, ListEndpoint
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    InvalidParameterError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
)
from ._time import DAY

__all__ = [
    "CursorGuard",
    "ListQuery",
    "Query",
    "RangeGuard",
    "Response",
    "effective_query",
    "error_from_response",
    "page_budget",
    "positive_int",
    "retry_after_seconds",
    "server_time",
    "should_retry_header",
    "strings",
    "to_unix",
    "validate",
    "validate_list",
]


@attrs.frozen
class Response:
    """What the transport hands back: status, headers with lower-case names, the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    @property
    def server_time(self) -> int | None:
        """The server's clock when it answered (its ``Date`` header), in Unix seconds."""
        return server_time(self.headers)


def _http_date(raw: str) -> float | None:
    """Unix seconds of an HTTP date; ``None`` when it does not parse."""
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.timestamp()


def server_time(headers: Mapping[str, str]) -> int | None:
    """Unix seconds from an HTTP ``Date`` header; ``None`` when it is absent or unreadable."""
    raw = headers.get("date")
    when = _http_date(raw) if raw else None
    return None if when is None else int(when)


# Validated filters, in the endpoint's order: a name and its values (or a boolean).
Filters = tuple[tuple[str, tuple[str, ...] | bool | str], ...]


@attrs.frozen
class Query:
    """A validated request for one endpoint; ``params(cursor)`` gives the wire parameters."""

    endpoint: Endpoint
    start_time: int
    end_time: int | None = None
    bucket_width: str | None = None
    limit: int | None = None
    page: str | None = None
    group_by: tuple[str, ...] = ()
    filters: Filters = ()
    concurrency: int | None = None

    @property
    def width(self) -> str:
        """The bucket width in effect (the API's default when none was given)."""
        return self.bucket_width or self.endpoint.default_width

    @property
    def width_seconds(self) -> int:
        return BUCKET_SECONDS[self.width]

    @property
    def origin(self) -> int:
        """Where the first bucket starts: ``start_time``, floored to UTC midnight for costs."""
        return self.endpoint.bucket_origin(self.start_time)

    @property
    def page_size(self) -> int:
        """Buckets per page in effect."""
        return self.limit or self.endpoint.page_limit(self.bucket_width).default

    def params(self, cursor: str | None = None) -> list[tuple[str, str]]:
        """The query string as pairs: every parameter on every page, arrays as ``name[]=v``."""
        out = [("start_time", str(self.start_time))]
        if self.end_time is not None:
            out.append(("end_time", str(self.end_time)))
        if self.bucket_width is not None:
            out.append(("bucket_width", self.bucket_width))
        if self.limit is not None:
            out.append(("limit", str(self.limit)))
        out.extend(("group_by[]", field) for field in self.group_by)
        out.extend(_filter_params(self.filters))
        if cursor is not None:
            out.append(("page", cursor))
        return out

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments that validate back into this query (for copies and the CLI)."""
        out: dict[str, Any] = {"start_time": self.start_time}
        for name in ("end_time", "bucket_width", "limit", "page", "concurrency"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.group_by:
            out["group_by"] = list(self.group_by)
        out.update(_filter_kwargs(self.filters))
        return out


def effective_query(query: Query, now: int) -> Query:
    """The query as sent: an ``end_time`` in the future is left out.

    The live API has been seen to fail on a future ``end_time``; without one it ends the range
    at its own "now", which is what clamping would ask for. Leaving it out (rather than sending
    our clock's now) keeps the query, and so its cursors, the same from one call to the next:
    ``page=stream.next_page`` resumes a call made with the same arguments.
    """
    if query.end_time is not None and query.end_time > now:
        return attrs.evolve(query, end_time=None)
    return query


_COMMON = frozenset(
    {"start_time", "end_time", "bucket_width", "limit", "page", "group_by", "concurrency"}
)


def to_unix(value: object, param: str) -> int:
    """Unix seconds from an int or an aware datetime; naive datetimes are refused."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidParameterError(
                f"{param} is a naive datetime, which is ambiguous: give it a timezone "
                f"(e.g. datetime(..., tzinfo=timezone.utc)) or pass Unix seconds",
                param=param,
            )
        seconds = value.timestamp()
        if seconds != int(seconds):
            raise InvalidParameterError(
                f"{param} must be a whole second, got {value.isoformat()}", param=param
            )
        value = int(seconds)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(
            f"{param} must be Unix seconds (int) or an aware datetime, got {type(value).__name__}",
            param=param,
        )
    if value < 0:
        raise InvalidParameterError(f"{param} must not be negative, got {value}", param=param)
    return value


def strings(
    value: object, param: str, choices: tuple[str, ...] = (), what: str = "value"
) -> tuple[str, ...]:
    if isinstance(value, str):
        # A plain string is one value; comma lists only where values are fixed names (free
        # values such as cost line items contain commas: "gpt-4o, input").
        items: list[object] = [v.strip() for v in value.split(",")] if choices else [value]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise InvalidParameterError(
            f"{param} must be a list of strings, got {type(value).__name__}", param=param
        )
    if not items:
        raise InvalidParameterError(
            f"{param} is empty; pass None (or leave it out) for no {param} at all",
            param=param,
        )
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not item:
            raise InvalidParameterError(
                f"{param} must hold non-empty strings, got {item!r}", param=param
            )
        if choices and item not in choices:
            raise InvalidParameterError(
                f"{param}: unknown {what} {item!r}; expected one of {', '.join(choices)}",
                param=param,
            )
        seen.setdefault(item)
    return tuple(seen)


def positive_int(value: object, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(
            f"{param} must be an int, got {type(value).__name__}", param=param
        )
    if value < 1:
        raise InvalidParameterError(f"{param} must be at least 1, got {value}", param=param)
    return value


def _page_size(value: object, maximum: int, where: str) -> int | None:
    """``limit``, when given: an int from 1 to ``maximum`` (what a page of ``where`` holds)."""
    if value is None:
        return None
    limit = positive_int(value, "limit")
    if limit > maximum:
        raise InvalidParameterError(
            f"limit must be between 1 and {maximum} for {where}, got {limit}", param="limit"
        )
    return limit


def _cursor(value: object, param: str, what: str) -> str | None:
    """A cursor parameter (``page``, ``after``), when given: a non-empty string."""
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidParameterError(f"{param} must be a non-empty {what} string", param=param)
    return value


def _given(method: str, params: Mapping[str, object], allowed: Set[str]) -> dict[str, object]:
    """The parameters that are set (``None`` means unset), after refusing unknown names."""
    for name in params:
        if name not in allowed:
            raise InvalidParameterError(
                f"{method}() got an unexpected parameter {name!r}; it takes "
                f"{', '.join(sorted(allowed))}",
                param=name,
            )
    return {k: v for k, v in params.items() if v is not None}


def validate(endpoint: Endpoint, params: Mapping[str, object]) -> Query:
    """Check the keyword arguments of an endpoint call and build its ``Query``.

    Raises ``InvalidParameterError`` naming the first bad parameter. ``None`` means unset.
    """
    given = _given(endpoint.name, params, _COMMON | set(endpoint.filter_names))
    if "start_time" not in given:
        raise InvalidParameterError(f"{endpoint.name}() needs start_time", param="start_time")
    start = to_unix(given["start_time"], "start_time")
    end = to_unix(given["end_time"], "end_time") if "end_time" in given else None
    if end is not None and end <= start:
        raise InvalidParameterError(
            f"end_time ({end}) must be after start_time ({start})", param="end_time"
        )

    width = given.get("bucket_width")
    if width is not None and width not in endpoint.bucket_widths:
        raise InvalidParameterError(
            f"{endpoint.name} does not take bucket_width={width!r}; "
            f"it takes {', '.join(endpoint.bucket_widths)}",
            param="bucket_width",
        )
    limit = _page_size(
        given.get("limit"),
        endpoint.page_limit(width).maximum,
        f"{endpoint.name} with bucket_width={width or endpoint.default_width!r}",
    )
    page = _cursor(given.get("page"), "page", "cursor")
    concurrency = given.get("concurrency")
    if concurrency is not None:
        concurrency = positive_int(concurrency, "concurrency")

    group_by: tuple[str, ...] = ()
    if "group_by" in given:
        group_by = strings(given["group_by"], "group_by", endpoint.group_by, what="field")

    filters = _filters(endpoint.filters, given)

    return Query(
        endpoint=endpoint,
        start_time=start,
        end_time=end,
        bucket_width=width,
        limit=limit,
        page=page,
        group_by=group_by,
        filters=filters,
        concurrency=concurrency,
    )


def _filters(specs: tuple[Filter, ...], given: Mapping[str, object]) -> Filters:
    out: list[tuple[str, tuple[str, ...] | bool | str]] = []
    for spec in specs:
        if spec.name not in given:
            continue
        value = given[spec.name]
        if spec.kind == "bool":
            if not isinstance(value, bool):
                raise InvalidParameterError(
                    f"{spec.name} must be True or False, got {value!r}", param=spec.name
                )
            out.append((spec.name, value))
        elif spec.kind == "one":
            values = strings(value, spec.name, spec.choices)
            if len(values) != 1:
                raise InvalidParameterError(f"{spec.name} takes one value", param=spec.name)
            out.append((spec.name, values[0]))
        else:
            out.append((spec.name, strings(value, spec.name, spec.choices)))
    return tuple(out)


def _filter_params(filters: Filters) -> list[tuple[str, str]]:
    """Validated filters on the wire: booleans as ``true``/``false``, one value as
    ``name=value``, arrays as ``name[]``."""
    out: list[tuple[str, str]] = []
    for name, value in filters:
        if isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif isinstance(value, str):
            out.append((name, value))
        else:
            out.extend((f"{name}[]", v) for v in value)
    return out


def _filter_kwargs(filters: Filters) -> dict[str, Any]:
    """Validated filters as the keyword arguments that validate back into them."""
    return {
        name: value if isinstance(value, bool | str) else list(value) for name, value in filters
    }


@attrs.frozen
class ListQuery:
    """A validated request for one list of the directory; ``params(after)`` gives the wire."""

    endpoint: ListEndpoint
    path_params: tuple[tuple[str, str], ...] = ()
    limit: int | None = None
    after: str | None = None
    filters: Filters = ()

    @property
    def path(self) -> str:
        """The path with its parameters filled in (each quoted: an id cannot add a segment)."""
        path = self.endpoint.path
        for name, value in self.path_params:
            path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
        return path

    def params(self, after: str | None = None) -> list[tuple[str, str]]:
        out = [] if self.limit is None else [("limit", str(self.limit))]
        out.extend(_filter_params(self.filters))
        if after is not None:
            out.append(("after", after))
        return out

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments that validate back into this query."""
        out: dict[str, Any] = dict(self.path_params)
        if self.limit is not None:
            out["limit"] = self.limit
        if self.after is not None:
            out["after"] = self.after
        out.update(_filter_kwargs(self.filters))
        return out


def validate_list(endpoint: ListEndpoint, params: Mapping[str, object]) -> ListQuery:
    """Check the keyword arguments of a directory list call and build its ``ListQuery``."""
    allowed = {"limit", "after", *endpoint.path_params, *(f.name for f in endpoint.filters)}
    given = _given(endpoint.name, params, allowed)
    path_params = []
    for name in endpoint.path_params:
        value = given.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidParameterError(
                f"{endpoint.name}() needs {name} as a non-empty string, got {value!r}", param=name
            )
        path_params.append((name, value))
    limit = _page_size(given.get("limit"), endpoint.limit.maximum, endpoint.name)
    after = _cursor(given.get("after"), "after", "id")
    filters = _filters(endpoint.filters, given)
    return ListQuery(
        endpoint=endpoint,
        path_params=tuple(path_params),
        limit=limit,
        after=after,
        filters=filters,
    )


# --- Responses ---------------------------------------------------------------------------------

_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the server asks for, from ``retry-after-ms`` or ``retry-after``.

    ``retry-after`` may be seconds or an HTTP date (compared with ``now``, Unix seconds).
    Returns ``None`` when neither header is present or parseable; never a negative number.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            pass
        else:
            if value == value and value != float("inf"):  # not NaN/inf
                return max(value, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        when = _http_date(raw)
        return None if when is None else max(when - now, 0.0)
    if value != value or value == float("inf"):
        return None
    return max(value, 0.0)


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    """The server's explicit ``x-should-retry`` verdict, if it gave one."""
    value = headers.get("x-should-retry", "").strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def error_from_response(response: Response, now: float) -> APIStatusError:
    """The typed error for a non-2xx response, with the fields of the API's error envelope.

    A body that is not the envelope (an HTML page from a proxy, say) still gives a useful
    message: its first characters, with the status.
    """
    message, type_, param, code = _error_envelope(response.body)
    status = response.status
    if message is None:
        message = _describe_body(response)
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    return cls(
        message,
        status_code=status,
        type=type_,
        param=param,
        code=code,
        request_id=response.request_id,
        retry_after=retry_after_seconds(response.headers, now),
        should_retry=should_retry_header(response.headers),
    )


def _error_envelope(body: bytes) -> tuple[str | None, str | None, str | None, str | None]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None, None, None
    err = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(err, dict):
        return None, None, None, None

    def text(key: str) -> str | None:
        value = err.get(key)
        return value if isinstance(value, str) else None if value is None else str(value)

    return text("message"), text("type"), text("param"), text("code")


def _describe_body(response: Response) -> str:
    snippet = response.body[:200].decode("utf-8", "replace").strip()
    snippet = " ".join(snippet.split())
    kind = response.headers.get("content-type", "unknown content type")
    if not snippet:
        return "(empty body)"
    return f"a body that is not the API's error JSON ({kind}): {snippet!r}"


# --- Cursors and the range contract -------------------------------------------------------------

# An open range is planned to the server's clock; without one, to ours plus this much slack.
OPEN_RANGE_SLACK = DAY


def page_budget(start: int, end: int, width_seconds: int) -> int:
    """The most requests a walk of ``[start, end)`` may take before the server is not trusted.

    Every page but the last brings at least one new bucket, and the range holds at most
    ``ceil((end - start) / width) + 1`` buckets (one more when the server floors the start to
    its grid); one request more covers a last, empty page.
    """
    return max(0, -(-(end - start) // width_seconds)) + 3


class RangeGuard:
    """Holds the buckets a stream yields to its range: ``[start, end)``, in order, once.

    ``admit(buckets)`` returns the buckets to yield and whether the range is complete. A
    bucket that starts at or after ``end`` completes the range and is not yielded (a server
    whose clock runs ahead, or an ``end_time`` left out of the request, can send such
    buckets). A bucket that ends before it starts, ends at or before ``start``, or starts
    before the previous one ended raises ``PaginationError``: the server broke the contract
    and going on would yield overlapping or out-of-order data.
    """

    __slots__ = ("_end", "_last_end", "_start")

    def __init__(self, start: int, end: int | None) -> None:
        self._start = start
        self._end = end
        self._last_end: int | None = None

    def admit(self, buckets: Sequence[Any], request_id: str | None) -> tuple[list[Any], bool]:
        out: list[Any] = []
        end = self._end
        for bucket in buckets:
            start_time, end_time = bucket.start_time, bucket.end_time
            if end_time <= start_time:
                raise self._broken(bucket, "ends before it starts", request_id)
            if end is not None and start_time >= end:
                return out, True
            if end_time <= self._start:
                raise self._broken(
                    bucket, f"lies before the requested start_time {self._start}", request_id
                )
            if self._last_end is not None and start_time < self._last_end:
                raise self._broken(
                    bucket,
                    f"overlaps or precedes the previous bucket, which ended at "
                    f"{self._last_end}; the server's buckets are out of order",
                    request_id,
                )
            out.append(bucket)
            self._last_end = end_time
            if end is not None and end_time >= end:
                return out, True  # the last bucket of the range: nothing more to fetch
        return out, False

    @staticmethod
    def _broken(bucket: Any, what: str, request_id: str | None) -> PaginationError:
        return PaginationError(
            f"bucket [{bucket.start_time}, {bucket.end_time}) {what}", request_id=request_id
        )


class CursorGuard:
    """Follows ``next_page`` cursors and refuses the two ways a server could mislead us.

    ``has_more`` with no cursor would stop silently short; a repeated cursor would loop for
    ever. Both raise ``PaginationError``. An empty page with ``has_more`` simply continues.
    """

    __slots__ = ("_seen",)

    def __init__(self, first: str | None = None) -> None:
        self._seen: set[str] = {first} if first else set()

    def advance(self, has_more: bool, next_page: str | None, request_id: str | None) -> str | None:
        """The cursor to fetch next, or ``None`` when the range is complete."""
        if not has_more:
            return None
        if not next_page:
            raise PaginationError(
                "the API said has_more=true but sent no next_page cursor; "
                "stopping here would silently drop the rest of the range",
                request_id=request_id,
            )
        if next_page in self._seen:
            raise PaginationError(
                f"the API sent cursor {next_page!r} a second time; following it would loop",
                request_id=request_id,
            )
        self._seen.add(next_page)
        return next_page
