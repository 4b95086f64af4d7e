"""The database schema, built from ``ENDPOINTS``: one table per endpoint, the state, the directory.

Every table lives in one ``MetaData`` made per (prefix, groupings); no DDL is written by hand.
Columns carry the names of ``ua.row_fields(..., extras=True)`` (``start_time``, ``end_time``,
the grouping fields, the metrics, and what costs rows carry besides: ``organization_id``,
``organization_name``) behind two bookkeeping columns, ``source`` (which organization) and
``bucket_width``. One field is renamed: images' own ``source`` grouping field (``image.edit``
...) would collide with the organization column, so it is ``image_source``. Two fields are not
stored: costs' ``project_name`` and ``user_email``, which the API leaves empty (names live in
the directory tables, and the views join them).

Every table and column carries its one line (SQLAlchemy's ``comment``), which ``describe``
(``usage-async sync --describe``) and the docs' schema reference print: the schema is
described by the definitions that make it.

Types are the database's own where it has them and exact everywhere (each backend says
which, and how a value is bound: this module knows no database):

* times are ``timestamptz`` on PostgreSQL; SQLite has no time type, so they are ISO-8601 UTC
  text of one fixed width (``2026-11-01T00:00:00Z``), which sorts and compares like the
  instants and which SQLite's date functions and DuckDB read as they are;
* money (and costs ``quantity``) is ``NUMERIC`` on PostgreSQL and decimal text on SQLite,
  every digit kept (``0.0000045``, never a float); sum it exactly by casting, e.g. in DuckDB
  ``SUM(CAST(amount AS DECIMAL(38, 18)))``.
"""

from __future__ import annotations

import datetime as _dt
import re
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from .._endpoints import Endpoint
from .._exceptions import InvalidParameterError
from .._models import CostsResult
from .._row_columns import row_fields
from ._registry import backend_of

__all__ = [
    "BOOKKEEPING",
    "FIELD_MEANINGS",
    "NOT_STORED",
    "ExactDecimal",
    "UtcDateTime",
    "Schema",
    "checked_prefix",
    "column_name",
    "grouping_columns",
    "grouping_of",
    "stored_fields",
]

BOOKKEEPING = ("source", "bucket_width", "start_time", "end_time")

# Lower case only: PostgreSQL folds unquoted names to lower case, so "Acme_costs" made by
# SQLAlchemy (quoted) is not the acme_costs a user's SQL (or the refusal's DROP) names.
_PREFIX = re.compile(r"[a-z_][a-z0-9_]*")


def checked_prefix(prefix: str) -> str:
    """``prefix``, if it is one a table name may start with; raises
    ``InvalidParameterError`` (``param="prefix"``) saying what a prefix is if not."""
    if prefix and not _PREFIX.fullmatch(prefix):
        raise InvalidParameterError(
            f"prefix must be lower-case letters, digits and underscores, not starting with a "
            f"digit (a table name SQL needs no quotes for), got {prefix!r}",
            param="prefix",
        )
    return prefix


class UtcDateTime(sa.types.TypeDecorator[_dt.datetime]):
    """An aware UTC ``datetime``: ``timestamptz`` on PostgreSQL, fixed-width ISO text on SQLite.

    Binds aware datetimes or Unix seconds; reads back aware UTC datetimes. The type and the
    bound value are the backend's (``time_type``, ``time_value``).
    """

    impl = sa.types.String
    cache_ok = True
    FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the text a backend without a time type stores

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(backend_of(dialect).time_type())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, int):
            value = _dt.datetime.fromtimestamp(value, _dt.UTC)
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot be stored as UTC: {value!r}")
        return backend_of(dialect).time_value(value.astimezone(_dt.UTC))

    def process_result_value(self, value: Any, dialect: Dialect) -> _dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return _dt.datetime.strptime(value, self.FORMAT).replace(tzinfo=_dt.UTC)
        moment: _dt.datetime = value
        return moment.astimezone(_dt.UTC)


