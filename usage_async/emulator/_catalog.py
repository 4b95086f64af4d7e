"""The made-up organization the emulator reports on, and what each endpoint measures.

Everything here is fixed data, independent of the seed: the projects, users, API keys and
vector stores of the organization, the *workloads* of each usage endpoint (one atomic
combination of every dimension the endpoint can group by, with how busy it is and what an
average request of it consumes), how each endpoint's result fields derive from the measured
quantities, and the price list that turns usage into cost line items. The seed only decides
the numbers drawn from this description (``_data``).

IDs look like the live API's (``org-…``, ``proj_…``, ``user-…``, ``svc_acct_…``, ``key_…``,
``vs_…``) and never change, so tests can filter on them: ``ORGANIZATION.projects[0].id``.
The directory endpoints (``_directory``) list the same people and resources with their names.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from collections.abc import Mapping

import attrs

from .._endpoints import ENDPOINTS

__all__ = [
    "FILTER_DIMENSIONS",
    "METRICS",
    "ORGANIZATION",
    "ORG_CREATED",
    "PROFILES",
    "WORKLOADS",
    "ApiKey",
    "CostLine",
    "Metrics",
    "Organization",
    "Profile",
    "Project",
    "ServiceAccount",
    "User",
    "VectorStore",
    "Workload",
    "cost_lines",
]


def _utc(day: str) -> int:
    return int(_dt.datetime.fromisoformat(day).replace(tzinfo=_dt.UTC).timestamp())


ORG_CREATED = _utc("2024-01-01")
"""No usage exists before this instant: earlier buckets are empty."""


def _make_id(prefix: str, label: str, length: int) -> str:
    # Stable, realistic-looking IDs: the same label gives the same ID in every release.
    digest = hashlib.sha256(f"usage-async emulator {prefix}{label}".encode()).digest()
    text = base64.b32encode(digest).decode().lower().replace("=", "")
    return prefix + text[:length]


@attrs.frozen
class Project:
    """A project; an archived one keeps its ID, its name and its past usage."""

    id: str
    name: str
    created_at: int
    archived_at: int | None = None

    @property
    def status(self) -> str:
        """``active`` or ``archived``, as the directory reports it."""
        return "active" if self.archived_at is None else "archived"


@attrs.frozen
class User:
    """A member of the organization; ``role`` is ``owner`` or ``reader``."""

    id: str
    email: str
    name: str
    role: str
    added_at: int


@attrs.frozen
class ServiceAccount:
    """A project's service account: a bot member that owns API keys but is no person.

    ``role`` is its project role: ``owner``, ``member`` or ``none``.
    """

    id: str
    name: str
    project_id: str
    role: str
    created_at: int


@attrs.frozen
class ApiKey:
    """A project API key, owned by a user or by a service account of its project.

    Usage made with a user's key is that user's (``user_id``); a service account's key has
    no ``user_id``. ``owner_role`` is the owner's project role, and ``owner_project_access``
    says whether the owner still has access to the project (``active``) or not
    (``inactive``). ``redacted_value`` is all the directory ever shows of the secret.
    """

    id: str
    name: str
    project_id: str
    user_id: str | None
    created_at: int
    owner_role: str = "member"
    service_account_id: str | None = None
    owner_project_access: str = "active"
    last_used_at: int | None = None

    @property
    def redacted_value(self) -> str:
        return "sk-..." + _make_id("", "redacted " + self.id, 4)


@attrs.frozen
class VectorStore:
    id: str
    name: str
    project_id: str


@attrs.frozen
class Organization:
    """The organization's people and resources; the IDs a test may filter on.

    Each tuple is in creation order (API keys and service accounts within their project):
    the order the directory lists them in.
    """

    id: str
    name: str
    projects: tuple[Project, ...]
    users: tuple[User, ...]
    api_keys: tuple[ApiKey, ...]
    vector_stores: tuple[VectorStore, ...]
    service_accounts: tuple[ServiceAccount, ...]

    def project(self, name: str) -> Project:
        return next(p for p in self.projects if p.name == name)


_PROJECTS = {
    name: Project(
        _make_id("proj_", name, 24),
        name,
        created_at=_utc(created),
        archived_at=_utc(archived) if archived else None,
    )
    for name, created, archived in (
        ("Default project", "2023-12-01T09:12:44", None),
        ("Support Copilot", "2023-12-04T14:03:10", None),
        ("Docs Search", "2023-12-11T10:45:31", None),
        ("Data Pipeline", "2023-12-18T16:20:05", None),
        ("Voice", "2023-12-20T11:58:47", None),
        # Archived: one that never ran, and one whose usage of spring 2024 is still reported.
        ("Prototype", "2023-12-22T15:30:00", "2024-01-05T09:00:00"),
        ("Hackathon 2024", "2024-02-26T08:00:00", "2024-07-15T17:45:00"),
    )
}
_USERS = {
    name: User(
        _make_id("user-", name, 24),
        f"{name}@example.com",
        full_name,
        role="owner" if name in ("alice", "bob") else "reader",
        added_at=_utc(added),
    )
    for name, full_name, added in (
        ("alice", "Alice Moreau", "2023-12-01T09:10:02"),
        ("bob", "Bob Okafor", "2023-12-01T09:31:40"),
        ("carol", "Carol Lindqvist", "2023-12-04T13:55:12"),
        ("dave", "Dave Nakamura", "2023-12-11T10:02:58"),
        ("erin", "Erin Walsh", "2023-12-11T10:40:19"),
        ("frank", "Frank Osei", "2023-12-18T15:47:33"),
        ("grace", "Grace Haddad", "2023-12-18T16:11:09"),
        ("heidi", "Heidi Novak", "2023-12-20T11:30:26"),
        ("ivan", "Ivan Petrov", "2023-12-21T08:49:51"),
    )
}
_SERVICE_ACCOUNTS = {
    name: ServiceAccount(
        _make_id("svc_acct_", name, 24),
        name,
        _PROJECTS[project].id,
        role=role,
        created_at=_utc(created),
    )
    for name, project, role, created in (
        ("support-bot", "Support Copilot", "member", "2024-02-02T12:00:00"),
        ("nightly-runner", "Data Pipeline", "member", "2024-03-18T07:30:00"),
        ("deploy-bot", "Data Pipeline", "owner", "2025-06-09T10:15:00"),
    )
}


def _key(
    name: str,
    project: str,
    owner: str,
    created: str,
    last_used: str | None = None,
    role: str = "member",
    *,
    access: str = "active",
) -> ApiKey:
    """A key owned by the user ``owner``, or by the service account of that name."""
    account = _SERVICE_ACCOUNTS.get(owner)
    return ApiKey(
        _make_id("key_", name, 16),
        name,
        _PROJECTS[project].id,
        user_id=None if account else _USERS[owner].id,
        created_at=_utc(created),
        owner_role=account.role if account else role,
        service_account_id=account.id if account else None,
        owner_project_access=access,
        last_used_at=_utc(last_used) if last_used else None,
    )


# Keys with usage (the first nine, and the archived project's one) were last used recently
# or when that project stopped; the rest are the spares a real project accumulates. In each
# project, keys are in creation order. Columns: name, project, owner (a user or a service
# account), created, last used, the owner's project role, the owner's access.
_RECENT = "2026-02-27T18:00"
_KEYS = {
    key.name: key
    for key in (
        _key("alice-default", "Default project", "alice", "2023-12-01T09:20", _RECENT, "owner"),
        _key("ivan-default", "Default project", "ivan", "2023-12-21T09:02", _RECENT),
        _key("support-prod", "Support Copilot", "bob", "2023-12-04T14:10", _RECENT, "owner"),
        _key("carol-support", "Support Copilot", "carol", "2023-12-04T14:12", _RECENT),
        _key("search-prod", "Docs Search", "dave", "2023-12-11T10:50", _RECENT, "owner"),
        _key("erin-search", "Docs Search", "erin", "2023-12-11T10:52", _RECENT),
        _key("pipeline-batch", "Data Pipeline", "frank", "2023-12-18T16:25", _RECENT, "owner"),
        _key("grace-pipeline", "Data Pipeline", "grace", "2023-12-18T16:28", _RECENT),
        _key("voice-prod", "Voice", "heidi", "2023-12-20T12:05", _RECENT, "owner"),
        _key("hackathon-demo", "Hackathon 2024", "ivan", "2024-02-26T08:30", "2024-06-30T22:10"),
        _key("support-staging", "Support Copilot", "bob", "2024-01-15T09:00", None, "owner"),
        _key("support-bot-key", "Support Copilot", "support-bot", "2024-02-02T12:05", _RECENT),
        _key("carol-notebook", "Support Copilot", "carol", "2024-05-21T16:40", "2024-08-01T09:12"),
        _key("bob-laptop", "Support Copilot", "bob", "2025-01-08T08:00", None, "owner"),
        _key("support-eval", "Support Copilot", "carol", "2025-09-30T13:00"),
        _key("nightly-runner-key", "Data Pipeline", "nightly-runner", "2024-03-18T07:35", _RECENT),
        _key("deploy-bot-key", "Data Pipeline", "deploy-bot", "2025-06-09T10:20"),
        # Frank's trial key in Voice, from before he left the project: he has no access now.
        _key(
            "frank-voice-trial",
            "Voice",
            "frank",
            "2024-01-10T10:00",
            "2024-03-02T17:20",
            access="inactive",
        ),
    )
}
_STORES = {
    name: VectorStore(_make_id("vs_", name, 24), name, _PROJECTS[project].id)
    for name, project in (
        ("product-docs", "Docs Search"),
        ("handbook", "Docs Search"),
        ("support-tickets", "Support Copilot"),
        ("team-notes", "Default project"),
    )
}

ORGANIZATION = Organization(
    id=_make_id("org-", "organization", 24),
    name="Example Research Ltd",
    projects=tuple(_PROJECTS.values()),
    users=tuple(_USERS.values()),
    api_keys=tuple(_KEYS.values()),
    vector_stores=tuple(_STORES.values()),
    service_accounts=tuple(_SERVICE_ACCOUNTS.values()),
)


# --- Activity profiles -------------------------------------------------------------------------


@attrs.frozen
class Profile:
    """When a workload is busy: a weight per UTC hour of day, a weekend factor, idleness.

    An hour of weight ``w`` has no usage at all with probability
    ``idle * (1 - w) ** 2 + idle_at_peak``: quiet hours are idle more often, which is what
    gives the data its empty buckets.
    """

    hourly: tuple[float, ...]
    weekend: float
    idle: float
    idle_at_peak: float = 0.02


PROFILES: Mapping[str, Profile] = {
    # People at work, Europe and the Americas: busy on weekday afternoons (UTC), quiet at night.
    "office": Profile(
        hourly=(
            *(0.05,) * 6,
            *(0.1, 0.3, 0.6, 0.9, 0.9, 0.9, 0.75),
            *(1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.1, 0.1),
        ),
        weekend=0.15,
        idle=0.9,
        idle_at_peak=0.15,
    ),
    # A production service: always on, following its own users' day.
    "steady": Profile(
        hourly=(
            *(0.55, 0.5, 0.45, 0.45, 0.45, 0.5, 0.55, 0.65, 0.75, 0.85, 0.9, 0.95),
            *(1.0, 1.0, 1.0, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6),
        ),
        weekend=0.75,
        idle=0.3,
    ),
    # Batch jobs in the night window, every day of the week.
    "nightly": Profile(
        hourly=(*(1.0,) * 6, 0.4, *(0.05,) * 17),
        weekend=1.0,
        idle=0.95,
    ),
}


# --- What each endpoint measures ---------------------------------------------------------------


@attrs.frozen
class Metrics:
    """The measured quantities of an endpoint and the result fields summed from them.

    ``measured`` are drawn per workload and hour; ``derived`` result fields are sums of
    measured ones (so ``input_tokens`` is always at least ``input_cached_tokens``, in every
    bucket of every width). Whether a metric is a level rather than a flow comes from the
    endpoint table (``Endpoint.level_metrics``).
    """

    measured: tuple[str, ...]
    derived: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)


_TOKENS = Metrics(
    measured=(
        "input_text_tokens",
        "input_cached_text_tokens",
        "input_audio_tokens",
        "input_cached_audio_tokens",
        "input_image_tokens",
        "input_cached_image_tokens",
        "input_cache_write_30m_tokens",
        "input_cache_write_12h_tokens",
        "output_text_tokens",
        "output_audio_tokens",
        "output_image_tokens",
        "num_model_requests",
    ),
    derived={
        "input_cached_tokens": (
            "input_cached_text_tokens",
            "input_cached_audio_tokens",
            "input_cached_image_tokens",
        ),
        "input_cache_write_tokens": (
            "input_cache_write_30m_tokens",
            "input_cache_write_12h_tokens",
        ),
        "input_uncached_tokens": ("input_text_tokens", "input_audio_tokens", "input_image_tokens"),
        "input_tokens": (
            "input_text_tokens",
            "input_audio_tokens",
            "input_image_tokens",
            "input_cached_text_tokens",
            "input_cached_audio_tokens",
            "input_cached_image_tokens",
            "input_cache_write_30m_tokens",
            "input_cache_write_12h_tokens",
        ),
        "output_tokens": ("output_text_tokens", "output_audio_tokens", "output_image_tokens"),
    },
)

METRICS: Mapping[str, Metrics] = {
    "audio_speeches": Metrics(("characters", "num_model_requests")),
    "audio_transcriptions": Metrics(("seconds", "num_model_requests")),
    "code_interpreter_sessions": Metrics(("num_sessions",)),
    "completions": _TOKENS,
    "decisions": _TOKENS,
    "embeddings": Metrics(("input_tokens", "num_model_requests")),
    "file_search_calls": Metrics(("num_requests",)),
    "images": Metrics(("images", "num_model_requests")),
    "moderations": Metrics(("input_tokens", "num_model_requests")),
    "vector_stores": Metrics(("usage_bytes",)),
    "web_search_calls": Metrics(("num_requests", "num_model_requests")),
}
"""Per usage endpoint (costs are computed from these through ``cost_lines``)."""

FILTER_DIMENSIONS: Mapping[str, str] = {
    "project_ids": "project_id",
    "user_ids": "user_id",
    "api_key_ids": "api_key_id",
    "models": "model",
    "batch": "batch",
    "sources": "source",
    "sizes": "size",
    "context_levels": "context_level",
    "vector_store_ids": "vector_store_id",
    "line_items": "line_item",
}
"""Which grouping dimension each filter of ``ENDPOINTS`` narrows."""


# --- Workloads ---------------------------------------------------------------------------------


@attrs.frozen
class Workload:
    """One atomic combination of an endpoint: every dimension fixed, plus how it behaves.

    ``scale`` is the activity at peak, per hour (requests; bytes stored for a gauge), and
    ``mix`` the mean of each measured quantity per unit of activity. ``since`` is when the
    workload started (a model's release, say); it has no usage before. ``until``, if set, is
    when it stopped (its project was wound down); it has no usage from then on.
    """

    dims: Mapping[str, str | bool]
    profile: str
    scale: float
    mix: Mapping[str, float]
    since: int = ORG_CREATED
    until: int | None = None


def _workload(
    endpoint: str,
    key: str,
    profile: str,
    scale: float,
    mix: Mapping[str, float],
    since: str | None = None,
    until: str | None = None,
    **extra: str | bool,
) -> Workload:
    api_key = _KEYS[key]
    if api_key.user_id is None:  # pragma: no cover - a mistake in the table below
        raise ValueError(f"{endpoint} workload on {key}: usage needs a user's key")
    known: dict[str, str | bool] = {
        "project_id": api_key.project_id,
        "user_id": api_key.user_id,
        "api_key_id": api_key.id,
        **extra,
    }
    if "vector_store_id" in known:
        known["vector_store_id"] = _STORES[str(known["vector_store_id"])].id
    dims = ENDPOINTS[endpoint].group_by
    missing = [d for d in dims if d not in known]
    if missing:  # pragma: no cover - a mistake in the table below
        raise ValueError(f"{endpoint} workload on {key} lacks {missing}")
    return Workload(
        dims={d: known[d] for d in dims},
        profile=profile,
        scale=scale,
        mix=mix,
        since=_utc(since) if since else ORG_CREATED,
        until=_utc(until) if until else None,
    )


# Mean tokens per request of a few kinds of chat traffic.
_CHAT = {
    "input_text_tokens": 1400.0,
    "input_cached_text_tokens": 600.0,
    "input_cache_write_30m_tokens": 90.0,
    "output_text_tokens": 380.0,
    "num_model_requests": 1.0,
}
_VISION = {**_CHAT, "input_image_tokens": 220.0, "input_cached_image_tokens": 40.0}
_REASONING = {
    "input_text_tokens": 900.0,
    "input_cached_text_tokens": 250.0,
    "input_cache_write_30m_tokens": 40.0,
    "output_text_tokens": 2100.0,
    "num_model_requests": 1.0,
}
_LONG_CONTEXT = {
    "input_text_tokens": 6000.0,
    "input_cached_text_tokens": 4000.0,
    "input_cache_write_30m_tokens": 300.0,
    "input_cache_write_12h_tokens": 150.0,
    "output_text_tokens": 500.0,
    "num_model_requests": 1.0,
}
_VOICE = {
    "input_text_tokens": 250.0,
    "input_cached_text_tokens": 80.0,
    "input_audio_tokens": 1100.0,
    "input_cached_audio_tokens": 200.0,
    "output_text_tokens": 90.0,
    "output_audio_tokens": 850.0,
    "num_model_requests": 1.0,
}
_BATCH = {"input_text_tokens": 2600.0, "output_text_tokens": 520.0, "num_model_requests": 1.0}

GPT_4O = "gpt-4o-2024-08-06"
GPT_4O_MINI = "gpt-4o-mini-2024-07-18"
GPT_41 = "gpt-4.1-2025-04-14"
O3_MINI = "o3-mini-2025-01-31"
O4_MINI = "o4-mini-2025-04-16"
GPT_4O_AUDIO = "gpt-4o-audio-preview-2024-12-17"


def _chat(
    key: str,
    profile: str,
    scale: float,
    model: str,
    mix: Mapping[str, float],
    *,
    since: str | None = None,
    until: str | None = None,
    batch: bool = False,
    tier: str = "default",
    source: str = "unlabeled",
    endpoint: str = "completions",
) -> Workload:
    return _workload(
        endpoint,
        key,
        profile,
        scale,
        mix,
        since,
        until,
        model=model,
        batch=batch,
        service_tier=tier,
        api_source=source,
    )


def _per_model_request(
    endpoint: str, quantity: str, *rows: tuple[str, str, float, str, float]
) -> tuple[Workload, ...]:
    """Workloads of a per-model endpoint: (key, profile, scale, model, quantity per request)."""
    return tuple(
        _workload(
            endpoint, key, profile, scale, {quantity: per, "num_model_requests": 1.0}, model=model
        )
        for key, profile, scale, model, per in rows
    )


WORKLOADS: Mapping[str, tuple[Workload, ...]] = {
    "completions": (
        _chat("alice-default", "office", 40, GPT_4O, _VISION),
        _chat("alice-default", "office", 60, GPT_4O_MINI, _CHAT),
        _chat("ivan-default", "office", 15, O3_MINI, _REASONING, since="2025-01-31"),
        _chat("ivan-default", "office", 20, GPT_4O, _CHAT),
        _chat("support-prod", "steady", 400, GPT_4O_MINI, _CHAT, source="agents_api"),
        _chat(
            "support-prod", "steady", 80, GPT_4O_MINI, _CHAT, tier="priority", source="agents_api"
        ),
        _chat("support-prod", "steady", 120, GPT_4O, _VISION, source="agents_api"),
        _chat("carol-support", "office", 30, GPT_4O, _CHAT),
        _chat("carol-support", "office", 25, O4_MINI, _REASONING, since="2025-04-16"),
        _chat("search-prod", "steady", 250, GPT_4O_MINI, _CHAT),
        _chat("search-prod", "office", 60, GPT_41, _LONG_CONTEXT, since="2025-04-14"),
        _chat("erin-search", "office", 20, GPT_41, _LONG_CONTEXT, since="2025-04-14", tier="flex"),
        _chat("pipeline-batch", "nightly", 900, GPT_4O_MINI, _BATCH, batch=True),
        _chat("pipeline-batch", "nightly", 200, GPT_4O, _BATCH, batch=True),
        _chat("grace-pipeline", "office", 10, O3_MINI, _REASONING, since="2025-01-31", tier="flex"),
        _chat("grace-pipeline", "office", 30, GPT_4O_MINI, _CHAT),
        _chat("voice-prod", "steady", 90, GPT_4O_AUDIO, _VOICE, since="2024-12-17"),
        _chat("voice-prod", "steady", 150, GPT_4O_MINI, _CHAT, source="agents_api"),
        _chat("carol-support", "office", 12, GPT_4O_AUDIO, _VOICE, since="2024-12-17"),
        # The archived "Hackathon 2024" project: spring 2024 only. Appended last, so it
        # changes no other workload's numbers, and no total after June 2024.
        _chat(
            "hackathon-demo",
            "office",
            25,
            GPT_4O_MINI,
            _CHAT,
            since="2024-03-01",
            until="2024-07-01",
        ),
    ),
    "decisions": (
        _chat("support-prod", "steady", 60, GPT_4O_MINI, _CHAT, endpoint="decisions"),
        _chat(
            "search-prod",
            "steady",
            25,
            O4_MINI,
            _REASONING,
            since="2025-04-16",
            endpoint="decisions",
        ),
        _chat("grace-pipeline", "office", 8, GPT_4O, _CHAT, endpoint="decisions"),
    ),
    "embeddings": _per_model_request(
        "embeddings",
        "input_tokens",
        ("search-prod", "steady", 300, "text-embedding-3-small", 420),
        ("erin-search", "office", 40, "text-embedding-3-large", 900),
        ("pipeline-batch", "nightly", 500, "text-embedding-3-small", 2400),
        ("alice-default", "office", 5, "text-embedding-ada-002", 300),
    ),
    "moderations": _per_model_request(
        "moderations",
        "input_tokens",
        ("support-prod", "steady", 200, "omni-moderation-latest", 350),
        ("voice-prod", "steady", 60, "omni-moderation-latest", 120),
        ("carol-support", "office", 10, "text-moderation-latest", 500),
    ),
    "audio_speeches": _per_model_request(
        "audio_speeches",
        "characters",
        ("voice-prod", "steady", 80, "gpt-4o-mini-tts", 640),
        ("ivan-default", "office", 10, "tts-1-hd", 1500),
        ("alice-default", "office", 3, "tts-1", 400),
    ),
    "audio_transcriptions": _per_model_request(
        "audio_transcriptions",
        "seconds",
        ("voice-prod", "steady", 70, "gpt-4o-transcribe", 45),
        ("ivan-default", "office", 15, "whisper-1", 240),
        ("grace-pipeline", "nightly", 20, "whisper-1", 900),
    ),
    "images": tuple(
        _workload(
            "images",
            key,
            "office",
            scale,
            {"images": per, "num_model_requests": 1.0},
            model=model,
            size=size,
            source=source,
        )
        for key, scale, per, model, size, source in (
            ("alice-default", 4, 1.0, "dall-e-3", "1024x1024", "image.generation"),
            ("alice-default", 2, 1.0, "dall-e-3", "1024x1792", "image.generation"),
            ("carol-support", 6, 1.5, "gpt-image-1", "1024x1024", "image.edit"),
            ("carol-support", 5, 2.0, "gpt-image-1", "1024x1024", "image.generation"),
            ("ivan-default", 3, 2.5, "dall-e-2", "512x512", "image.variation"),
            ("ivan-default", 2, 4.0, "dall-e-2", "256x256", "image.generation"),
        )
    ),
    "vector_stores": tuple(
        _workload("vector_stores", key, "steady", stored, {"usage_bytes": 1.0})
        for key, stored in (
            ("search-prod", 3.2 * 2**30),
            ("support-prod", 600 * 2**20),
            ("alice-default", 40 * 2**20),
        )
    ),
    "code_interpreter_sessions": (
        _workload("code_interpreter_sessions", "support-prod", "steady", 6, {"num_sessions": 1.0}),
        _workload("code_interpreter_sessions", "alice-default", "office", 2, {"num_sessions": 1.0}),
        _workload(
            "code_interpreter_sessions", "grace-pipeline", "nightly", 3, {"num_sessions": 1.0}
        ),
    ),
    "file_search_calls": tuple(
        _workload(
            "file_search_calls", key, profile, scale, {"num_requests": 1.0}, vector_store_id=store
        )
        for key, profile, scale, store in (
            ("search-prod", "steady", 120, "product-docs"),
            ("erin-search", "office", 20, "handbook"),
            ("support-prod", "steady", 60, "support-tickets"),
            ("carol-support", "office", 10, "support-tickets"),
            ("alice-default", "office", 3, "team-notes"),
        )
    ),
    "web_search_calls": tuple(
        _workload(
            "web_search_calls",
            key,
            profile,
            scale,
            {"num_requests": 1.3, "num_model_requests": 1.0},
            "2025-03-11",
            model=model,
            context_level=level,
            api_source=source,
        )
        for key, profile, scale, model, level, source in (
            ("support-prod", "steady", 30, GPT_4O_MINI, "medium", "agents_api"),
            ("search-prod", "steady", 15, GPT_4O, "low", "unlabeled"),
            ("erin-search", "office", 4, GPT_41, "high", "unlabeled"),
            ("voice-prod", "steady", 10, GPT_4O_MINI, "low", "agents_api"),
        )
    ),
}
"""The atomic combinations of each usage endpoint: a few dozen in all, so pages stay fast."""


# --- Prices and cost line items ----------------------------------------------------------------

NANO = 10**9
"""Amounts are computed in integer nano-dollars, so every sum is exact."""

# Nano-dollars per token, per kind of token line (made-up but list-price-like).
_TOKEN_PRICES: Mapping[str, Mapping[str, int]] = {
    GPT_4O: {"input": 2500, "cached input": 1250, "output": 10000},
    GPT_4O_MINI: {"input": 150, "cached input": 75, "output": 600},
    GPT_41: {"input": 2000, "cached input": 500, "output": 8000},
    O3_MINI: {"input": 1100, "cached input": 550, "output": 4400},
    O4_MINI: {"input": 1100, "cached input": 275, "output": 4400},
    GPT_4O_AUDIO: {
        "input": 2500,
        "cached input": 1250,
        "output": 10000,
        "audio input": 40000,
        "cached audio input": 2500,
        "audio output": 80000,
    },
    "text-embedding-3-small": {"input": 20},
    "text-embedding-3-large": {"input": 130},
    "text-embedding-ada-002": {"input": 100},
}
# Which measured quantities each kind of token line bills.
_TOKEN_LINES: Mapping[str, tuple[str, ...]] = {
    "input": (
        "input_text_tokens",
        "input_image_tokens",
        "input_cache_write_30m_tokens",
        "input_cache_write_12h_tokens",
    ),
    "cached input": ("input_cached_text_tokens", "input_cached_image_tokens"),
    "audio input": ("input_audio_tokens",),
    "cached audio input": ("input_cached_audio_tokens",),
    "output": ("output_text_tokens", "output_image_tokens"),
    "audio output": ("output_audio_tokens",),
}
_PER_CHARACTER = {"gpt-4o-mini-tts": 12000, "tts-1": 15000, "tts-1-hd": 30000}
_PER_SECOND = {"whisper-1": 100_000, "gpt-4o-transcribe": 100_000}
_PER_IMAGE = {
    ("dall-e-3", "1024x1024"): 40_000_000,
    ("dall-e-3", "1024x1792"): 80_000_000,
    ("gpt-image-1", "1024x1024"): 42_000_000,
    ("dall-e-2", "512x512"): 18_000_000,
    ("dall-e-2", "256x256"): 16_000_000,
}
_PER_WEB_SEARCH = {"low": 30_000_000, "medium": 35_000_000, "high": 50_000_000}
_PER_SESSION = 30_000_000
_PER_FILE_SEARCH = 2_500_000
# $0.10 per GiB-day of vector storage, per GiB-hour.
_PER_GIB_HOUR = 4_166_667


@attrs.frozen
class CostLine:
    """One cost line item fed by one usage workload.

    ``quantity`` sums the workload's ``parts``; the cost is ``quantity * price //
    price_per``, in nano-dollars. The quantity shown is ``quantity / shown_per`` in ``unit``.
    """

    line_item: str
    parts: tuple[str, ...]
    price: int
    unit: str
    price_per: int = 1
    shown_per: int = 1


def cost_lines(endpoint: str, workload: Workload) -> tuple[CostLine, ...]:
    """The cost line items one usage workload produces (none for free usage)."""
    dims = workload.dims
    model = str(dims.get("model", ""))
    if endpoint in ("completions", "decisions", "embeddings"):
        batch = dims.get("batch") is True
        prices = _TOKEN_PRICES[model]
        lines = []
        kinds = _TOKEN_LINES if endpoint != "embeddings" else {"input": ("input_tokens",)}
        for kind, parts in kinds.items():
            used = tuple(p for p in parts if workload.mix.get(p, 0.0) > 0)
            if not used:
                continue
            label = f"batch {kind}" if batch else kind
            # The Batch API bills half price.
            price = prices[kind] // 2 if batch else prices[kind]
            lines.append(CostLine(f"{model}, {label}", used, price, "tokens"))
        return tuple(lines)
    if endpoint == "audio_speeches":
        return (
            CostLine(f"{model}, characters", ("characters",), _PER_CHARACTER[model], "characters"),
        )
    if endpoint == "audio_transcriptions":
        return (
            CostLine(f"{model}, duration", ("seconds",), _PER_SECOND[model], "duration_seconds"),
        )
    if endpoint == "images":
        size = str(dims["size"])
        return (CostLine(f"{model}, {size}", ("images",), _PER_IMAGE[model, size], "images"),)
    if endpoint == "vector_stores":
        # usage_bytes integrated over time gives byte-hours; shown as GiB-hours.
        return (
            CostLine(
                "vector store storage",
                ("usage_bytes",),
                _PER_GIB_HOUR,
                "gibibyte_hours",
                price_per=2**30,
                shown_per=2**30,
            ),
        )
    if endpoint == "code_interpreter_sessions":
        return (CostLine("code interpreter sessions", ("num_sessions",), _PER_SESSION, "sessions"),)
    if endpoint == "file_search_calls":
        return (CostLine("file search tool calls", ("num_requests",), _PER_FILE_SEARCH, "calls"),)
    if endpoint == "web_search_calls":
        level = str(dims["context_level"])
        return (
            CostLine(
                f"web search tool calls, {level} context",
                ("num_requests",),
                _PER_WEB_SEARCH[level],
                "calls",
            ),
        )
    return ()  # moderations are free
