"""The one table of the twelve endpoints, and the typed parameters of each.

``ENDPOINTS`` drives everything that differs between endpoints: the client's methods,
parameter validation, query encoding, the emulator, the CLI and the row helpers. Adding an
endpoint is one ``Endpoint(...)`` row here, one ``*Params`` TypedDict (for editors and type
checkers; a test keeps the two in step) and a one-line method on the client.
``LIST_ENDPOINTS`` does the same for the organization directory's lists.

Core layer: imports the standard library, attrs and ``_models`` only.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Literal, Required, TypedDict

import attrs

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
    Project,
    ProjectApiKey,
    Result,
    ServiceAccount,
    User,
    VectorStoresResult,
    WebSearchesResult,
)
from ._time import DAY, HOUR, MINUTE, floor_to

__all__ = [
    "BUCKET_SECONDS",
    "COSTS_API_KEY_GROUPING_SINCE",
    "ENDPOINTS",
    "LIST_ENDPOINTS",
    "BucketWidth",
    "Endpoint",
    "Filter",
    "ListEndpoint",
    "PageLimit",
    "REVISION_WINDOW",
]

BucketWidth = Literal["1m", "1h", "1d"]

BUCKET_SECONDS: Mapping[str, int] = {"1m": MINUTE, "1h": HOUR, "1d": DAY}


@attrs.frozen
class PageLimit:
    """How many buckets a page may hold (``1..maximum``) and how many it holds by default."""

    default: int
    maximum: int


@attrs.frozen
class Filter:
    """A filter parameter: a list of strings (optionally from fixed ``choices``), a bool, or
    ``one`` string from ``choices`` (sent as ``name=value``, not as the array ``name[]``)."""

    name: str
    kind: Literal["strings", "bool", "one"] = "strings"
    choices: tuple[str, ...] = ()


@attrs.frozen
class Endpoint:
    """One endpoint of the API: where it lives, what it returns and what it accepts."""

    name: str
    path: str
    result_type: type[Result]
    filters: tuple[Filter, ...]
    group_by: tuple[str, ...]
    limits: Mapping[str, PageLimit]
    # One line for people: the client method's docstring opens with it and the command
    # line's help shows it, without importing the client (a test keeps the two equal).
    summary: str
    default_width: str = "1d"
    # Costs buckets are whole UTC days: the API floors start_time to midnight.
    whole_days: bool = False
    # Metrics that measure a level (bytes stored) rather than a flow: summing them across
    # buckets means nothing, so totals keep the latest bucket's value instead.
    level_metrics: tuple[str, ...] = ()
    # Grouping fields the API accepts only for ranges starting on or after a time (Unix
    # seconds): it answers 400 for earlier ones. Readers split a range there.
    group_by_since: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def result_object(self) -> str:
        """The wire ``object`` of this endpoint's results."""
        return self.result_type.object

    @property
    def bucket_widths(self) -> tuple[str, ...]:
        return tuple(self.limits)

    @property
    def filter_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.filters)

    def page_limit(self, width: str | None) -> PageLimit:
        return self.limits[width or self.default_width]

    def bucket_origin(self, start_time: int) -> int:
        """Where the first bucket of a range starts: ``start_time`` itself for usage, UTC
        midnight of its day for costs (the API floors it)."""
        if self.whole_days:
            return floor_to(start_time, DAY)
        return start_time


COSTS_API_KEY_GROUPING_SINCE = 1_764_979_200
"""2025-12-06T00:00:00Z: the API refuses costs grouped by ``api_key_id`` for ranges that start
earlier (HTTP 400)."""

REVISION_WINDOW = 2 * DAY
"""How long the API keeps revising a bucket after it ends (late usage, costs): younger
buckets are provisional. The sync's default settle window and the reports' "provisional"
marking both use it."""

_USAGE_LIMITS = {
    "1d": PageLimit(default=7, maximum=31),
    "1h": PageLimit(default=24, maximum=168),
    "1m": PageLimit(default=60, maximum=1440),
}
_COSTS_LIMITS = {"1d": PageLimit(default=7, maximum=180)}

_PROJECTS = Filter("project_ids")
_USERS = Filter("user_ids")
_KEYS = Filter("api_key_ids")
_MODELS = Filter("models")
_MODEL_FILTERS = (_PROJECTS, _USERS, _KEYS, _MODELS)
_MODEL_GROUPS = ("project_id", "user_id", "api_key_id", "model")
_TOKEN_GROUPS = (*_MODEL_GROUPS, "batch", "service_tier", "api_source")

IMAGE_SOURCES = ("image.generation", "image.edit", "image.variation")
IMAGE_SIZES = ("256x256", "512x512", "1024x1024", "1792x1792", "1024x1792")
CONTEXT_LEVELS = ("low", "medium", "high")