class ExactDecimal(sa.types.TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` on PostgreSQL, decimal text on SQLite (no float anywhere).

    Binds ``Decimal`` or ``int`` with every digit and no trailing zeros (``focus_number``'s
    text on SQLite, the same value as a ``Decimal`` on PostgreSQL: the backend's ``money``);
    reads back ``Decimal``.
    """

    impl = sa.types.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(backend_of(dialect).money_type())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return backend_of(dialect).money(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


# What a stored field means, in one line: the comment of its column in every table that has
# it (``describe`` and the docs print them). A field without one fails the tests.
FIELD_MEANINGS: Mapping[str, str] = {
    "source": "the organization the row is of: the sync's source label (--source)",
    "bucket_width": "the width of the row's bucket: 1m, 1h or 1d (one per table)",
    "start_time": "the start of the row's bucket (UTC)",
    "end_time": "the end of the row's bucket (UTC); the newest may end early, at the server's now",
    "project_id": "the project (its name: projects.name)",
    "user_id": "the user (their email: users.email)",
    "api_key_id": "the API key (its name: api_keys.name)",
    "model": "the model, as the API names it",
    "batch": "true for the Batch API's usage",
    "service_tier": "the service tier the requests ran on",
    "api_source": "where the usage came from: agents_api or unlabeled",
    "line_item": "what was billed: the cost's line item",
    "size": "the images' size (1024x1024...)",
    "image_source": "how the images were made: image.generation, image.edit or "
    "image.variation (the API's source field)",
    "vector_store_id": "the vector store searched",
    "context_level": "the search context size: low, medium or high",
    "input_tokens": "input tokens, cached ones included",
    "output_tokens": "output tokens",
    "num_model_requests": "requests to the model",
    "input_cached_tokens": "input tokens read from the prompt cache",
    "input_cache_write_tokens": "input tokens written to the prompt cache",
    "input_cache_write_30m_tokens": "input tokens written to the 30-minute prompt cache",
    "input_cache_write_12h_tokens": "input tokens written to the 12-hour prompt cache",
    "input_uncached_tokens": "input tokens not read from the prompt cache",
    "input_text_tokens": "input text tokens",
    "input_cached_text_tokens": "input text tokens read from the prompt cache",
    "input_audio_tokens": "input audio tokens",
    "input_cached_audio_tokens": "input audio tokens read from the prompt cache",
    "input_image_tokens": "input image tokens",
    "input_cached_image_tokens": "input image tokens read from the prompt cache",
    "output_text_tokens": "output text tokens",
    "output_audio_tokens": "output audio tokens",
    "output_image_tokens": "output image tokens",
    "images": "images made",
    "characters": "characters spoken",
    "seconds": "seconds of audio transcribed",
    "usage_bytes": "bytes stored at the end of the bucket (a level: do not sum over time)",
    "num_sessions": "code interpreter sessions",
    "num_requests": "calls made",
    "amount": "the cost, exact, in the currency (dollars, not cents)",
    "currency": "the amount's currency (usd)",
    "quantity": "how much was used, exact, in quantity_unit",
    "quantity_unit": "the quantity's unit: tokens, 1000_tokens, images...",
    "organization_id": "the billing organization, when the API names it (else the "
    "source's: sources.organization_id)",
    "organization_name": "the billing organization's name, when the API names it",
}

# Fields results carry that no table stores: the API leaves costs' name fields empty, and the
# names live in the directory tables (the views join them), so a column would always be null.
NOT_STORED = frozenset({"project_name", "user_email"})


def column_name(endpoint: Endpoint, field: str) -> str:
    """The column of a row field: the field's own name, unless a bookkeeping column has it
    (images' ``source`` grouping field becomes ``image_source``)."""
    if field in BOOKKEEPING[:2]:
        return f"{endpoint.name.removesuffix('s')}_{field}"
    return field


def stored_fields(endpoint: Endpoint, group_by: Sequence[str]) -> list[str]:
    """The row fields the table of ``endpoint`` grouped by ``group_by`` stores, in column
    order after the bookkeeping columns and the times (``row_fields`` names, not renamed)."""
    chosen = [f for f in endpoint.group_by if f in group_by]
    fields = row_fields(endpoint.result_type, chosen, extras=True)[2:]
    return [field for field in fields if field not in NOT_STORED]


def grouping_columns(endpoint: Endpoint, group_by: Sequence[str]) -> tuple[str, ...]:
    """The grouping columns of a table grouped by ``group_by``, in the endpoint's order."""
    return tuple(column_name(endpoint, f) for f in endpoint.group_by if f in group_by)


_COSTS_TYPES: Mapping[str, Any] = {
    "amount": Decimal,
    "currency": str,
    "quantity": Decimal,
    "quantity_unit": str,
}


def _sql_type(python_type: Any) -> sa.types.TypeEngine[Any] | type[sa.types.TypeEngine[Any]]:
    args = [a for a in typing.get_args(python_type) if a is not type(None)] or [python_type]
    kind = args[0]
    if kind is bool:
        return sa.Boolean
    if kind is int:
        return sa.BigInteger
    if kind is Decimal:
        return ExactDecimal()
    return sa.Text


def _field_types(endpoint: Endpoint) -> dict[str, Any]:
    hints = typing.get_type_hints(endpoint.result_type)
    if endpoint.result_type is CostsResult:
        hints.update(_COSTS_TYPES)
    return hints


def _column(name: str, kind: Any, meaning: str | None = None, **options: Any) -> sa.Column[Any]:
    """A column with its one line: ``meaning``, else the field's (``FIELD_MEANINGS``)."""
    return sa.Column(name, kind, comment=meaning or FIELD_MEANINGS[name], **options)


def _endpoint_field_meaning(endpoint: Endpoint, field: str) -> str:
    """The one line of an endpoint table's column for ``field`` (a row field's name)."""
    if endpoint.name == "images" and field == "source":
        return FIELD_MEANINGS["image_source"]
    return FIELD_MEANINGS[field]


def _state_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """Where each source's sync of each table stands."""
    return sa.Table(
        f"{prefix}sync_state",
        metadata,
        _column("source", sa.Text, "the source the state is of", primary_key=True),
        _column("endpoint", sa.Text, "the endpoint (its table's name)", primary_key=True),
        _column("bucket_width", sa.Text, "the table's bucket width", primary_key=True),
        _column(
            "group_by",
            sa.Text,
            "the table's grouping fields, comma-separated, in the endpoint's order ('' for none)",
            nullable=False,
        ),
        _column(
            "settled_until",
            UtcDateTime(),
            "buckets before this are final: the next run re-reads from here",
            nullable=False,
        ),
        _column(
            "synced_until",
            UtcDateTime(),
            "how far the data reaches: the server's now when it was last read",
            nullable=False,
        ),
        _column(
            "read_from",
            UtcDateTime(),
            "where the reading of the table began (the first run's --since, or an earlier "
            "one's): the buckets before it were never read; null where an older version "
            "made the state and no run has read history before its first bucket since",
        ),
        comment="Where each source's sync of each table stands.",
    )


def _sources_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    # The billing account of each source's costs, where a row names none (the API sends
    # organization_id only sometimes): the organization the source is read as.
    return sa.Table(
        f"{prefix}sources",
        metadata,
        _column("source", sa.Text, "the source's label (--source)", primary_key=True),
        _column(
            "organization_id",
            sa.Text,
            "the organization the source is read as (OPENAI_ORG_ID): the billing "
            "account of its costs that name none",
        ),
        comment="Each source's organization.",
    )


def _projects_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """The directory's projects."""
    return sa.Table(
        f"{prefix}projects",
        metadata,
        _column("source", sa.Text, "the organization (source) of the project", primary_key=True),
        _column("id", sa.Text, "the project's ID (project_id elsewhere)", primary_key=True),
        _column("name", sa.Text, "the project's name"),
        _column("status", sa.Text, "active or archived"),
        _column("archived_at", UtcDateTime(), "when it was archived (UTC)"),
        _column("created_at", UtcDateTime(), "when it was created (UTC)"),
        _column(
            "api_keys_read_at",
            UtcDateTime(),
            "when a sync last listed its API keys (the server's clock): the list is "
            "read again once older than --directory-max-age",
        ),
        comment="The organization's projects, archived ones too: names for project_id.",
    )


def _users_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """The directory's users."""
    return sa.Table(
        f"{prefix}users",
        metadata,
        _column("source", sa.Text, "the organization (source) of the user", primary_key=True),
        _column("id", sa.Text, "the user's ID (user_id elsewhere)", primary_key=True),
        _column("email", sa.Text, "the user's email"),
        _column("name", sa.Text, "the user's name"),
        _column("role", sa.Text, "owner or reader"),
        comment="The organization's users: emails for user_id.",
    )


def _api_keys_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """The directory's API keys."""
    return sa.Table(
        f"{prefix}api_keys",
        metadata,
        _column("source", sa.Text, "the organization (source) of the key", primary_key=True),
        _column("id", sa.Text, "the key's ID (api_key_id elsewhere)", primary_key=True),
        _column("name", sa.Text, "the key's name"),
        _column("project_id", sa.Text, "the project the key belongs to"),
        _column("owner_type", sa.Text, "user or service_account"),
        _column("owner_id", sa.Text, "the owner's ID"),
        _column("owner_name", sa.Text, "the owner's email or name"),
        comment="The projects' API keys: names for api_key_id.",
    )


class Schema:
    """The tables of one database under one ``prefix``, for the groupings being synced.

    ``usage[endpoint]`` is the table of an endpoint (built on first ask for its grouping),
    ``state`` the sync state, ``sources`` each source's organization, ``projects`` /
    ``users`` / ``api_keys`` the directory. Each table and column has its ``comment``.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.metadata = sa.MetaData()
        self.usage: dict[str, sa.Table] = {}
        self.state = _state_table(self.metadata, prefix)
        self.sources = _sources_table(self.metadata, prefix)
        self.projects = _projects_table(self.metadata, prefix)
        self.users = _users_table(self.metadata, prefix)
        self.api_keys = _api_keys_table(self.metadata, prefix)

    @property
    def directory(self) -> Mapping[str, sa.Table]:
        return {"projects": self.projects, "users": self.users, "api_keys": self.api_keys}

    def table_name(self, endpoint: str) -> str:
        return f"{self.prefix}{endpoint}"

    def view_name(self, name: str) -> str:
        """A view's name under this prefix (``cost_by_project_day``...)."""
        return f"{self.prefix}{name}"

    @property
    def focus_view(self) -> str:
        """The FOCUS view over ``costs`` and ``projects`` (``_focus_view``)."""
        return f"{self.prefix}focus"

    def usage_table(self, endpoint: Endpoint, group_by: Sequence[str]) -> sa.Table:
        """The table of ``endpoint`` grouped by ``group_by`` (made once per schema).

        Raises ``ValueError`` if it was already made here with another grouping.
        """
        existing = self.usage.get(endpoint.name)
        if existing is not None:
            if grouping_of(endpoint, existing.columns.keys()) != grouping_columns(
                endpoint, group_by
            ):
                raise ValueError(f"{endpoint.name} is already defined with another grouping")
            return existing
        types = _field_types(endpoint)
        columns = [
            _column("source", sa.Text, nullable=False),
            _column("bucket_width", sa.Text, nullable=False),
            _column("start_time", UtcDateTime(), nullable=False),
            _column("end_time", UtcDateTime(), nullable=False),
        ]
        columns.extend(
            _column(
                column_name(endpoint, field),
                _sql_type(types[field]),
                _endpoint_field_meaning(endpoint, field),
            )
            for field in stored_fields(endpoint, group_by)
        )
        name = self.table_name(endpoint.name)
        summary = endpoint.summary.replace("``", "").removesuffix(".")
        table = sa.Table(
            name,
            self.metadata,
            *columns,
            # The replace of a bucket range deletes by source, width and a start_time range;
            # start_time alone narrows it to a few rows per bucket (a handful of sources and
            # widths), and costs a quarter less than a three-column index to keep up on insert
            # (benchmarks/RESULTS.md). Dashboards filter on it too.
            sa.Index(f"{name}_start_time", "start_time"),
            comment=f"{summary}: one row per source, bucket and group.",
        )
        self.usage[endpoint.name] = table
        return table


def grouping_of(endpoint: Endpoint, columns: Sequence[str]) -> tuple[str, ...]:
    """The grouping columns among a table's ``columns``, in the endpoint's order."""
    present = set(columns)
    return tuple(
        column_name(endpoint, f) for f in endpoint.group_by if column_name(endpoint, f) in present
    )
