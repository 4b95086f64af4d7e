"""Typed, slotted attrs models for pages, buckets and the twelve result objects.

Field names are the wire names. Required fields come first; everything the API may omit
defaults to ``None``. Grouping fields (``project_id``, ``model``, ...) are ``None`` unless that
dimension was requested in ``group_by``. Each result class carries its wire ``object`` tag as a
class variable. These classes do not import cattrs: decoding lives in ``_convert``.

Core layer: imports the standard library and attrs only.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

import attrs

__all__ = [
    "Amount",
    "AudioSpeechesResult",
    "AudioTranscriptionsResult",
    "Bucket",
    "CodeInterpreterSessionsResult",
    "CompletionsResult",
    "CostsResult",
    "DecisionsResult",
    "EmbeddingsResult",
    "FileSearchesResult",
    "ImagesResult",
    "KeyOwner",
    "ModerationsResult",
    "Page",
    "Project",
    "ProjectApiKey",
    "Result",
    "ServiceAccount",
    "UnknownResult",
    "User",
    "VectorStoresResult",
    "WebSearchesResult",
]

# Results are decoded by the hundred thousand, so construction cost matters: a frozen attrs
# class sets every field through ``object.__setattr__`` (about 3x the cost of a plain slotted
# class for a 24-field result); benchmarks/RESULTS.md records the measurement behind choosing
# ``attrs.define`` (slotted, mutable, compared by value, not hashable) for every model.


@attrs.define
class _TokenUsage:
    input_tokens: int
    output_tokens: int
    num_model_requests: int
    input_cached_tokens: int | None = None
    input_cache_write_tokens: int | None = None
    input_cache_write_30m_tokens: int | None = None
    input_cache_write_12h_tokens: int | None = None
    input_uncached_tokens: int | None = None
    input_text_tokens: int | None = None
    input_cached_text_tokens: int | None = None
    input_audio_tokens: int | None = None
    input_cached_audio_tokens: int | None = None
    input_image_tokens: int | None = None
    input_cached_image_tokens: int | None = None
    output_text_tokens: int | None = None
    output_audio_tokens: int | None = None
    output_image_tokens: int | None = None
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    batch: bool | None = None
    service_tier: str | None = None
    api_source: str | None = None


@attrs.define
class CompletionsResult(_TokenUsage):
    """Aggregated completions usage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.completions.result"


@attrs.define
class DecisionsResult(_TokenUsage):
    """Aggregated decisions usage of one group in one bucket (same fields as completions)."""

    object: ClassVar[str] = "organization.usage.decisions.result"


@attrs.define
class EmbeddingsResult:
    """Aggregated embeddings usage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.embeddings.result"
    input_tokens: int
    num_model_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None


@attrs.define
class ModerationsResult:
    """Aggregated moderations usage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.moderations.result"
    input_tokens: int
    num_model_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None


@attrs.define
class ImagesResult:
    """Aggregated image usage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.images.result"
    images: int
    num_model_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    size: str | None = None
    source: str | None = None


@attrs.define
class AudioSpeechesResult:
    """Aggregated text-to-speech usage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.audio_speeches.result"
    characters: int
    num_model_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None


