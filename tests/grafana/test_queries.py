"""Every panel's SQL, as Grafana sends it, on a real PostgreSQL synced from the emulator.

Each query is expanded the way Grafana's PostgreSQL data source expands it (``grafana_sql``:
template variables in the browser, macros on the server), run on the session's synced
database in a non-UTC session time zone, and its result checked: the columns Grafana needs
(a ``time`` column and numeric values for a chart, one number for a stat), and the numbers
against the tables they summarise, computed here from raw rows, never by the SQL under test.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from usage_async.budgets import Budget, BudgetConfig, check
from usage_async.grafana import provisioning

from .conftest import NOW, NOW_DT, PREFIX, PREFIXED_ENDPOINTS, SECOND, Result, query
from .grafana_sql import ALL, NUMBER_TYPES, Selection, TimeRange, check_frame, expand

UTC = dt.UTC
LAST_30_DAYS = TimeRange(NOW_DT - dt.timedelta(days=30), NOW_DT)
# From and to exactly at UTC midnights: a day on the edge counts if it starts in the range.
MIDNIGHTS = TimeRange(dt.datetime(2026, 2, 14, tzinfo=UTC), dt.datetime(2026, 3, 1, tzinfo=UTC))
# Grafana's ranges are in milliseconds: from and to in the middle of a day.
ODD = TimeRange(
    NOW_DT - dt.timedelta(days=17, hours=5, minutes=3, seconds=2, milliseconds=500),
    NOW_DT - dt.timedelta(days=2, hours=7),
)
WINDOWS = {"last 30 days": LAST_30_DAYS, "midnights": MIDNIGHTS, "odd": ODD}


def _dashboards(prefix: str = "") -> dict[str, dict[str, Any]]:
    from usage_async.grafana import Catalog

    files = provisioning("postgresql://g@db/usage", catalog=Catalog.of_sync(prefix)).files
    return {
        name.rsplit("/", 1)[1].removesuffix(".json").removeprefix(prefix): json.loads(text)
        for name, text in files.items()
        if name.endswith(".json")
    }


DASHBOARDS = _dashboards()
PANELS = [(name, panel["title"]) for name, d in DASHBOARDS.items() for panel in d["panels"]]


def panel_of(dashboard: str, title: str, dashboards: Mapping[str, Any] = DASHBOARDS) -> Any:
    return next(p for p in dashboards[dashboard]["panels"] if p["title"] == title)


def selections(dashboard: Mapping[str, Any], **picked: Sequence[str]) -> dict[str, Selection]:
    return {
        v["name"]: Selection.of(v, picked.get(v["name"], (ALL,)))
        for v in dashboard["templating"]["list"]
    }


async def run_panel(
    url: str,
    dashboard: str,
    title: str,
    window: TimeRange = LAST_30_DAYS,
    dashboards: Mapping[str, Any] = DASHBOARDS,
    **picked: Sequence[str],
) -> Result:
    board = dashboards[dashboard]
    sql = panel_of(dashboard, title, dashboards)["targets"][0]["rawSql"]
    return await query(url, expand(sql, window, selections(board, **picked)))


def check_result(panel: Mapping[str, Any], result: Result) -> None:
    """What Grafana needs of the panel's result."""
    if panel["type"] == "timeseries":
        check_frame(result.columns, result.rows)
    elif panel["type"] == "stat":
        assert len(result.rows) == 1
        [(_, kind)] = result.columns
        assert kind in NUMBER_TYPES
    else:
        assert len({name for name, _ in result.columns}) == len(result.columns)


async def raw_costs(url: str, window: TimeRange, table: str = "costs") -> list[dict[str, Any]]:
    """The costs rows whose bucket starts in ``window`` (Grafana's BETWEEN: both ends in)."""
    result = await query(
        url,
        f"SELECT * FROM {table} WHERE start_time >= $1 AND start_time <= $2",
        (window.start, window.end),
    )
    return result.records()


def total(values: Sequence[Any]) -> Decimal:
    return sum((Decimal(v) for v in values if v is not None), Decimal(0))


def value_column(result: Result) -> str:
    [name] = [n for n, kind in result.columns if n != "time" and kind in NUMBER_TYPES]
    return name


@pytest.mark.parametrize(("dashboard", "title"), PANELS, ids=[f"{d}:{t}" for d, t in PANELS])
async def test_every_panel_query_runs_and_gives_grafana_what_it_needs(
    synced: str, dashboard: str, title: str
) -> None:
    panel = panel_of(dashboard, title)
    everything = await run_panel(synced, dashboard, title)
    check_result(panel, everything)
    assert everything.rows, "no row for the emulator's 30 days"
    if panel["type"] == "stat":
        assert everything.rows[0][0] is not None
    # Narrowed, with a value that needs quoting: still SQL, still the shape Grafana needs.
    narrowed = await run_panel(
        synced,
        dashboard,
        title,
        ODD,
        source=[SECOND],
        project=["proj_o'brien", "proj_none"],
        model=["gpt-4o-mini-2024-07-18", "it's"],
    )
    check_result(panel, narrowed)


