"""The provisioning files: YAML Grafana reads as meant, no password in any of them whatever
the URL holds, the data source's address and TLS mode from the URL, SQLite refused, and
files written so that Grafana never reads half of one."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from usage_async import InvalidParameterError
from usage_async.grafana import (
    DATASOURCE_FILE,
    DATASOURCE_UID,
    PASSWORD_ENV,
    PROVIDER_FILE,
    postgres_source,
    provisioning,
)

from .yaml_subset import grafana_document, read_yaml

try:  # the docs extra brings PyYAML: where it is there, the files are read with it too
    import yaml
except ImportError:  # pragma: no cover - CI installs the docs extra
    yaml = None

PASSWORD = "s3cr3t-PASSW0RD"


def documents(url: str, **options: Any) -> dict[str, Any]:
    files = provisioning(url, **options).files
    found = {}
    for name in (DATASOURCE_FILE, PROVIDER_FILE):
        document = read_yaml(files[name])
        if yaml is not None:
            assert yaml.safe_load(files[name]) == document
        found[name] = document
    return found


def datasource(url: str, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """The data source as Grafana reads it, environment variables expanded."""
    document = grafana_document(documents(url)[DATASOURCE_FILE], environment or {})
    [source] = document["datasources"]
    assert document["apiVersion"] == 1
    return dict(source)


def test_the_data_source_is_postgresql_with_a_fixed_uid_and_the_urls_address() -> None:
    source = datasource(f"postgresql://grafana:{PASSWORD}@db.example:6543/usage")
    assert source["type"] == "grafana-postgresql-datasource"
    assert source["uid"] == DATASOURCE_UID
    assert source["url"] == "db.example:6543"
    assert source["user"] == "grafana"
    assert source["jsonData"] == {
        "database": "usage",
        "sslmode": "require",
        "postgresVersion": 1500,
        "timescaledb": False,
    }


def test_the_password_is_never_written_and_grafana_reads_it_from_its_environment() -> None:
    url = f"postgresql://grafana:{PASSWORD}@db.example/usage"
    made = provisioning(url)
    for name, text in made.files.items():
        assert PASSWORD not in text, name
    assert f"$__env{{{PASSWORD_ENV}}}" in made.files[DATASOURCE_FILE]
    assert repr(made.source).count(PASSWORD) == 0
    assert made.source.url_had_password
    read = datasource(url, {PASSWORD_ENV: "from-the-environment"})
    assert read["secureJsonData"] == {"password": "from-the-environment"}


def test_a_dollar_in_a_name_reaches_grafana_as_it_is() -> None:
    # Grafana expands $NAME in every value and reads $$ as $: the names are escaped.
    source = datasource("postgresql://us$er@db.example/da$ta", {"er": "X", "ta": "Y"})
    assert source["user"] == "us$er"
    assert source["jsonData"]["database"] == "da$ta"


@pytest.mark.parametrize(
    ("url", "address", "sslmode"),
    [
        ("postgresql://g@localhost/usage", "localhost:5432", "disable"),
        ("postgresql://g@127.0.0.1:5433/usage", "127.0.0.1:5433", "disable"),
        ("postgresql://g@[::1]/usage", "[::1]:5432", "disable"),
        ("postgresql://g@/usage?host=/var/run/postgresql", "/var/run/postgresql", "disable"),
        ("postgresql://g@db.internal/usage", "db.internal:5432", "require"),
        ("postgresql://g@db.internal/usage?sslmode=disable", "db.internal:5432", "disable"),
        ("postgresql://g@localhost/usage?sslmode=verify-full", "localhost:5432", "verify-full"),
        ("postgresql+asyncpg://g@db.internal/usage?ssl=verify-ca", "db.internal:5432", "verify-ca"),
    ],
)
def test_the_address_and_tls_mode_come_from_the_url(url: str, address: str, sslmode: str) -> None:
    source = postgres_source(url)
    assert (source.address, source.sslmode) == (address, sslmode)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///usage.db", "Grafana has no built-in SQLite data source"),
        ("postgresql://db.example/usage", "names no user"),
        ("postgresql://g@db.example", "names no database"),
        ("postgresql://g@db.example/usage?sslmode=prefer", "sslmode=prefer"),
        ("not a url", "is not a database URL"),
        (f"mysql://g:{PASSWORD}@db.example/usage", "mysql"),
    ],
)
def test_a_url_grafana_cannot_read_is_refused_saying_why_without_its_password(
    url: str, says: str
) -> None:
    with pytest.raises(InvalidParameterError, match=says) as raised:
        provisioning(url)
    assert raised.value.param == "database"
    assert PASSWORD not in str(raised.value)


def test_the_provider_reads_the_dashboards_folder_where_grafana_sees_it() -> None:
    provider = documents("postgresql://g@db/usage")[PROVIDER_FILE]
    [entry] = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"] == "/etc/grafana/provisioning/dashboards/usage-async"
    moved = documents("postgresql://g@db/usage", dashboards_path="/var/lib/grafana/d")
    assert moved[PROVIDER_FILE]["providers"][0]["options"]["path"] == "/var/lib/grafana/d"


def test_a_bad_prefix_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="prefix"):
        provisioning("postgresql://g@db/usage", prefix="Acme-")


def test_writing_makes_the_folders_replaces_its_files_and_leaves_the_others(
    tmp_path: Path,
) -> None:
    output = tmp_path / "provisioning"
    (output / "dashboards" / "usage-async").mkdir(parents=True)
    (output / "dashboards" / "usage-async" / "costs.json").write_text("old")
    (output / "datasources").mkdir()
    (output / "datasources" / "other.yaml").write_text("mine")
    made = provisioning("postgresql://g@db/usage")
    written = made.write(output)
    assert sorted(p.relative_to(output).as_posix() for p in written) == sorted(made.files)
    assert (output / "datasources" / "other.yaml").read_text() == "mine"
    costs = json.loads((output / "dashboards" / "usage-async" / "costs.json").read_text())
    assert costs["title"] == "usage-async: Costs"
    every = sorted(p.name for p in output.rglob("*") if p.is_file())
    assert every == sorted(["other.yaml", *(Path(n).name for n in made.files)])  # no temp file
    for path in written:  # readable by a Grafana that runs as another user
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o044 == 0o044
