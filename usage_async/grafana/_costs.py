"""The Costs dashboard: what was spent, by project and line item, the month's forecast, the
top API keys and users, and where the settled costs end.

Daily panels read the view ``cost_by_project_day`` (exact sums, the directory's project
names) and count the UTC days that *start* in the dashboard's time range, as the raw
``costs`` rows do under ``$__timeFilter(start_time)``: the two agree to the digit. The month
and its forecast are the calendar month (UTC) of the newest costs the sync read (the
server's time, as the budgets'), whatever the time range.

**Forecast** (``usage_async.budgets``' method, per source, then added up): the month's
settled spend, plus the run-rate times the days from settled-through to the month's end,
rounded to the cent and never less than what is already spent. The run-rate is the mean
daily cost of the last ``RUN_RATE_DAYS`` (28) settled days (those since the source's first
day of costs); provisional days are replaced by the run-rate. No settled day, no forecast.
"""

from __future__ import annotations

import attrs

from ..budgets._compute import RUN_RATE_DAYS
from ._catalog import Catalog
from ._panels import Panel, among

__all__ = [
    "DAY_START",
    "PROVISIONAL_NEEDS",
    "PROVISIONAL_TEXT",
    "cost_panels",
    "provisional_annotation_sql",
]

DAY_START = "day::timestamp AT TIME ZONE 'UTC'"
"""A view's ``day`` as the instant it starts, UTC midnight, whatever the session's time
zone (``day::timestamptz`` would take the session's)."""
PROVISIONAL_TEXT = "Provisional costs: each sync reads these days again until they settle"
USD = "currencyUSD"

_VIEW_KEYS = ("day", "source", "project_id", "project_name", "amount")
# What the month's figures and the provisional region read of the sync's state.
_COSTS_STATE = ("source", "endpoint", "settled_until", "synced_until")


def _daily_filter() -> str:
    return (
        f"$__timeFilter({DAY_START})\n"
        f"  AND {among('source', 'source')}\n"
        f"  AND {among('project', 'project_id')}"
    )


def _per_day(catalog: Catalog, by: str, metric: str, extra: tuple[str, ...] = ()) -> Panel:
    view = catalog.table("cost_by_project_day")
    return Panel(
        title=f"Cost per day by {by}",
        kind="timeseries",
        description=f"The cost of each UTC day, stacked by {by}; the legend adds up the range.",
        sql=f"""SELECT {DAY_START} AS "time",
  {metric} AS metric,
  SUM(amount) AS cost
FROM {view}
WHERE {_daily_filter()}
GROUP BY 1, 2
ORDER BY 1, 2""",
        needs={"cost_by_project_day": (*_VIEW_KEYS, *extra)},
        unit=USD,
        width=16,
        height=9,
    )


def _totals(catalog: Catalog) -> list[Panel]:
    view = catalog.table("cost_by_project_day")
    by_project = Panel(
        title="Cost by project",
        kind="table",
        description="The time range's cost of each project, exact, most first.",
        sql=f"""SELECT COALESCE(project_name, project_id, '(no project)') AS "project",
  project_id AS "project ID",
  SUM(amount) AS "cost"
FROM {view}
WHERE {_daily_filter()}
GROUP BY project_id, project_name
ORDER BY "cost" DESC, 1""",
        needs={"cost_by_project_day": _VIEW_KEYS},
        units={"cost": USD},
        width=8,
        height=9,
    )
    by_line_item = Panel(
        title="Cost by line item",
        kind="table",
        description="The time range's cost of each line item (what was billed), most first.",
        sql=f"""SELECT COALESCE(line_item, '(no line item)') AS "line item",
  SUM(amount) AS "cost"
FROM {view}
WHERE {_daily_filter()}
GROUP BY line_item
ORDER BY "cost" DESC, 1""",
        needs={"cost_by_project_day": (*_VIEW_KEYS, "line_item")},
        units={"cost": USD},
        width=8,
        height=9,
    )
    return [by_project, by_line_item]


