"""The dashboards' JSON, checked as Grafana would load it: one data source by UID, unique
panel IDs, a current schema version, a query in every panel, every variable a query uses
defined, panels that never overlap on the grid; and panels left out, saying why, when the
database lacks what they read."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usage_async.grafana import (
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    SCHEMA_VERSION,
    Catalog,
    dashboards,
    provisioning,
)
from usage_async.grafana._panels import GRID_COLUMNS, layout

from .grafana_sql import variable_names

URL = "postgresql://grafana@db.example:5432/usage"


def all_dashboards(catalog: Catalog | None = None) -> dict[str, dict[str, Any]]:
    files = provisioning(URL, catalog=catalog).files
    return {
        name.rsplit("/", 1)[1]: json.loads(text)
        for name, text in files.items()
        if name.endswith(".json")
    }


DASHBOARDS = all_dashboards()


def queries(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """Every query of a dashboard: (what, the object holding its data source, its SQL)."""
    found = [
        (f"panel {p['title']}", t, t["rawSql"]) for p in dashboard["panels"] for t in p["targets"]
    ]
    found += [(f"variable {v['name']}", v, v["query"]) for v in dashboard["templating"]["list"]]
    found += [
        (f"annotation {a['name']}", a["target"], a["target"]["rawSql"])
        for a in dashboard["annotations"]["list"]
    ]
    return found


def overlapping(places: list[dict[str, int]]) -> list[tuple[int, int]]:
    clashes = []
    for (i, a), (j, b) in itertools.combinations(enumerate(places), 2):
        if (
            a["x"] < b["x"] + b["w"]
            and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"]
            and b["y"] < a["y"] + a["h"]
        ):
            clashes.append((i, j))
    return clashes


def test_there_are_the_three_dashboards_each_with_its_own_uid() -> None:
    assert sorted(DASHBOARDS) == ["costs.json", "freshness.json", "usage.json"]
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == 3
    assert all(len(uid) <= 40 for uid in uids)


@pytest.mark.parametrize("prefix", ["acme_production_team_billing_", "a" * 60 + "_"])
def test_a_long_prefix_still_gives_each_dashboard_a_uid_of_its_own(prefix: str) -> None:
    # Grafana keeps one dashboard per UID: three sharing one would show as one.
    uids = {d["uid"] for d in all_dashboards(Catalog.of_sync(prefix)).values()}
    other = {d["uid"] for d in all_dashboards(Catalog.of_sync(prefix + "x_")).values()}
    assert len(uids) == 3
    assert all(len(uid) <= 40 for uid in uids)
    assert uids.isdisjoint(other)
    assert uids.isdisjoint(d["uid"] for d in DASHBOARDS.values())


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_a_dashboard_is_what_grafana_12_loads_as_current(name: str) -> None:
    dashboard = DASHBOARDS[name]
    # 41 is Grafana 12.0's schema version (39 was 11.0's, 40 11.3's; 42, 12.1's, only adds
    # hideFrom.tooltip where hideFrom.viz is set, which no panel here sets).
    assert dashboard["schemaVersion"] == SCHEMA_VERSION == 41
    assert "hideFrom" not in json.dumps(dashboard)
    assert dashboard["time"] == {"from": "now-30d", "to": "now"}
    assert dashboard["refresh"] == ""
    assert dashboard["timezone"] == "utc"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_query_reads_the_provisioned_data_source_by_uid(name: str) -> None:
    dashboard = DASHBOARDS[name]
    expected = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
    holders = [holder for _, holder, _ in queries(dashboard)]
    holders += [*dashboard["panels"], *dashboard["annotations"]["list"]]
    assert holders
    assert all(holder["datasource"] == expected for holder in holders)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panel_ids_are_unique_and_every_panel_has_one_non_empty_query(name: str) -> None:
    panels = DASHBOARDS[name]["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        [target] = panel["targets"]
        assert target["rawSql"].strip()
        assert target["rawQuery"] is True
        expected = "time_series" if panel["type"] == "timeseries" else "table"
        assert target["format"] == expected


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_a_query_uses_is_defined_and_every_defined_one_is_used(name: str) -> None:
    dashboard = DASHBOARDS[name]
    defined = {v["name"] for v in dashboard["templating"]["list"]}
    used: set[str] = set()
    for what, _, sql in queries(dashboard):
        names = variable_names(sql)
        assert names <= defined, f"{what} uses {names - defined}"
        used |= names
    assert used == defined
    for variable in dashboard["templating"]["list"]:
        assert variable["multi"] is True
        assert variable["includeAll"] is True
        assert variable["current"]["value"] == ["$__all"]


def test_the_variables_are_source_project_and_model_where_they_apply() -> None:
    names = {n: [v["name"] for v in d["templating"]["list"]] for n, d in DASHBOARDS.items()}
    assert names == {
        "costs.json": ["source", "project"],
        "usage.json": ["source", "project", "model"],
        "freshness.json": ["source"],
    }


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_fit_the_grid_and_never_overlap(name: str) -> None:
    places = [panel["gridPos"] for panel in DASHBOARDS[name]["panels"]]
    assert all(p["x"] >= 0 and p["w"] > 0 and p["x"] + p["w"] <= GRID_COLUMNS for p in places)
    assert all(p["y"] >= 0 and p["h"] > 0 for p in places)
    assert overlapping(places) == []


@given(st.lists(st.tuples(st.integers(1, GRID_COLUMNS), st.integers(1, 12)), max_size=30))
def test_the_layout_never_overlaps_whatever_the_sizes(sizes: list[tuple[int, int]]) -> None:
    places = layout(sizes)
    assert [(p["w"], p["h"]) for p in places] == sizes
    assert all(p["x"] + p["w"] <= GRID_COLUMNS for p in places)
    assert overlapping(places) == []


def test_the_costs_dashboard_shades_the_provisional_costs() -> None:
    [annotation] = DASHBOARDS["costs.json"]["annotations"]["list"]
    assert annotation["enable"] is True
    assert "settled_until" in annotation["target"]["rawSql"]
    assert DASHBOARDS["usage.json"]["annotations"]["list"] == []


def test_the_dashboards_link_to_one_another_keeping_time_and_variables() -> None:
    for dashboard in DASHBOARDS.values():
        [link] = dashboard["links"]
        assert link["type"] == "dashboards"
        assert link["tags"] == dashboard["tags"] == ["usage-async"]
        assert link["keepTime"] is link["includeVars"] is True


def _without(catalog: Catalog, table: str, *columns: str) -> Catalog:
    changed = dict(catalog.columns)
    if columns:
        changed[table] = changed[table] - set(columns)
    else:
        del changed[table]
    return Catalog(catalog.prefix, changed)


def test_a_panel_whose_column_the_database_lacks_is_left_out_saying_which() -> None:
    catalog = _without(Catalog.of_sync(), "costs", "user_id", "api_key_id")
    made, omitted = dashboards(catalog, DATASOURCE_UID)
    costs = next(d for d in made if d.name == "costs")
    titles = [p["title"] for p in costs.json["panels"]]
    assert "Top users" not in titles
    assert "Top API keys" not in titles
    assert "Cost per day by project" in titles
    assert {(o.panel, o.missing) for o in omitted} == {
        ("Top users", ("costs.user_id",)),
        ("Top API keys", ("costs.api_key_id",)),
    }
    assert overlapping([p["gridPos"] for p in costs.json["panels"]]) == []


def test_without_any_table_of_models_there_is_no_model_variable_nor_panel_needing_it() -> None:
    catalog = Catalog.of_sync()
    for table in ("completions", "embeddings", "images", "audio_speeches",
                  "audio_transcriptions", "web_search_calls", "tokens_by_model_day"):  # fmt: skip
        catalog = _without(catalog, table)
    made, omitted = dashboards(catalog, DATASOURCE_UID)
    usage = next(d for d in made if d.name == "usage")
    assert [v["name"] for v in usage.json["templating"]["list"]] == ["source", "project"]
    assert [p["title"] for p in usage.json["panels"]] == ["File searches per day by vector store"]
    assert len(omitted) == 13  # 4 stats, 2 charts and 2 tables of tokens, 5 charts of models
    assert {o.dashboard for o in omitted} == {"usage"}
    assert all("$model" in o.missing for o in omitted)


def test_a_database_without_costs_gets_no_costs_dashboard() -> None:
    catalog = Catalog.of_sync()
    for table in ("costs", "cost_by_project_day"):
        catalog = _without(catalog, table)
    made, _ = dashboards(catalog, DATASOURCE_UID)
    assert [d.name for d in made] == ["usage", "freshness"]


def test_the_prefix_names_every_table_and_the_files() -> None:
    catalog = Catalog.of_sync("acme_")
    files = provisioning(URL, catalog=catalog).files
    assert sorted(files) == [
        "dashboards/usage-async.yaml",
        "dashboards/usage-async/acme_costs.json",
        "dashboards/usage-async/acme_freshness.json",
        "dashboards/usage-async/acme_usage.json",
        "datasources/usage-async.yaml",
    ]
    costs = json.loads(files["dashboards/usage-async/acme_costs.json"])
    assert costs["title"] == "usage-async: Costs (acme_)"
    assert costs["uid"] != DASHBOARDS["costs.json"]["uid"]
    sql = " ".join(sql for _, _, sql in queries(costs))
    for table in ("costs", "cost_by_project_day", "sync_state", "projects", "api_keys", "users"):
        assert f" {table} " not in sql, table
        assert f" {table}\n" not in sql, table
        assert f"acme_{table}" in sql, table


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_no_query_has_a_sql_comment_which_newer_grafanas_strip_before_expanding(
    name: str,
) -> None:
    for what, _, sql in queries(DASHBOARDS[name]):
        assert "--" not in sql, what
        assert "/*" not in sql, what
