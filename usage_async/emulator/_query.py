"""Reading and checking a request's query string against ``ENDPOINTS``, as the live API does.

Arrays arrive as ``name[]=v`` (what the official SDK and this library send), repeated
``name=v``, or comma-joined ``name=a,b``; all three are accepted and mean the same. A
``name[]`` value is one element, taken whole; only the bare ``name=`` form is split on commas,
and never for ``line_items``, whose values themselves contain commas (``gpt-4o, input``).
Booleans are ``true`` / ``false``. Everything wrong is a ``WireError`` (HTTP 400 with the parameter
named), including parameters the endpoint does not have: the emulator rejects unknown query
parameters rather than ignoring them, so a typo in a client shows up in its tests.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import attrs
import orjson

from .._endpoints import BUCKET_SECONDS, Endpoint, PageLimit
from .._time import utc_day

__all__ = [
    "PageRequest",
    "QueryPairs",
    "WireError",
    "choose",
    "parse_boolean",
    "parse_limit",
    "parse_query",
    "shown",
]

_SCALARS = ("start_time", "end_time", "bucket_width", "limit", "page")
_MAX_ITEMS = 1000
_MAX_TIME = 2**62
# Filters whose values may contain commas: never split.
_WHOLE_VALUES = frozenset({"line_items"})


class WireError(Exception):
    """A request the API refuses: becomes the error envelope with this status."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.type = type
        self.headers = headers or {}


def shown(value: str) -> str:
    """A client-supplied value, shortened for an error message."""
    return value if len(value) <= 64 else value[:61] + "..."


@attrs.frozen
class PageRequest:
    """A checked request: the query (canonical order, no duplicates) and its cursor."""

    endpoint: Endpoint
    start_time: int
    end_time: int | None
    width: str
    limit: int
    group_by: tuple[str, ...]
    filters: tuple[tuple[str, tuple[str, ...] | bool], ...]
    page: str | None

    @property
    def width_seconds(self) -> int:
        return BUCKET_SECONDS[self.width]

    @property
    def origin(self) -> int:
        """Where the first bucket starts: ``start_time``, floored to midnight for costs."""
        return self.endpoint.bucket_origin(self.start_time)

    def digest(self) -> bytes:
        """A digest of everything but the cursor: what a cursor is bound to."""
        canonical = [
            self.endpoint.name,
            self.start_time,
            self.end_time,
            self.width,
            self.limit,
            list(self.group_by),
            [
                [name, value if isinstance(value, bool) else list(value)]
                for name, value in self.filters
            ],
        ]
        return hashlib.sha256(orjson.dumps(canonical)).digest()[:16]


def _integer(name: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) >= _MAX_TIME:
        raise WireError(
            f"Invalid value for '{name}': {shown(raw)!r}. Expected a Unix timestamp in seconds "
            f"(a non-negative integer).",
            param=name,
        )
    return int(raw)


def parse_limit(raw: str | None, page_limit: PageLimit) -> int:
    """A page size: ``1..page_limit.maximum``, ``page_limit.default`` when not given."""
    if raw is None:
        return page_limit.default
    stripped = raw[1:] if raw.startswith("-") else raw
    if not stripped.isascii() or not stripped.isdigit() or len(stripped) > 12:
        raise WireError(
            f"Invalid limit provided: {shown(raw)!r}. Limit must be an integer.", param="limit"
        )
    limit = int(raw)
    if limit < 1:
        raise WireError(
            f"Invalid limit provided: {limit}. Limit must be greater than or equal to 1.",
            param="limit",
        )
    if limit > page_limit.maximum:
        raise WireError(
            f"Invalid limit provided: {limit}. Limit must be less than or equal to "
            f"{page_limit.maximum}.",
            param="limit",
        )
    return limit


