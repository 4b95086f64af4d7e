"""The database side of a check: what ``sync`` wrote, read; the alerts table, kept.

Read: ``{prefix}sync_state`` (how far each source's costs reach and are settled),
``{prefix}costs`` (only ``source``, ``start_time``, ``project_id``, ``line_item``,
``currency``, ``amount``: the grouping columns that exist) and ``{prefix}projects`` (names).
The tables are the sync's own ``Schema``, so times and money come back as aware datetimes
and exact ``Decimal`` on SQLite and PostgreSQL alike, and are summed in Python.

Written: ``{prefix}budget_alerts``, one row per alert and receiver, created if missing.
Exactly once is built from three steps, each one transaction:

1. **record**: the alerts due are inserted with ``ON CONFLICT DO NOTHING`` on their primary
   key (``id``, ``receiver``): however many checks run at once, one row exists per alert
   and receiver, and a row is never recorded twice;
2. **claim**: before sending, a check takes a row with a conditional ``UPDATE`` (status
   pending, no live lease) that sets a lease (owner, expiry); the database lets one
   ``UPDATE`` win, so two checks never send the same alert at the same time;
3. **finish**: after the receiver accepted it, the row is marked delivered (by the lease's
   owner only), in the same transaction that ends the lease. A failure ends the lease and
   leaves the row pending, for the next run.

If a check dies between the receiver's answer and step 3, its lease expires
(``LEASE_SECONDS``) and a later run sends the alert again with the same ``id``, which is the
receiver's idempotency key: at-least-once on the wire, exactly once for a receiver that drops
an id it has seen (Slack cannot; that window is one request wide).
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .._endpoints import ENDPOINTS
from .._time import DAY, utc_datetime
from ..sync import Schema
from ._compute import DailyCosts

__all__ = [
    "DELIVERED",
    "LEASE_SECONDS",
    "PENDING",
    "SUPERSEDED",
    "AlertRow",
    "AlertsTable",
    "SourceState",
    "costs_table",
    "read_costs",
    "read_projects",
    "read_states",
    "table_columns",
]

LEASE_SECONDS = 600
"""How long a claim on an alert holds at least: longer than a delivery with its retries
takes (a ``DeliveryPolicy`` that could take longer holds it twice its longest)."""

PENDING, DELIVERED, SUPERSEDED = "pending", "delivered", "superseded"

_GROUPINGS = ("project_id", "line_item")


@attrs.frozen
class SourceState:
    """How far one source's costs reach: the server's "now" when they were last read, and
    where they stop being settled (Unix seconds)."""

    synced_until: int
    settled_until: int


def _seconds(moment: _dt.datetime) -> int:
    return int(moment.timestamp())


async def table_columns(conn: AsyncConnection) -> dict[str, set[str]]:
    """Each table of the database, with its column names."""

    def inspect(sync_conn: sa.Connection) -> dict[str, set[str]]:
        inspector = sa.inspect(sync_conn)
        return {
            name: {c["name"] for c in inspector.get_columns(name)}
            for name in inspector.get_table_names()
        }

    return await conn.run_sync(inspect)


async def read_states(conn: AsyncConnection, schema: Schema) -> dict[str, SourceState]:
    """Each source's costs state (the latest, should there be several widths)."""
    state = schema.state
    rows = await conn.execute(
        sa.select(state.c.source, state.c.settled_until, state.c.synced_until).where(
            state.c.endpoint == "costs"
        )
    )
    out: dict[str, SourceState] = {}
    for source, settled, synced in rows:
        seen = out.get(source)
        if seen is None or _seconds(synced) > seen.synced_until:
            out[source] = SourceState(_seconds(synced), _seconds(settled))
    return out


async def read_projects(
    conn: AsyncConnection, schema: Schema, source: str
) -> dict[str, str | None]:
    """Project ID -> name (``None`` if the directory has none) for ``source``."""
    projects = schema.projects
    rows = await conn.execute(
        sa.select(projects.c.id, projects.c.name).where(projects.c.source == source)
    )
    return {project_id: name or None for project_id, name in rows}


def costs_table(schema: Schema, columns: Iterable[str]) -> sa.Table:
    """The costs table as the sync made it, with those of its grouping columns that exist."""
    present = set(columns)
    return schema.usage_table(ENDPOINTS["costs"], [g for g in _GROUPINGS if g in present])


async def read_costs(
    conn: AsyncConnection, costs: sa.Table, source: str, start: int, end: int
) -> DailyCosts:
    """``source``'s costs of the days starting in [start, end), summed by project, line item
    and currency, and the first day the table has costs of the source on."""
    c = costs.c
    first = await conn.scalar(sa.select(sa.func.min(c.start_time)).where(c.source == source))
    grouped = [c[g] if g in c else sa.null().label(g) for g in _GROUPINGS]
    # Times as stored (timestamptz, or the ISO text SQLite keeps), each distinct one parsed
    # once: a few dozen days among thousands of rows, where parsing each row's was most of
    # a check's time.
    stored_start = sa.type_coerce(c.start_time, sa.types.NullType()).label("start_time")
    rows: Iterable[Any] = await conn.execute(
        sa.select(stored_start, *grouped, c.currency, c.amount).where(
            c.source == source,
            c.start_time >= utc_datetime(start),
            c.start_time < utc_datetime(end),
        )
    )
    return DailyCosts.from_rows(
        (
            (_day_of(stored), project_id, line_item, (currency or "").lower(), amount)
            for stored, project_id, line_item, currency, amount in rows
            if amount is not None
        ),
        None if first is None else _seconds(first) // DAY,
    )