def _month_cte(catalog: Catalog) -> str:
    """The month of each selected source, where its settled costs end, and its daily costs
    in the selected projects: the common part of "Month to date" and "Forecast"."""
    state = catalog.table("sync_state")
    view = catalog.table("cost_by_project_day")
    return f"""WITH state AS (
  SELECT source,
    MAX(synced_until) AT TIME ZONE 'UTC' AS as_of,
    LEAST(MIN(settled_until), MAX(synced_until)) AT TIME ZONE 'UTC' AS settled
  FROM {state}
  WHERE endpoint = 'costs' AND {among("source", "source")}
  GROUP BY source
), period AS (
  SELECT source,
    CAST(date_trunc('month', as_of) AS date) AS month_start,
    CAST(date_trunc('month', as_of) + INTERVAL '1 month' AS date) AS month_end,
    CAST(date_trunc('day', settled) AS date) AS settled_through
  FROM state
), daily AS (
  SELECT source, day, SUM(amount) AS amount
  FROM {view}
  WHERE {among("source", "source")} AND {among("project", "project_id")}
  GROUP BY source, day
)"""


_MONTH_NEEDS = {"sync_state": _COSTS_STATE, "cost_by_project_day": _VIEW_KEYS}


def _month_to_date(catalog: Catalog) -> Panel:
    return Panel(
        title="Month to date",
        kind="stat",
        description="The cost of the calendar month (UTC) of the newest costs synced, "
        "provisional days included.",
        sql=f"""{_month_cte(catalog)}
SELECT COALESCE(SUM(d.amount), 0) AS "month to date"
FROM period p
JOIN daily d ON d.source = p.source AND d.day >= p.month_start AND d.day < p.month_end""",
        needs=_MONTH_NEEDS,
        unit=USD,
        width=6,
        height=4,
    )


def _forecast(catalog: Catalog) -> Panel:
    """The budgets' forecast of each selected source's month (see the module's docstring),
    added up: no source without a settled day to take a run-rate from counts."""
    view = catalog.table("cost_by_project_day")
    days = RUN_RATE_DAYS
    return Panel(
        title="Forecast for the month",
        kind="stat",
        description=f"The month's settled cost, plus the mean daily cost of the last {days} "
        "settled days times the days left, never less than spent (the budgets' forecast).",
        sql=f"""{_month_cte(catalog)}, first_day AS (
  SELECT source, MIN(day) AS day FROM {view} GROUP BY source
), figures AS (
  SELECT p.settled_through,
    GREATEST(f.day, p.settled_through - {days}) AS rate_start,
    GREATEST(0, p.month_end - GREATEST(p.settled_through, p.month_start)) AS days_left,
    (SELECT COALESCE(SUM(d.amount), 0) FROM daily d WHERE d.source = p.source
      AND d.day >= p.month_start AND d.day < p.month_end) AS spent,
    (SELECT COALESCE(SUM(d.amount), 0) FROM daily d WHERE d.source = p.source
      AND d.day >= p.month_start AND d.day < LEAST(p.month_end, p.settled_through)) AS settled,
    (SELECT COALESCE(SUM(d.amount), 0) FROM daily d WHERE d.source = p.source
      AND d.day >= GREATEST(f.day, p.settled_through - {days})
      AND d.day < p.settled_through) AS rate_sum
  FROM period p
  JOIN first_day f ON f.source = p.source
)
SELECT SUM(GREATEST(
    ROUND(settled + rate_sum / (settled_through - rate_start) * days_left, 2),
    spent)) AS "forecast"
FROM figures
WHERE settled_through > rate_start""",
        needs=_MONTH_NEEDS,
        unit=USD,
        width=6,
        height=4,
    )


