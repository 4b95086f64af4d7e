"""Grafana dashboards over the database ``sync`` keeps: file provisioning, ready to mount.

    from usage_async.grafana import provisioning

    files = provisioning("postgresql://grafana@db:5432/usage?sslmode=disable")
    files.write("provisioning")     # mount it at /etc/grafana/provisioning

Three dashboards read the synced PostgreSQL database through one data source (UID
``usage-async``): **Costs** (cost per day by project and by line item, the time range's
total, the month to date and its forecast, the top API keys and users, and the provisional
costs shaded from ``sync_state.settled_until``), **Usage** (tokens and requests by model and
project, embeddings, images, audio, searches) and **Freshness** (each table's settled and
synced times, the last run, what the tables hold). Template variables ``source``,
``project`` and ``model`` are multi-value with "All". The password is never written:
Grafana reads it from its environment, ``USAGE_ASYNC_PG_PASSWORD``.

Every query is SQL in Grafana's PostgreSQL dialect over the sync's views
(``cost_by_project_day``, ``tokens_by_model_day``) and tables, honouring its ``prefix``.
A panel whose table or column a database lacks is left out (``provisioning``'s ``catalog``,
``database_catalog``). SQLite is refused: Grafana has no built-in SQLite data source.
``usage-async grafana`` is the command line. Needs the ``sync`` extra (SQLAlchemy, for the
schema and the URL).
"""

from __future__ import annotations

from ._catalog import Catalog, Needs, database_catalog
from ._costs import DAY_START
from ._dashboards import SCHEMA_VERSION, TAG, Dashboard, Omitted, dashboards, variables_used
from ._datasource import (
    DATASOURCE_NAME,
    DATASOURCE_UID,
    PASSWORD_ENV,
    SSL_MODES,
    PostgresSource,
    postgres_source,
)
from ._files import (
    DASHBOARDS_FOLDER,
    DATASOURCE_FILE,
    DEFAULT_DASHBOARDS_PATH,
    PROVIDER_FILE,
    Provisioning,
    provisioning,
)
from ._panels import ALL_VALUE, DATASOURCE_TYPE, Panel, Variable

__all__ = [
    "ALL_VALUE",
    "DASHBOARDS_FOLDER",
    "DATASOURCE_FILE",
    "DATASOURCE_NAME",
    "DATASOURCE_TYPE",
    "DATASOURCE_UID",
    "DAY_START",
    "DEFAULT_DASHBOARDS_PATH",
    "PASSWORD_ENV",
    "PROVIDER_FILE",
    "SCHEMA_VERSION",
    "SSL_MODES",
    "TAG",
    "Catalog",
    "Dashboard",
    "Needs",
    "Omitted",
    "Panel",
    "PostgresSource",
    "Provisioning",
    "Variable",
    "dashboards",
    "database_catalog",
    "postgres_source",
    "provisioning",
    "variables_used",
]
