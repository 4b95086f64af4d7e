"""The three dashboards as Grafana's JSON: Costs, Usage and Freshness.

``dashboards(catalog, datasource_uid)`` gives each dashboard's JSON (schema version
``SCHEMA_VERSION``, the last 30 days, UTC, no auto-refresh, linked to one another by their
tag) with the panels ``catalog`` can answer, and the panels it left out and why. Template
variables: ``source`` on all three, ``project`` on Costs and Usage, ``model`` on Usage;
each multi-value with "All" (see ``_panels``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._catalog import Catalog
from ._costs import PROVISIONAL_NEEDS, cost_panels, provisional_annotation_sql
from ._freshness import freshness_panels
from ._panels import (
    Panel,
    Variable,
    among,
    datasource_ref,
    query_target,
    render_panels,
    render_variable,
)
from ._usage import MODEL_TABLES, usage_panels

__all__ = [
    "SCHEMA_VERSION",
    "TAG",
    "Dashboard",
    "Omitted",
    "dashboards",
    "variables_used",
]

SCHEMA_VERSION = 41
"""The dashboard JSON's ``schemaVersion``: Grafana 12.0's. Grafana 12.1 and later migrate it
to 42 on load (which changes only fields hidden from a chart, none here); Grafana 11 reads
it as it is."""
TAG = "usage-async"
"""The tag of every dashboard, which their links to one another follow."""

_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")


def variables_used(sql: str) -> set[str]:
    """The template variables ``sql`` names (``$name`` or ``${name:format}``), Grafana's own
    ``$__`` macros left out."""
    return {a or b for a, b in _VARIABLE.findall(sql) if not (a or b).startswith("__")}


@attrs.frozen
class Omitted:
    """A panel left out of a dashboard: the database lacks ``missing`` (tables or
    ``table.column`` names, with the prefix)."""

    dashboard: str
    panel: str
    missing: tuple[str, ...]


@attrs.frozen
class Dashboard:
    """One dashboard: its file's name (``costs``...) and its JSON."""

    name: str
    json: dict[str, Any]


@attrs.frozen
class _Design:
    name: str
    title: str
    description: str
    panels: Callable[[Catalog], list[Panel]]
    variables: tuple[str, ...]
    annotations: bool = False


_DESIGNS = (
    _Design(
        "costs",
        "Costs",
        "What was spent, by project, line item, API key and user; the month's forecast; "
        "where the settled costs end.",
        cost_panels,
        ("source", "project"),
        annotations=True,
    ),
    _Design(
        "usage",
        "Usage",
        "Tokens and requests by model and project; images, audio and searches.",
        usage_panels,
        ("source", "project", "model"),
    ),
    _Design(
        "freshness",
        "Freshness",
        "How current each table is: settled and synced times, and the last run.",
        freshness_panels,
        ("source",),
    ),
)


def _source_variable(catalog: Catalog) -> Variable:
    return Variable(
        name="source",
        label="Source",
        sql=f"SELECT DISTINCT source FROM {catalog.table('sync_state')} ORDER BY 1",
        needs={"sync_state": ("source",)},
    )


def _project_variable(catalog: Catalog) -> Variable:
    """Every project of the directory, and those costs name that it does not know, shown by
    name (their ID where they have none)."""
    projects = catalog.table("projects")
    known = f"SELECT source, id FROM {projects}"
    needs: dict[str, tuple[str, ...]] = {"projects": ("source", "id", "name")}
    if catalog.has("costs", "source", "project_id"):
        known += (
            f"\n  UNION SELECT DISTINCT source, project_id FROM {catalog.table('costs')}"
            "\n  WHERE project_id IS NOT NULL"
        )
        needs["costs"] = ("source", "project_id")
    return Variable(
        name="project",
        label="Project",
        sql=f"""SELECT COALESCE(MAX(p.name), ids.id) AS __text, ids.id AS __value
FROM ({known}) ids
LEFT JOIN {projects} p ON p.source = ids.source AND p.id = ids.id
WHERE {among("source", "ids.source")}
GROUP BY ids.id
ORDER BY 1""",
        needs=needs,
    )