def _in_range(catalog: Catalog) -> Panel:
    return Panel(
        title="Cost in the time range",
        kind="stat",
        description="The exact cost of the UTC days that start in the time range.",
        sql=f"""SELECT COALESCE(SUM(amount), 0) AS "cost"
FROM {catalog.table("cost_by_project_day")}
WHERE {_daily_filter()}""",
        needs={"cost_by_project_day": _VIEW_KEYS},
        unit=USD,
        width=6,
        height=4,
    )


def _settled(catalog: Catalog) -> Panel:
    return Panel(
        title="Costs settled through",
        kind="stat",
        description="Costs before this are final; later ones are provisional (the shaded "
        "region on the charts) and read again by every sync.",
        sql=f"""SELECT EXTRACT(EPOCH FROM MIN(settled_until)) * 1000 AS "settled through"
FROM {catalog.table("sync_state")}
WHERE endpoint = 'costs' AND {among("source", "source")}""",
        needs={"sync_state": ("source", "endpoint", "settled_until"), "costs": ("source",)},
        unit="dateTimeAsIso",
        width=6,
        height=4,
    )


@attrs.frozen
class _Ranked:
    """Who the "Top" tables rank: the costs column, its directory table, the name shown."""

    what: str
    label: str
    column: str
    directory: str
    name: str
    name_columns: tuple[str, ...]


_API_KEYS = _Ranked(
    "API keys", "API key", "api_key_id", "api_keys", "COALESCE(k.name, c.api_key_id)", ("name",)
)
_USERS = _Ranked(
    "users", "user", "user_id", "users", "COALESCE(k.email, k.name, c.user_id)", ("email", "name")
)


def _top(catalog: Catalog, ranked: _Ranked) -> Panel:
    """The ten API keys or users that cost the most in the time range, named from the
    directory."""
    column = ranked.column
    return Panel(
        title=f"Top {ranked.what}",
        kind="table",
        description=f"The ten {ranked.what} that cost the most in the time range (costs "
        f"grouped by {column}; costs that name no {ranked.label} are left out).",
        sql=f"""SELECT {ranked.name} AS "{ranked.label}",
  c.{column} AS "ID",
  SUM(c.amount) AS "cost"
FROM {catalog.table("costs")} c
LEFT JOIN {catalog.table(ranked.directory)} k ON k.source = c.source AND k.id = c.{column}
WHERE $__timeFilter(c.start_time)
  AND c.{column} IS NOT NULL
  AND {among("source", "c.source")}
  AND {among("project", "c.project_id")}
GROUP BY c.{column}, 1
ORDER BY "cost" DESC, 1
LIMIT 10""",
        needs={
            "costs": ("source", "start_time", "project_id", "amount", column),
            ranked.directory: ("source", "id", *ranked.name_columns),
        },
        units={"cost": USD},
        height=9,
    )


def cost_panels(catalog: Catalog) -> list[Panel]:
    """The Costs dashboard's panels, in the order they are laid out."""
    by_project, by_line_item = _totals(catalog)
    return [
        _in_range(catalog),
        _month_to_date(catalog),
        _forecast(catalog),
        _settled(catalog),
        _per_day(catalog, "project", "COALESCE(project_name, project_id, '(no project)')"),
        by_project,
        _per_day(catalog, "line item", "COALESCE(line_item, '(no line item)')", ("line_item",)),
        by_line_item,
        _top(catalog, _API_KEYS),
        _top(catalog, _USERS),
    ]


PROVISIONAL_NEEDS = {"sync_state": _COSTS_STATE, "costs": ("source",)}
"""What ``provisional_annotation_sql`` reads (its dashboard has it only if a sync made costs)."""


def provisional_annotation_sql(catalog: Catalog) -> str:
    """The annotation that shades the provisional costs: from where the selected sources'
    costs are settled to where they were last read."""
    return f"""SELECT MIN(settled_until) AS "time",
  MAX(synced_until) AS "timeend",
  '{PROVISIONAL_TEXT}' AS "text"
FROM {catalog.table("sync_state")}
WHERE endpoint = 'costs' AND {among("source", "source")}
HAVING COUNT(*) > 0"""