def choose(name: str, values: list[str], choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Unique values in a canonical order: ``choices`` order if there are choices, else sorted."""
    for value in values:
        if choices and value not in choices:
            raise WireError(
                f"Invalid {what} {shown(value)!r} for '{name}'. Supported values: "
                f"{', '.join(choices)}.",
                param=name,
            )
    if choices:
        return tuple(c for c in choices if c in values)
    return tuple(sorted(set(values)))


def parse_boolean(name: str, raw: str) -> bool:
    """``true`` or ``false``, in any case."""
    if raw.lower() not in ("true", "false"):
        raise WireError(
            f"Invalid value for '{name}': {shown(raw)!r}. Expected true or false.", param=name
        )
    return raw.lower() == "true"


class QueryPairs:
    """The pairs of one query string, checked against the parameters a path accepts.

    Unknown names are refused at once; ``scalar`` and ``array`` read the rest, each raising
    ``WireError`` for a scalar given twice or an empty array element.
    """

    def __init__(
        self,
        path: str,
        items: Iterable[tuple[str, str]],
        *,
        arrays: Iterable[str],
        scalars: Iterable[str],
    ) -> None:
        arrays, scalars = set(arrays), set(scalars)
        self._given: dict[str, list[str]] = {}
        self._elements: dict[str, list[str]] = {}
        for count, (raw_name, value) in enumerate(items):
            if count >= _MAX_ITEMS:
                raise WireError(f"Too many query parameters (more than {_MAX_ITEMS}).")
            name = raw_name.removesuffix("[]")
            if name not in arrays and name not in scalars:
                raise WireError(
                    f"Unrecognized query parameter: {shown(raw_name)!r}. {path} accepts "
                    f"{', '.join(sorted(arrays | scalars))}.",
                    param=shown(raw_name),
                )
            self._given.setdefault(name, []).append(value)
            if raw_name.endswith("[]") or name in _WHOLE_VALUES:
                self._elements.setdefault(name, []).append(value)
            else:
                self._elements.setdefault(name, []).extend(value.split(","))

    def __contains__(self, name: str) -> bool:
        return name in self._given

    def scalar(self, name: str) -> str | None:
        values = self._given.get(name)
        if values is None:
            return None
        if len(values) > 1:
            raise WireError(f"Parameter '{name}' was given more than once.", param=name)
        return values[0]

    def array(self, name: str) -> list[str]:
        out = [item.strip() for item in self._elements.get(name, [])]
        if "" in out:
            raise WireError(f"Empty value in '{name}'.", param=name)
        return out


def parse_query(endpoint: Endpoint, items: Iterable[tuple[str, str]]) -> PageRequest:
    """Check the query pairs of a request to ``endpoint``; raises ``WireError``."""
    pairs = QueryPairs(
        endpoint.path,
        items,
        arrays={"group_by"} | {f.name for f in endpoint.filters if f.kind == "strings"},
        scalars=set(_SCALARS) | {f.name for f in endpoint.filters if f.kind == "bool"},
    )
    scalar, array = pairs.scalar, pairs.array

    start, end = _time_range(pairs)
    raw_width = scalar("bucket_width")
    width = endpoint.default_width if raw_width is None else raw_width
    if width not in endpoint.bucket_widths:
        raise WireError(
            f"Invalid bucket_width {shown(width)!r}. Supported values: "
            f"{', '.join(endpoint.bucket_widths)}.",
            param="bucket_width",
        )
    limit = parse_limit(scalar("limit"), endpoint.page_limit(width))
    group_by = choose("group_by", array("group_by"), endpoint.group_by, "field")
    for field, since in endpoint.group_by_since.items():
        if field in group_by and endpoint.bucket_origin(start) < since:
            raise WireError(
                f"Grouping {endpoint.name} by {field} is only supported for time ranges "
                f"starting on or after {utc_day(since)}.",
                param="group_by",
            )
    return PageRequest(
        endpoint=endpoint,
        start_time=start,
        end_time=end,
        width=width,
        limit=limit,
        group_by=group_by,
        filters=_filters(endpoint, pairs),
        page=scalar("page"),
    )


def _time_range(pairs: QueryPairs) -> tuple[int, int | None]:
    """``start_time`` (required) and ``end_time``, which must come after it."""
    raw_start = pairs.scalar("start_time")
    if raw_start is None:
        raise WireError("Missing required parameter: 'start_time'.", param="start_time")
    start = _integer("start_time", raw_start)
    raw_end = pairs.scalar("end_time")
    end = None if raw_end is None else _integer("end_time", raw_end)
    if end is not None and end <= start:
        raise WireError(
            f"Invalid time range: end_time ({end}) must be greater than start_time ({start}).",
            param="end_time",
        )
    return start, end


def _filters(
    endpoint: Endpoint, pairs: QueryPairs
) -> tuple[tuple[str, tuple[str, ...] | bool], ...]:
    """The endpoint's filters the request gives, in the table's order, each checked."""
    filters: list[tuple[str, tuple[str, ...] | bool]] = []
    for spec in endpoint.filters:
        if spec.kind == "bool":
            raw = pairs.scalar(spec.name)
            if raw is not None:
                filters.append((spec.name, parse_boolean(spec.name, raw)))
        elif spec.name in pairs:
            values = choose(spec.name, pairs.array(spec.name), spec.choices, "value")
            filters.append((spec.name, values))
    return tuple(filters)