@pytest.mark.parametrize("dashboard", sorted(DASHBOARDS))
async def test_every_variable_and_annotation_query_runs(synced: str, dashboard: str) -> None:
    board = DASHBOARDS[dashboard]
    chosen = selections(board)
    for variable in board["templating"]["list"]:
        result = await query(synced, expand(variable["query"], LAST_30_DAYS, chosen))
        assert result.rows, variable["name"]
        names = [name for name, _ in result.columns]
        assert names in (["__text", "__value"], [variable["name"]])
    for annotation in board["annotations"]["list"]:
        result = await query(synced, expand(annotation["target"]["rawSql"], LAST_30_DAYS, chosen))
        assert [name for name, _ in result.columns] == ["time", "timeend", "text"]


async def test_the_variables_offer_the_sources_the_projects_by_name_and_the_models_used(
    synced: str,
) -> None:
    board = DASHBOARDS["usage"]
    chosen = selections(board)
    found = {}
    for variable in board["templating"]["list"]:
        found[variable["name"]] = await query(
            synced, expand(variable["query"], LAST_30_DAYS, chosen)
        )
    assert found["source"].column("source") == ["default", SECOND]
    projects = await query(synced, "SELECT DISTINCT id, name FROM projects")
    offered = zip(
        found["project"].column("__value"), found["project"].column("__text"), strict=True
    )
    assert sorted(offered) == sorted(projects.rows)
    models = await query(
        synced,
        "SELECT DISTINCT model FROM completions WHERE model IS NOT NULL "
        "AND start_time >= $1 AND start_time <= $2",
        (LAST_30_DAYS.start, LAST_30_DAYS.end),
    )
    assert set(models.column("model")) <= set(found["model"].column("model"))
    # Only the second source's projects once it alone is picked: the variables chain.
    narrowed = await query(
        synced,
        expand(
            board["templating"]["list"][1]["query"],
            LAST_30_DAYS,
            selections(board, source=["nobody"]),
        ),
    )
    assert narrowed.rows == []


COST_PANELS = (
    "Cost in the time range",
    "Cost per day by project",
    "Cost per day by line item",
    "Cost by project",
    "Cost by line item",
)


@pytest.mark.parametrize("window", list(WINDOWS), ids=list(WINDOWS))
async def test_every_cost_panel_adds_up_to_the_costs_table_to_the_digit(
    synced: str, window: str
) -> None:
    span = WINDOWS[window]
    expected = total([row["amount"] for row in await raw_costs(synced, span)])
    assert expected > 0
    for title in COST_PANELS:
        result = await run_panel(synced, "costs", title, span)
        assert total(result.column(value_column(result))) == expected, title


async def test_cost_per_day_is_each_utc_days_cost_at_its_midnight(synced: str) -> None:
    result = await run_panel(synced, "costs", "Cost per day by project", ODD)
    by_day: dict[dt.datetime, Decimal] = defaultdict(Decimal)
    for moment, amount in zip(result.column("time"), result.column("cost"), strict=True):
        assert moment.astimezone(UTC).time() == dt.time(0)
        by_day[moment.astimezone(UTC)] += amount
    expected: dict[dt.datetime, Decimal] = defaultdict(Decimal)
    for row in await raw_costs(synced, ODD):
        expected[row["start_time"].astimezone(UTC)] += row["amount"]
    assert dict(by_day) == dict(expected)


async def _costliest_project(url: str, source: str) -> str:
    rows = await raw_costs(url, LAST_30_DAYS)
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["source"] == source and row["project_id"] is not None:
            spent[row["project_id"]] += row["amount"]
    return max(spent, key=lambda p: spent[p])


async def test_picking_a_source_and_a_project_narrows_every_cost_panel_to_theirs(
    synced: str,
) -> None:
    project = await _costliest_project(synced, SECOND)
    rows = await raw_costs(synced, LAST_30_DAYS)
    expected = total(
        [r["amount"] for r in rows if (r["source"], r["project_id"]) == (SECOND, project)]
    )
    everything = total([r["amount"] for r in rows])
    assert 0 < expected < everything
    for title in COST_PANELS:
        result = await run_panel(
            synced, "costs", title, LAST_30_DAYS, source=[SECOND], project=[project]
        )
        assert total(result.column(value_column(result))) == expected, title


