"""The database schema, built from ``ENDPOINTS``: one table per endpoint, the state, the directory.

Every table lives in one ``MetaData`` made per (prefix, groupings); no DDL is written by hand.
Columns carry the names of ``ua.row_fields(..., extras=True)`` (``start_time``, ``end_time``,
the grouping fields, the metrics, and what costs rows carry besides: ``organization_id``,
``organization_name``, ``project_name``, ``user_email``) behind two bookkeeping columns,
``source`` (which organization) and ``bucket_width``. One field is renamed: images' own
``source`` grouping field (``image.edit`` ...) would collide with the organization column, so
it is ``image_source``.

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
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from .._endpoints import Endpoint
from .._models import CostsResult
from .._row_columns import row_fields
from ._registry import backend_of

__all__ = [
    "BOOKKEEPING",
    "ExactDecimal",
    "UtcDateTime",
    "Schema",
    "column_name",
    "grouping_columns",
    "grouping_of",
    "stored_fields",
]

BOOKKEEPING = ("source", "bucket_width", "start_time", "end_time")


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
    return row_fields(endpoint.result_type, chosen, extras=True)[2:]


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


class Schema:
    """The tables of one database under one ``prefix``, for the groupings being synced.

    ``usage[endpoint]`` is the table of an endpoint (built on first ask for its grouping),
    ``state`` the sync state, ``sources`` each source's organization, ``projects`` /
    ``users`` / ``api_keys`` the directory.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.metadata = sa.MetaData()
        self.usage: dict[str, sa.Table] = {}
        self.state = sa.Table(
            f"{prefix}sync_state",
            self.metadata,
            sa.Column("source", sa.Text, primary_key=True),
            sa.Column("endpoint", sa.Text, primary_key=True),
            sa.Column("bucket_width", sa.Text, primary_key=True),
            # Comma-separated grouping fields in the endpoint's order ('' for none).
            sa.Column("group_by", sa.Text, nullable=False),
            # Buckets before this are final: the next run re-reads from here.
            sa.Column("settled_until", UtcDateTime(), nullable=False),
            # How far the data reaches: the server's "now" when it was last read.
            sa.Column("synced_until", UtcDateTime(), nullable=False),
        )
        # The billing account of each source's costs, where a row names none (the API sends
        # organization_id only sometimes): the organization the source is read as.
        self.sources = sa.Table(
            f"{prefix}sources",
            self.metadata,
            sa.Column("source", sa.Text, primary_key=True),
            sa.Column("organization_id", sa.Text),
        )
        self.projects = sa.Table(
            f"{prefix}projects",
            self.metadata,
            sa.Column("source", sa.Text, primary_key=True),
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("name", sa.Text),
            sa.Column("status", sa.Text),
            sa.Column("archived_at", UtcDateTime()),
            sa.Column("created_at", UtcDateTime()),
        )
        self.users = sa.Table(
            f"{prefix}users",
            self.metadata,
            sa.Column("source", sa.Text, primary_key=True),
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("email", sa.Text),
            sa.Column("name", sa.Text),
            sa.Column("role", sa.Text),
        )
        self.api_keys = sa.Table(
            f"{prefix}api_keys",
            self.metadata,
            sa.Column("source", sa.Text, primary_key=True),
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("name", sa.Text),
            sa.Column("project_id", sa.Text),
            sa.Column("owner_type", sa.Text),
            sa.Column("owner_id", sa.Text),
            sa.Column("owner_name", sa.Text),
        )

    @property
    def directory(self) -> Mapping[str, sa.Table]:
        return {"projects": self.projects, "users": self.users, "api_keys": self.api_keys}

    def table_name(self, endpoint: str) -> str:
        return f"{self.prefix}{endpoint}"

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
            sa.Column("source", sa.Text, nullable=False),
            sa.Column("bucket_width", sa.Text, nullable=False),
            sa.Column("start_time", UtcDateTime(), nullable=False),
            sa.Column("end_time", UtcDateTime(), nullable=False),
        ]
        columns.extend(
            sa.Column(column_name(endpoint, field), _sql_type(types[field]))
            for field in stored_fields(endpoint, group_by)
        )
        name = self.table_name(endpoint.name)
        table = sa.Table(
            name,
            self.metadata,
            *columns,
            # The replace of a bucket range deletes by source, width and a start_time range;
            # start_time alone narrows it to a few rows per bucket (a handful of sources and
            # widths), and costs a quarter less than a three-column index to keep up on insert
            # (benchmarks/RESULTS.md). Dashboards filter on it too.
            sa.Index(f"{name}_start_time", "start_time"),
        )
        self.usage[endpoint.name] = table
        return table


def grouping_of(endpoint: Endpoint, columns: Sequence[str]) -> tuple[str, ...]:
    """The grouping columns among a table's ``columns``, in the endpoint's order."""
    present = set(columns)
    return tuple(
        column_name(endpoint, f) for f in endpoint.group_by if column_name(endpoint, f) in present
    )
