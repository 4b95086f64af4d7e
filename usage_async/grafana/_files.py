"""The provisioning files, made and written: a data source, a dashboard provider, the JSON.

Laid out as Grafana's provisioning directory, to be mounted at ``/etc/grafana/provisioning``::

    datasources/usage-async.yaml        the PostgreSQL data source (no password in it)
    dashboards/usage-async.yaml         a file provider reading the folder below
    dashboards/usage-async/costs.json   the dashboards (PREFIX_costs.json with a prefix)
    dashboards/usage-async/usage.json
    dashboards/usage-async/freshness.json

The provider's ``path`` is where Grafana sees that folder (``DEFAULT_DASHBOARDS_PATH``, as
mounted above); another mount needs another path. Writing replaces these files, each
atomically (Grafana polls the folder), and leaves every other file alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from .._files import replace_text
from ._catalog import Catalog
from ._dashboards import Omitted, dashboards
from ._datasource import (
    DATASOURCE_UID,
    PASSWORD_ENV,
    PostgresSource,
    datasource_document,
    postgres_source,
)
from ._yaml import provisioning_yaml

__all__ = [
    "DASHBOARDS_FOLDER",
    "DATASOURCE_FILE",
    "DEFAULT_DASHBOARDS_PATH",
    "PROVIDER_FILE",
    "Provisioning",
    "provisioning",
]

DATASOURCE_FILE = "datasources/usage-async.yaml"
PROVIDER_FILE = "dashboards/usage-async.yaml"
DASHBOARDS_FOLDER = "dashboards/usage-async"
DEFAULT_DASHBOARDS_PATH = "/etc/grafana/provisioning/dashboards/usage-async"
"""Where Grafana reads the dashboards' JSON when the output is mounted at
``/etc/grafana/provisioning``."""
_WRITTEN_BY = "Written by usage-async grafana: run it again to update; edits here are replaced."


@attrs.frozen
class Provisioning:
    """The provisioning files (path relative to the output directory -> text), where Grafana
    finds the database, and the panels left out because the database lacks what they read."""

    files: Mapping[str, str]
    source: PostgresSource
    omitted: tuple[Omitted, ...] = ()

    def write(self, output: str | os.PathLike[str]) -> list[Path]:
        """Write the files under ``output`` (made if missing), each replaced atomically;
        return their paths. Raises ``OSError`` if a file cannot be written."""
        root = Path(output)
        written = []
        for relative, text in self.files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_text(path, text)  # 0644: a Grafana running as another user reads it
            written.append(path)
        return written


def _provider_document(path: str) -> Mapping[str, object]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "usage-async",
                "orgId": 1,
                "folder": "usage-async",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": path, "foldersFromFilesStructure": False},
            }
        ],
    }


def provisioning(
    database: str,
    *,
    prefix: str = "",
    dashboards_path: str = DEFAULT_DASHBOARDS_PATH,
    catalog: Catalog | None = None,
) -> Provisioning:
    """Grafana's provisioning files for the PostgreSQL database ``database`` (a URL) that a
    sync keeps under ``prefix``, with the dashboards' folder at ``dashboards_path`` as
    Grafana sees it.

    The panels are those ``catalog`` can answer: by default (``Catalog.of_sync``) every
    table and view a sync of this version creates; ``database_catalog`` reads what the
    database has. Raises ``InvalidParameterError`` for a URL Grafana cannot read (SQLite
    among them: see ``postgres_source``) or a prefix a sync refuses.
    """
    source = postgres_source(database)
    catalog = catalog if catalog is not None else Catalog.of_sync(prefix)
    made, omitted = dashboards(catalog, DATASOURCE_UID)
    datasource = provisioning_yaml(
        datasource_document(source),
        [
            _WRITTEN_BY,
            f"The password is read from Grafana's environment: {PASSWORD_ENV}.",
        ],
    )
    provider = provisioning_yaml(
        _provider_document(dashboards_path),
        [_WRITTEN_BY, f"The dashboards are the JSON files of {DASHBOARDS_FOLDER}/."],
    )
    files = {DATASOURCE_FILE: datasource, PROVIDER_FILE: provider}
    for dashboard in made:
        name = f"{DASHBOARDS_FOLDER}/{catalog.prefix}{dashboard.name}.json"
        files[name] = json.dumps(dashboard.json, indent=2, ensure_ascii=False) + "\n"
    return Provisioning(files, source, tuple(omitted))
