"""The Freshness dashboard: how current each table is, and when the sync last ran.

``sync_state`` says, per source, table and bucket width, where the data is settled
(``settled_until``: earlier buckets are final) and how far it reaches (``synced_until``: the
server's now when the sync last read it). The newest ``synced_until`` is the last run; the
oldest is the table furthest behind. What the tables hold (first and newest bucket, rows)
is read from the tables themselves.
"""

from __future__ import annotations

from .._endpoints import ENDPOINTS
from ._catalog import Catalog
from ._panels import Panel, among

__all__ = ["freshness_panels"]

_STATE = ("source", "endpoint", "bucket_width", "group_by", "settled_until", "synced_until")


def _stats(catalog: Catalog) -> list[Panel]:
    state = catalog.table("sync_state")
    stats = (
        (
            "Last run",
            "MAX(synced_until)",
            "dateTimeFromNow",
            "When the sync last read the API: the newest synced_until (the server's time).",
        ),
        (
            "Table furthest behind",
            "MIN(synced_until)",
            "dateTimeFromNow",
            "The oldest synced_until: the table the sync read longest ago.",
        ),
        (
            "Everything settled through",
            "MIN(settled_until)",
            "dateTimeAsIso",
            "The oldest settled_until: before it, every table's buckets are final.",
        ),
    )
    return [
        Panel(
            title=title,
            kind="stat",
            description=meaning,
            sql=f"""SELECT EXTRACT(EPOCH FROM {aggregate}) * 1000 AS "{title.lower()}"
FROM {state}
WHERE {among("source", "source")}""",
            needs={"sync_state": _STATE},
            unit=unit,
            width=8,
            height=4,
        )
        for title, aggregate, unit, meaning in stats
    ]


def _state_table(catalog: Catalog) -> Panel:
    return Panel(
        title="Sync state",
        kind="table",
        description="Per source, table and bucket width: buckets before 'settled until' are "
        "final; 'synced until' is the server's time when the sync last read the table.",
        sql=f"""SELECT source AS "source",
  '{catalog.prefix}' || endpoint AS "table",
  bucket_width AS "bucket width",
  NULLIF(group_by, '') AS "grouped by",
  settled_until AS "settled until",
  synced_until AS "synced until",
  EXTRACT(EPOCH FROM now() - synced_until) AS "since synced"
FROM {catalog.table("sync_state")}
WHERE {among("source", "source")}
ORDER BY 1, 2, 3""",
        needs={"sync_state": _STATE},
        units={"since synced": "s"},
        width=24,
        height=10,
    )


def _holdings(catalog: Catalog) -> Panel | None:
    """What each endpoint's table holds: its first and newest bucket and its rows."""
    columns = ("source", "bucket_width", "start_time")
    present = [name for name in ENDPOINTS if catalog.has(name, *columns)]
    if not present:
        return None
    parts = [
        f"""SELECT '{catalog.table(name)}' AS "table", source AS "source",
  bucket_width AS "bucket width", MIN(start_time) AS "first bucket",
  MAX(start_time) AS "newest bucket", COUNT(*) AS "rows"
FROM {catalog.table(name)}
WHERE {among("source", "source")}
GROUP BY source, bucket_width"""
        for name in present
    ]
    return Panel(
        title="What the tables hold",
        kind="table",
        description="Per table, source and bucket width: the first and the newest bucket "
        "stored, and how many rows.",
        sql="\nUNION ALL\n".join(parts) + "\nORDER BY 1, 2, 3",
        needs=dict.fromkeys(present, columns),
        width=24,
        height=12,
    )


def freshness_panels(catalog: Catalog) -> list[Panel]:
    """The Freshness dashboard's panels, in the order they are laid out."""
    holdings = _holdings(catalog)
    return [*_stats(catalog), _state_table(catalog), *([holdings] if holdings else [])]