@functools.lru_cache(maxsize=4096)
def _day_of(stored: _dt.datetime | str) -> int:
    """The day of a ``start_time`` as the database returns it (``2026-11-01T00:00:00Z`` on
    SQLite)."""
    if isinstance(stored, str):
        stored = _dt.datetime.fromisoformat(stored)
    return _seconds(stored) // DAY


@attrs.frozen
class AlertRow:
    """One alert to one receiver, as recorded."""

    id: str
    receiver: str
    kind: str
    source: str
    document: str
    status: str
    budget: str | None = None
    period_start: _dt.datetime | None = None
    threshold: str | None = None
    project_id: str | None = None
    day: _dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class AlertsTable:
    """``{prefix}budget_alerts`` of one database, and the steps of a delivery."""

    def __init__(self, engine: AsyncEngine, schema: Schema) -> None:
        self.engine = engine
        # The sync's UTC time type (timestamptz, or fixed-width ISO text on SQLite), taken
        # from its public Schema rather than its private module.
        utc = schema.state.c.synced_until.type
        self.table = sa.Table(
            f"{schema.prefix}budget_alerts",
            sa.MetaData(),
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("receiver", sa.Text, primary_key=True),
            sa.Column("kind", sa.Text, nullable=False),
            sa.Column("source", sa.Text, nullable=False),
            sa.Column("budget", sa.Text),
            sa.Column("period_start", utc),
            sa.Column("threshold", sa.Text),
            sa.Column("project_id", sa.Text),
            sa.Column("day", utc),
            # The webhook's JSON as first recorded: every send of this id sends these bytes.
            sa.Column("document", sa.Text, nullable=False),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("last_error", sa.Text),
            sa.Column("created_at", utc, nullable=False),
            sa.Column("delivered_at", utc),
            sa.Column("lease_owner", sa.Text),
            sa.Column("lease_until", sa.BigInteger),
        )

    @property
    def name(self) -> str:
        return self.table.name

    def _insert(self) -> Any:
        dialect: Any = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(self.table)

    async def create(self) -> None:
        """Create the table if it does not exist (``CREATE TABLE IF NOT EXISTS``)."""
        async with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Two checks creating it at once can still collide in PostgreSQL's catalogue
                # despite IF NOT EXISTS: one waits for the other here instead.
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": self.name}
                )
            await conn.execute(sa.schema.CreateTable(self.table, if_not_exists=True))

    async def exists(self) -> bool:
        async with self.engine.connect() as conn:
            return bool(await conn.run_sync(lambda c: sa.inspect(c).has_table(self.name)))

    async def statuses(self, ids: Iterable[str]) -> dict[tuple[str, str], str]:
        """The status of each recorded (id, receiver) among ``ids``; nothing if the table
        does not exist."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        t = self.table
        async with self.engine.connect() as conn:
            exists = await conn.run_sync(lambda c: sa.inspect(c).has_table(self.name))
            if not exists:
                return {}
            rows = await conn.execute(
                sa.select(t.c.id, t.c.receiver, t.c.status).where(t.c.id.in_(wanted))
            )
            return {(i, r): s for i, r, s in rows}

    async def record(self, rows: Sequence[AlertRow], now: int) -> None:
        """Insert the rows not recorded yet (step 1); recorded ones are left as they are."""
        if not rows:
            return
        created = utc_datetime(now)
        statement = self._insert().on_conflict_do_nothing(index_elements=["id", "receiver"])
        async with self.engine.begin() as conn:
            await conn.execute(
                statement, [{**attrs.asdict(row), "created_at": created} for row in rows]
            )

    async def pending(self) -> list[AlertRow]:
        """Every alert not delivered yet, oldest first."""
        t = self.table
        fields = [a.name for a in attrs.fields(AlertRow)]
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*(t.c[f] for f in fields))
                .where(t.c.status == PENDING)
                .order_by(t.c.created_at, t.c.id, t.c.receiver)
            )
            return [AlertRow(**dict(zip(fields, row, strict=True))) for row in rows]

    async def claim(self, row: AlertRow, owner: str, now: int, lease: int) -> bool:
        """Take ``row`` for sending for ``lease`` seconds (step 2); whether this check
        holds it now."""
        t = self.table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(t)
                .where(
                    t.c.id == row.id,
                    t.c.receiver == row.receiver,
                    t.c.status == PENDING,
                    sa.or_(t.c.lease_until.is_(None), t.c.lease_until < now),
                )
                .values(lease_owner=owner, lease_until=now + lease)
            )
            return bool(result.rowcount == 1)

    async def finish(
        self, row: AlertRow, owner: str, now: int, error: str | None
    ) -> Mapping[str, Any]:
        """End this check's lease on ``row`` (step 3): delivered if ``error`` is None, else
        still pending with ``error`` noted. Returns the values written."""
        t = self.table
        values: dict[str, Any] = {
            "attempts": t.c.attempts + 1,
            "last_error": error,
            "lease_owner": None,
            "lease_until": None,
        }
        if error is None:
            values.update(status=DELIVERED, delivered_at=utc_datetime(now))
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(t)
                .where(t.c.id == row.id, t.c.receiver == row.receiver, t.c.lease_owner == owner)
                .values(**values)
            )
        return values