def _model_variable(catalog: Catalog) -> Variable | None:
    """The models used in the time range, in any table the Usage dashboard narrows by
    model."""
    columns = ("source", "start_time", "model")
    tables = [name for name in MODEL_TABLES if catalog.has(name, *columns)]
    if not tables:
        return None
    used = "\n  UNION ".join(
        f"SELECT DISTINCT source, model FROM {catalog.table(name)} WHERE $__timeFilter(start_time)"
        for name in tables
    )
    return Variable(
        name="model",
        label="Model",
        sql=f"""SELECT DISTINCT model FROM (
  {used}
) used
WHERE model IS NOT NULL AND {among("source", "source")}
ORDER BY 1""",
        needs=dict.fromkeys(tables, columns),
        refresh=2,
    )


def _variables(catalog: Catalog) -> dict[str, Variable]:
    found = {
        "source": _source_variable(catalog),
        "project": _project_variable(catalog),
        "model": _model_variable(catalog),
    }
    return {
        name: variable
        for name, variable in found.items()
        if variable is not None and not catalog.missing(variable.needs)
    }


UID_LENGTH = 40
"""The longest dashboard UID Grafana accepts."""


def _uid(catalog: Catalog, name: str) -> str:
    """The dashboard's UID: one per prefix and dashboard, at most ``UID_LENGTH`` characters.

    A UID too long for Grafana keeps its start and ends in a digest of the whole, so that
    two long prefixes, or the three dashboards of one, never share a UID (Grafana would
    load only one of them)."""
    uid = f"usage-async-{catalog.prefix.replace('_', '-')}{name}"
    if len(uid) <= UID_LENGTH:
        return uid
    digest = hashlib.sha256(uid.encode()).hexdigest()[:10]
    return f"{uid[: UID_LENGTH - len(digest) - 1]}-{digest}"


def _annotations(catalog: Catalog, datasource_uid: str) -> list[dict[str, Any]]:
    sql = provisional_annotation_sql(catalog)
    return [
        {
            "name": "Provisional costs",
            "enable": True,
            "hide": False,
            "iconColor": "orange",
            "datasource": datasource_ref(datasource_uid),
            "target": query_target(sql, "table", datasource_uid, ref="Anno"),
        }
    ]


def _dashboard_json(
    design: _Design,
    catalog: Catalog,
    panels: Sequence[Panel],
    variables: Sequence[Variable],
    datasource_uid: str,
) -> dict[str, Any]:
    suffix = f" ({catalog.prefix})" if catalog.prefix else ""
    annotations = (
        _annotations(catalog, datasource_uid)
        if design.annotations and not catalog.missing(PROVISIONAL_NEEDS)
        else []
    )
    return {
        "uid": _uid(catalog, design.name),
        "title": f"usage-async: {design.title}{suffix}",
        "description": design.description,
        "tags": [TAG],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-30d", "to": "now"},
        "refresh": "",
        "links": [
            {
                "title": "usage-async",
                "type": "dashboards",
                "tags": [TAG],
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {"list": [render_variable(v, datasource_uid) for v in variables]},
        "annotations": {"list": annotations},
        "panels": render_panels(panels, datasource_uid),
    }


def dashboards(catalog: Catalog, datasource_uid: str) -> tuple[list[Dashboard], list[Omitted]]:
    """The dashboards over ``catalog``'s database, reading the data source ``datasource_uid``,
    and the panels left out because the database lacks what they read.

    A panel is left out when a table, view or column it reads is missing, or a template
    variable it needs is; a dashboard with no panel left is left out whole.
    """
    available = _variables(catalog)
    made: list[Dashboard] = []
    omitted: list[Omitted] = []
    for design in _DESIGNS:
        variables = [available[name] for name in design.variables if name in available]
        names = {variable.name for variable in variables}
        kept: list[Panel] = []
        for panel in design.panels(catalog):
            missing = catalog.missing(panel.needs)
            missing += [f"${name}" for name in sorted(variables_used(panel.sql) - names)]
            if missing:
                omitted.append(Omitted(design.name, panel.title, tuple(missing)))
            else:
                kept.append(panel)
        if kept:
            json = _dashboard_json(design, catalog, kept, variables, datasource_uid)
            made.append(Dashboard(design.name, json))
    return made, omitted