@attrs.define
class AudioTranscriptionsResult:
    """Aggregated transcription usage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.audio_transcriptions.result"
    seconds: int
    num_model_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None


@attrs.define
class VectorStoresResult:
    """Vector store storage of one group in one bucket."""

    object: ClassVar[str] = "organization.usage.vector_stores.result"
    usage_bytes: int
    project_id: str | None = None


@attrs.define
class CodeInterpreterSessionsResult:
    """Code interpreter sessions of one group in one bucket (``sessions`` on older wires)."""

    object: ClassVar[str] = "organization.usage.code_interpreter_sessions.result"
    num_sessions: int
    project_id: str | None = None


@attrs.define
class FileSearchesResult:
    """File search calls of one group in one bucket (endpoint ``file_search_calls``)."""

    object: ClassVar[str] = "organization.usage.file_searches.result"
    num_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    vector_store_id: str | None = None


@attrs.define
class WebSearchesResult:
    """Web search calls of one group in one bucket (endpoint ``web_search_calls``)."""

    object: ClassVar[str] = "organization.usage.web_searches.result"
    num_requests: int
    num_model_requests: int
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    context_level: str | None = None
    api_source: str | None = None


@attrs.define
class Amount:
    """A money amount: an exact ``Decimal`` in dollars (not cents), and its currency."""

    value: Decimal
    currency: str


@attrs.define
class CostsResult:
    """Cost of one group in one daily bucket.

    ``amount`` is always there: the wire makes it optional, but a cost without an amount
    cannot be summed or billed, so such a result is kept in ``Bucket.unknown`` instead (with
    the reason), never turned into a zero. ``quantity`` is an exact ``Decimal``.
    ``organization_id``, ``organization_name``, ``project_name`` and ``user_email`` are extra
    fields the live API sometimes sends.
    """

    object: ClassVar[str] = "organization.costs.result"
    amount: Amount
    line_item: str | None = None
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    api_source: str | None = None
    quantity: Decimal | None = None
    quantity_unit: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    project_name: str | None = None
    user_email: str | None = None


@attrs.define
class UnknownResult:
    """A result this library could not type, kept raw rather than dropped.

    ``reason`` says why: an ``object`` this version does not know, a result of another
    endpoint's type, or a cost without an amount.
    """

    object: str
    raw: Mapping[str, Any] = attrs.field(repr=False)
    reason: str = "unknown object type"


Result = (
    CompletionsResult
    | DecisionsResult
    | EmbeddingsResult
    | ModerationsResult
    | ImagesResult
    | AudioSpeechesResult
    | AudioTranscriptionsResult
    | VectorStoresResult
    | CodeInterpreterSessionsResult
    | FileSearchesResult
    | WebSearchesResult
    | CostsResult
)

R = TypeVar("R")


@attrs.define
class Bucket(Generic[R]):
    """One time bucket: ``[start_time, end_time)`` in Unix seconds and its results.

    ``results`` holds one entry per distinct combination of grouped values, all of the
    endpoint's result type; it is empty for a bucket with no usage. ``unknown`` keeps what the
    API sent that could not be typed (see ``UnknownResult``), so nothing is silently dropped.
    """

    start_time: int
    end_time: int
    results: tuple[R, ...]
    unknown: tuple[UnknownResult, ...] = ()

    @property
    def start(self) -> _dt.datetime:
        """``start_time`` as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self.start_time, _dt.UTC)

    @property
    def end(self) -> _dt.datetime:
        """``end_time`` as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self.end_time, _dt.UTC)


@attrs.define
class Page(Generic[R]):
    """One response page: its buckets, and the cursor to the next page (``None`` on the last).

    ``request_id`` is the server's ``x-request-id`` for the response and ``server_time`` its
    clock when it answered (the ``Date`` header, Unix seconds); neither is compared by ``==``.
    """

    data: tuple[Bucket[R], ...]
    has_more: bool
    next_page: str | None
    request_id: str | None = attrs.field(default=None, eq=False)
    server_time: int | None = attrs.field(default=None, eq=False)


# --- The organization directory ---------------------------------------------------------------
# The admin API's lists that turn IDs into names. Field names are the wire names (the official
# SDK's ``openai.types.admin.organization`` types); fields the API may leave out are optional.


@attrs.define
class Project:
    """A project of the organization (``status`` is ``active`` or ``archived``)."""

    object: ClassVar[str] = "organization.project"
    id: str
    created_at: int
    name: str | None = None
    status: str | None = None
    archived_at: int | None = None


@attrs.define
class User:
    """A member of the organization (``role`` is ``owner`` or ``reader``)."""

    object: ClassVar[str] = "organization.user"
    id: str
    added_at: int
    email: str | None = None
    name: str | None = None
    role: str | None = None


@attrs.define
class KeyOwner:
    """Who owns a project API key: a user (with an email) or a service account."""

    type: str
    id: str | None = None
    name: str | None = None
    email: str | None = None
    role: str | None = None


@attrs.define
class ProjectApiKey:
    """An API key of a project; ``project_id`` is the project it was listed under.

    ``owner_project_access`` is ``active`` while the owner can use the project, ``inactive``
    once they lost access (the key still exists, and may still carry usage)."""

    object: ClassVar[str] = "organization.project.api_key"
    id: str
    created_at: int
    name: str | None = None
    redacted_value: str | None = None
    last_used_at: int | None = None
    owner: KeyOwner | None = None
    owner_project_access: str | None = None
    project_id: str | None = None


@attrs.define
class ServiceAccount:
    """A project's service account; ``project_id`` is the project it was listed under."""

    object: ClassVar[str] = "organization.project.service_account"
    id: str
    created_at: int
    name: str | None = None
    role: str | None = None
    project_id: str | None = None