def _usage(
    name: str,
    result_type: type[Result],
    filters: tuple[Filter, ...],
    group_by: tuple[str, ...],
    summary: str,
    level_metrics: tuple[str, ...] = (),
) -> Endpoint:
    return Endpoint(
        name=name,
        path=f"/organization/usage/{name}",
        result_type=result_type,
        filters=filters,
        group_by=group_by,
        limits=_USAGE_LIMITS,
        summary=summary,
        level_metrics=level_metrics,
    )


_ALL = (
    _usage(
        "audio_speeches",
        AudioSpeechesResult,
        _MODEL_FILTERS,
        _MODEL_GROUPS,
        summary="Text-to-speech usage (characters, requests) per bucket.",
    ),
    _usage(
        "audio_transcriptions",
        AudioTranscriptionsResult,
        _MODEL_FILTERS,
        _MODEL_GROUPS,
        summary="Transcription usage (seconds, requests) per bucket.",
    ),
    _usage(
        "code_interpreter_sessions",
        CodeInterpreterSessionsResult,
        (_PROJECTS,),
        ("project_id",),
        summary="Code interpreter sessions per bucket.",
    ),
    _usage(
        "completions",
        CompletionsResult,
        (*_MODEL_FILTERS, Filter("batch", "bool")),
        _TOKEN_GROUPS,
        summary="Completions usage (tokens, requests) per bucket.",
    ),
    Endpoint(
        name="costs",
        path="/organization/costs",
        result_type=CostsResult,
        filters=(_PROJECTS, _KEYS, Filter("line_items")),
        group_by=("project_id", "user_id", "line_item", "api_key_id", "api_source"),
        limits=_COSTS_LIMITS,
        summary="Costs per daily bucket (``amount`` as an exact ``Decimal``).",
        whole_days=True,
        group_by_since={"api_key_id": COSTS_API_KEY_GROUPING_SINCE},
    ),
    _usage(
        "decisions",
        DecisionsResult,
        (*_MODEL_FILTERS, Filter("batch", "bool")),
        _TOKEN_GROUPS,
        summary="Decisions usage (tokens, requests) per bucket.",
    ),
    _usage(
        "embeddings",
        EmbeddingsResult,
        _MODEL_FILTERS,
        _MODEL_GROUPS,
        summary="Embeddings usage (tokens, requests) per bucket.",
    ),
    _usage(
        "file_search_calls",
        FileSearchesResult,
        (_PROJECTS, _USERS, _KEYS, Filter("vector_store_ids")),
        ("project_id", "user_id", "api_key_id", "vector_store_id"),
        summary="File search calls per bucket.",
    ),
    _usage(
        "images",
        ImagesResult,
        (
            *_MODEL_FILTERS,
            Filter("sources", choices=IMAGE_SOURCES),
            Filter("sizes", choices=IMAGE_SIZES),
        ),
        (*_MODEL_GROUPS, "size", "source"),
        summary="Image usage (images, requests) per bucket.",
    ),
    _usage(
        "moderations",
        ModerationsResult,
        _MODEL_FILTERS,
        _MODEL_GROUPS,
        summary="Moderations usage (tokens, requests) per bucket.",
    ),
    _usage(
        "vector_stores",
        VectorStoresResult,
        (_PROJECTS,),
        ("project_id",),
        summary="Vector store storage (bytes) per bucket.",
        level_metrics=("usage_bytes",),
    ),
    _usage(
        "web_search_calls",
        WebSearchesResult,
        (*_MODEL_FILTERS, Filter("context_levels", choices=CONTEXT_LEVELS)),
        (*_MODEL_GROUPS, "context_level", "api_source"),
        summary="Web search calls per bucket.",
    ),
)

ENDPOINTS: Mapping[str, Endpoint] = {e.name: e for e in _ALL}
"""Every endpoint by its method name, in alphabetical order."""


@attrs.frozen
class ListEndpoint:
    """One list of the organization directory: ``after``/``last_id`` cursor paging.

    ``path`` may name a path parameter (``{project_id}``); ``filters`` are its query filters.
    """

    name: str
    path: str
    item_type: type
    filters: tuple[Filter, ...] = ()
    limit: PageLimit = PageLimit(default=20, maximum=100)

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))


LIST_ENDPOINTS: Mapping[str, ListEndpoint] = {
    e.name: e
    for e in (
        ListEndpoint(
            "projects", "/organization/projects", Project, (Filter("include_archived", "bool"),)
        ),
        ListEndpoint("users", "/organization/users", User, (Filter("emails"),)),
        ListEndpoint(
            "project_api_keys",
            "/organization/projects/{project_id}/api_keys",
            ProjectApiKey,
            (Filter("owner_project_access", "one", choices=("active", "inactive", "any")),),
        ),
        ListEndpoint(
            "project_service_accounts",
            "/organization/projects/{project_id}/service_accounts",
            ServiceAccount,
        ),
    )
}
"""The directory's lists by client method name: what turns IDs into names."""