async def test_the_projects_are_named_from_the_directory(synced: str) -> None:
    names = dict((await query(synced, "SELECT id, name FROM projects")).rows)
    result = await run_panel(synced, "costs", "Cost by project")
    for record in result.records():
        assert record["project"] == names.get(record["project ID"], record["project ID"])
    assert set(result.column("project")) & set(names.values())


@pytest.mark.parametrize(
    ("title", "column", "directory", "name"),
    [
        ("Top API keys", "api_key_id", "api_keys", "name"),
        ("Top users", "user_id", "users", "email"),
    ],
)
async def test_the_top_keys_and_users_are_the_ten_costliest_with_their_names(
    synced: str, title: str, column: str, directory: str, name: str
) -> None:
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for row in await raw_costs(synced, LAST_30_DAYS):
        if row[column] is not None:
            spent[row[column]] += row["amount"]
    names = dict((await query(synced, f"SELECT id, {name} FROM {directory}")).rows)
    result = await run_panel(synced, "costs", title)
    shown = result.records()
    assert len(shown) == min(10, len(spent)) > 1
    assert [(r["ID"], r["cost"]) for r in shown] == sorted(
        spent.items(), key=lambda item: (-item[1], names.get(item[0], item[0]))
    )[:10]
    label = "API key" if column == "api_key_id" else "user"
    assert all(r[label] == names.get(r["ID"], r["ID"]) for r in shown)


async def _budget_figures(url: str, project: str | None = None) -> tuple[Decimal, Decimal]:
    """The month to date and forecast of the budgets' own check, summed over the sources."""
    budgets = tuple(
        Budget(name=source, amount=Decimal(10**9), source=source, project=project)
        for source in ("default", SECOND)
    )
    report = await check(url, BudgetConfig(budgets=budgets), dry_run=True)
    spent = sum((b.spent for b in report.budgets), Decimal(0))
    forecasts = [b.forecast for b in report.budgets]
    assert None not in forecasts
    return spent, sum((f for f in forecasts if f is not None), Decimal(0))


@pytest.mark.parametrize("narrowed", [False, True], ids=["organization", "one project"])
async def test_month_to_date_and_forecast_are_the_budgets_figures(
    synced: str, narrowed: bool
) -> None:
    project = await _costliest_project(synced, "default") if narrowed else None
    spent, forecast = await _budget_figures(synced, project)
    picked = {"project": [project]} if project else {}
    shown_spent = await run_panel(synced, "costs", "Month to date", **picked)
    shown_forecast = await run_panel(synced, "costs", "Forecast for the month", **picked)
    assert shown_spent.rows == [(spent,)]
    assert shown_forecast.rows == [(forecast,)]
    assert forecast > spent > 0  # ten days into March: most of the month is forecast


async def test_the_provisional_region_runs_from_settled_to_synced(synced: str) -> None:
    board = DASHBOARDS["costs"]
    [annotation] = board["annotations"]["list"]
    result = await query(
        synced, expand(annotation["target"]["rawSql"], LAST_30_DAYS, selections(board))
    )
    state = await query(
        synced, "SELECT settled_until, synced_until FROM sync_state WHERE endpoint = 'costs'"
    )
    [(start, end, text)] = result.rows
    assert start == min(state.column("settled_until"))
    assert end == max(state.column("synced_until")) == NOW_DT
    assert "provisional" in text.lower()


