"""Panels and template variables as data, and the dashboard JSON Grafana reads made of them.

A ``Panel`` is what a dashboard shows: a title, a kind (``timeseries``, ``stat``, ``table``),
its one query's SQL in Grafana's PostgreSQL dialect (macros such as ``$__timeFilter`` and the
template variables ``$source``, ``$project``, ``$model``), the relations and columns it reads
(``needs``), its unit and its size. ``render_panel`` makes Grafana's JSON of one, and
``layout`` places panels left to right, top to bottom, on Grafana's 24-column grid, so no two
overlap whichever panels a database leaves out.

**Multi-value variables and "All".** Every variable is multi-value with an "All" option
whose value is the custom ``'__all'``: Grafana writes a custom all value into the SQL as it
is, and the values picked as a quoted, comma-separated list (``'a','b'``). So a filter is
``('__all' IN ($source) OR source IN ($source))``: "All" keeps every row, rows whose column
is null included (a table not grouped by project has a null ``project_id``), and a variable
with no values at all still makes valid SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from ._catalog import Needs

__all__ = [
    "ALL_VALUE",
    "DATASOURCE_TYPE",
    "GRID_COLUMNS",
    "Panel",
    "Variable",
    "among",
    "datasource_ref",
    "layout",
    "query_target",
    "render_panel",
    "render_panels",
    "render_variable",
]

DATASOURCE_TYPE = "grafana-postgresql-datasource"
"""The plugin ID of Grafana's built-in PostgreSQL data source (Grafana 10.3 and later;
``postgres`` before)."""
GRID_COLUMNS = 24
"""The width of Grafana's dashboard grid."""
ALL_VALUE = "'__all'"
"""The custom value of "All": written into the SQL as it is, as a quoted literal."""

PanelKind = Literal["timeseries", "stat", "table"]
QueryFormat = Literal["time_series", "table"]


def among(variable: str, column: str) -> str:
    """The SQL condition that ``column`` is among the values of the multi-value template
    variable ``variable`` (every row, nulls too, when "All" is picked)."""
    return f"({ALL_VALUE} IN (${variable}) OR {column} IN (${variable}))"


@attrs.frozen
class Panel:
    """One panel and its query.

    ``sql`` is the query in Grafana's PostgreSQL dialect; ``format`` is ``time_series`` (a
    ``time`` column, a ``metric`` column naming the series, numeric values; sorted by time)
    or ``table``. ``needs`` is what it reads. ``unit`` is Grafana's unit of the values
    (``currencyUSD``, ``short``...), ``units`` those of named table columns. ``width`` and
    ``height`` are in grid cells.
    """

    title: str
    kind: PanelKind
    sql: str
    needs: Needs
    description: str = ""
    unit: str = "short"
    units: Mapping[str, str] = attrs.field(factory=dict)
    width: int = 12
    height: int = 8

    @property
    def format(self) -> QueryFormat:
        return "time_series" if self.kind == "timeseries" else "table"


@attrs.frozen
class Variable:
    """A multi-value query variable with "All": its name (``$name`` in the SQL), label, the
    SQL of its values (``__value`` and ``__text`` columns, or one column), what that reads,
    and when Grafana runs it again (1: on load; 2: when the time range changes)."""

    name: str
    label: str
    sql: str
    needs: Needs
    refresh: Literal[1, 2] = 1


def datasource_ref(uid: str) -> dict[str, str]:
    """Grafana's reference to the PostgreSQL data source of ``uid``."""
    return {"type": DATASOURCE_TYPE, "uid": uid}


def query_target(sql: str, fmt: QueryFormat, uid: str, ref: str = "A") -> dict[str, Any]:
    """Grafana's JSON of one raw SQL query (a panel's target, an annotation's) named ``ref``,
    reading the data source of ``uid``."""
    return {
        "refId": ref,
        "datasource": datasource_ref(uid),
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": sql,
    }


def _field_config(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.kind == "timeseries":
        defaults["min"] = 0
        defaults["custom"] = {
            # Daily buckets as bars that start at their day, stacked into the day's total.
            "drawStyle": "bars",
            "barAlignment": 1,
            "fillOpacity": 80,
            "lineWidth": 1,
            "stacking": {"group": "A", "mode": "normal"},
        }
    elif panel.kind == "stat":
        defaults["color"] = {"mode": "fixed", "fixedColor": "text"}
    overrides = [
        {"matcher": {"id": "byName", "options": column}, "properties": [{"id": "unit", "value": u}]}
        for column, u in panel.units.items()
    ]
    return {"defaults": defaults, "overrides": overrides}


def _options(panel: Panel) -> dict[str, Any]:
    if panel.kind == "timeseries":
        return {
            "legend": {
                "calcs": ["sum"],
                "displayMode": "table",
                "placement": "right",
                "showLegend": True,
                "sortBy": "Total",
                "sortDesc": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if panel.kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "none",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    return {"cellHeight": "sm", "showHeader": True}


def render_panel(panel: Panel, panel_id: int, grid: Mapping[str, int], uid: str) -> dict[str, Any]:
    """Grafana's JSON of ``panel``, with its ``id``, its place on the grid (``x``, ``y``,
    ``w``, ``h``) and the data source of ``uid``."""
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": datasource_ref(uid),
        "gridPos": dict(grid),
        "targets": [query_target(panel.sql, panel.format, uid)],
        "fieldConfig": _field_config(panel),
        "options": _options(panel),
    }


def render_variable(variable: Variable, uid: str) -> dict[str, Any]:
    """Grafana's JSON of ``variable``: multi-value, "All" picked (``ALL_VALUE``), its values
    sorted alphabetically."""
    return {
        "name": variable.name,
        "label": variable.label,
        "type": "query",
        "datasource": datasource_ref(uid),
        "query": variable.sql,
        "definition": variable.sql,
        "refresh": variable.refresh,
        "multi": True,
        "includeAll": True,
        "allValue": ALL_VALUE,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "sort": 1,
        "hide": 0,
    }


def layout(sizes: Iterable[tuple[int, int]]) -> list[dict[str, int]]:
    """The grid places of panels of ``sizes`` (width, height), in order: left to right, a new
    row when the next one does not fit, each row as tall as its tallest panel."""
    places: list[dict[str, int]] = []
    x = y = row_height = 0
    for width, height in sizes:
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        places.append({"x": x, "y": y, "w": width, "h": height})
        x += width
        row_height = max(row_height, height)
    return places


def render_panels(panels: Sequence[Panel], uid: str) -> list[dict[str, Any]]:
    """The JSON of ``panels`` laid out in order, with ids 1, 2, 3..."""
    places = layout((panel.width, panel.height) for panel in panels)
    return [
        render_panel(panel, number, place, uid)
        for number, (panel, place) in enumerate(zip(panels, places, strict=True), start=1)
    ]