# --- Typed parameters, for editors and type checkers -----------------------------------------
# Keep in step with ENDPOINTS (tests/test_endpoints.py checks it). A plain ``str`` is accepted
# wherever a list is: one value (``project_ids="proj_1"``), or a comma list where the values are
# fixed names (``group_by="model,project_id"``).

Time = int | _dt.datetime
Strings = Sequence[str] | str

CompletionsGroupBy = Literal[
    "project_id", "user_id", "api_key_id", "model", "batch", "service_tier", "api_source"
]
ModelGroupBy = Literal["project_id", "user_id", "api_key_id", "model"]
ImagesGroupBy = Literal["project_id", "user_id", "api_key_id", "model", "size", "source"]
ProjectGroupBy = Literal["project_id"]
FileSearchGroupBy = Literal["project_id", "user_id", "api_key_id", "vector_store_id"]
WebSearchGroupBy = Literal[
    "project_id", "user_id", "api_key_id", "model", "context_level", "api_source"
]
CostsGroupBy = Literal["project_id", "user_id", "line_item", "api_key_id", "api_source"]
ImageSource = Literal["image.generation", "image.edit", "image.variation"]
ImageSize = Literal["256x256", "512x512", "1024x1024", "1792x1792", "1024x1792"]
ContextLevel = Literal["low", "medium", "high"]


class _CommonParams(TypedDict, total=False):
    start_time: Required[Time]
    """Start of the range, inclusive: Unix seconds or an aware datetime."""
    end_time: Time | None
    """End of the range, exclusive. ``None``: up to now."""
    limit: int | None
    """Buckets per page (not results)."""
    page: str | None
    """Cursor to resume from: a previous stream's ``next_page``."""
    concurrency: int | None
    """Fetch up to this many one-page time windows at once; order is kept."""


class _UsageParams(_CommonParams, total=False):
    bucket_width: BucketWidth | None
    project_ids: Strings | None


class _ModelParams(_UsageParams, total=False):
    user_ids: Strings | None
    api_key_ids: Strings | None
    models: Strings | None


class CompletionsParams(_ModelParams, total=False):
    """Parameters of ``completions`` and ``decisions``."""

    group_by: Sequence[CompletionsGroupBy] | CompletionsGroupBy | None
    batch: bool | None


class ModelUsageParams(_ModelParams, total=False):
    """Parameters of embeddings, moderations, audio_speeches and audio_transcriptions."""

    group_by: Sequence[ModelGroupBy] | ModelGroupBy | None


class ImagesParams(_ModelParams, total=False):
    """Parameters of ``images``."""

    group_by: Sequence[ImagesGroupBy] | ImagesGroupBy | None
    sources: Sequence[ImageSource] | ImageSource | None
    sizes: Sequence[ImageSize] | ImageSize | None


class ProjectUsageParams(_UsageParams, total=False):
    """Parameters of ``vector_stores`` and ``code_interpreter_sessions``."""

    group_by: Sequence[ProjectGroupBy] | ProjectGroupBy | None


class FileSearchCallsParams(_UsageParams, total=False):
    """Parameters of ``file_search_calls``."""

    group_by: Sequence[FileSearchGroupBy] | FileSearchGroupBy | None
    user_ids: Strings | None
    api_key_ids: Strings | None
    vector_store_ids: Strings | None


class WebSearchCallsParams(_ModelParams, total=False):
    """Parameters of ``web_search_calls``."""

    group_by: Sequence[WebSearchGroupBy] | WebSearchGroupBy | None
    context_levels: Sequence[ContextLevel] | ContextLevel | None


class CostsParams(_CommonParams, total=False):
    """Parameters of ``costs`` (daily buckets only)."""

    bucket_width: Literal["1d"] | None
    group_by: Sequence[CostsGroupBy] | CostsGroupBy | None
    project_ids: Strings | None
    api_key_ids: Strings | None
    line_items: Strings | None


PARAMS_BY_ENDPOINT: Mapping[str, type] = {
    "audio_speeches": ModelUsageParams,
    "audio_transcriptions": ModelUsageParams,
    "code_interpreter_sessions": ProjectUsageParams,
    "completions": CompletionsParams,
    "costs": CostsParams,
    "decisions": CompletionsParams,
    "embeddings": ModelUsageParams,
    "file_search_calls": FileSearchCallsParams,
    "images": ImagesParams,
    "moderations": ModelUsageParams,
    "vector_stores": ProjectUsageParams,
    "web_search_calls": WebSearchCallsParams,
}
"""Which TypedDict types each endpoint's keyword arguments (checked against the table)."""