def _utc_midnight(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def test_token_panels_add_up_to_the_completions_table_by_utc_day(synced: str) -> None:
    rows = (await query(synced, "SELECT * FROM completions WHERE bucket_width = '1h'")).records()
    # The view counts the days that start in the range, hourly buckets summed into them.
    counted = [r for r in rows if ODD.start <= _utc_midnight(r["start_time"]) <= ODD.end]
    for title, column in (
        ("Input tokens", "input_tokens"),
        ("Output tokens", "output_tokens"),
        ("Cached input tokens", "input_cached_tokens"),
        ("Requests", "num_model_requests"),
    ):
        result = await run_panel(synced, "usage", title, ODD)
        assert result.rows == [(total([r[column] for r in counted]),)], title
    chart = await run_panel(synced, "usage", "Tokens per day by model", ODD)
    expected = total([r["input_tokens"] for r in counted]) + total(
        [r["output_tokens"] for r in counted]
    )
    assert total(chart.column("tokens")) == expected


@pytest.mark.parametrize(
    ("title", "table", "column"),
    [
        ("Embedding tokens per day by model", "embeddings", "input_tokens"),
        ("Images per day by model", "images", "images"),
        ("Speech characters per day by model", "audio_speeches", "characters"),
        ("Transcribed audio per day by model", "audio_transcriptions", "seconds"),
        ("Web searches per day by model", "web_search_calls", "num_requests"),
        ("File searches per day by vector store", "file_search_calls", "num_requests"),
    ],
)
async def test_each_usage_chart_is_its_tables_buckets_summed_by_utc_day(
    synced: str, title: str, table: str, column: str
) -> None:
    rows = await query(
        synced,
        f"SELECT start_time, {column} FROM {table} "
        "WHERE start_time >= $1 AND start_time <= $2 AND bucket_width = '1h'",
        (ODD.start, ODD.end),
    )
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for start, value in rows.rows:
        expected[int(_utc_midnight(start).timestamp())] += Decimal(value or 0)
    chart = await run_panel(synced, "usage", title, ODD)
    shown: dict[int, Decimal] = defaultdict(Decimal)
    for moment, value in zip(chart.column("time"), chart.column(column), strict=True):
        shown[int(moment)] += value
    assert shown == expected
    assert sum(expected.values()) > 0


async def test_a_model_picked_narrows_the_token_panels_to_it(synced: str) -> None:
    model = "gpt-4o-mini-2024-07-18"
    rows = (await query(synced, "SELECT * FROM completions")).records()
    counted = [r for r in rows if LAST_30_DAYS.start <= _utc_midnight(r["start_time"])]
    expected = total([r["input_tokens"] for r in counted if r["model"] == model])
    result = await run_panel(synced, "usage", "Input tokens", model=[model])
    assert result.rows == [(expected,)]
    assert 0 < expected < total([r["input_tokens"] for r in counted])


async def test_freshness_shows_every_tables_settled_and_synced_times(synced: str) -> None:
    state = (await query(synced, "SELECT * FROM sync_state")).records()
    table = await run_panel(synced, "freshness", "Sync state")
    assert sorted(
        (r["source"], r["table"], r["settled until"], r["synced until"]) for r in table.records()
    ) == sorted((s["source"], s["endpoint"], s["settled_until"], s["synced_until"]) for s in state)
    last = await run_panel(synced, "freshness", "Last run")
    assert last.rows == [(Decimal(NOW) * 1000,)]
    held = await run_panel(synced, "freshness", "What the tables hold")
    costs = (await query(synced, "SELECT COUNT(*) FROM costs WHERE source = $1", (SECOND,))).rows
    assert (await run_panel(synced, "freshness", "What the tables hold", source=[SECOND])).rows
    assert [
        r["rows"] for r in held.records() if (r["table"], r["source"]) == ("costs", SECOND)
    ] == [costs[0][0]]


async def test_the_prefixed_dashboards_read_the_prefixed_tables(synced: str) -> None:
    from usage_async.grafana import database_catalog

    catalog = await database_catalog(synced, PREFIX)
    assert {"costs", "completions", "images"} <= set(catalog.columns)
    made = provisioning("postgresql://g@db/usage", catalog=catalog)
    dashboards = {
        name.rsplit("/", 1)[1].removesuffix(".json").removeprefix(PREFIX): json.loads(text)
        for name, text in made.files.items()
        if name.endswith(".json")
    }
    # Only what the prefixed sync made: the other endpoints' panels are left out.
    assert {o.panel for o in made.omitted} >= {"Speech characters per day by model"}
    assert not any(o.dashboard == "costs" for o in made.omitted)
    for name, board in dashboards.items():
        for panel in board["panels"]:
            result = await run_panel(synced, name, panel["title"], dashboards=dashboards)
            check_result(panel, result)
    expected = total([r["amount"] for r in await raw_costs(synced, LAST_30_DAYS, f"{PREFIX}costs")])
    unprefixed = total([r["amount"] for r in await raw_costs(synced, LAST_30_DAYS)])
    shown = await run_panel(synced, "costs", "Cost in the time range", dashboards=dashboards)
    assert shown.rows == [(expected,)]
    assert expected != unprefixed
    assert set(PREFIXED_ENDPOINTS) <= set(catalog.columns)


async def test_a_table_synced_at_two_widths_is_counted_once_at_the_views_width(
    synced: str,
) -> None:
    widths = await query(synced, f"SELECT DISTINCT bucket_width FROM {PREFIX}images ORDER BY 1")
    assert widths.column("bucket_width") == ["1d", "1h"]
    dashboards = _dashboards(PREFIX)
    chart = await run_panel(
        synced, "usage", "Images per day by model", LAST_30_DAYS, dashboards=dashboards
    )
    sums = {}
    for width in ("1d", "1h"):
        rows = await query(
            synced,
            f"SELECT images FROM {PREFIX}images WHERE bucket_width = $1 "
            "AND start_time >= $2 AND start_time <= $3",
            (width, LAST_30_DAYS.start, LAST_30_DAYS.end),
        )
        sums[width] = total(rows.column("images"))
    # The smallest width's name, as the views choose: never both widths added up.
    assert total(chart.column("images")) == sums["1d"] > 0
    assert sums["1h"] > 0
