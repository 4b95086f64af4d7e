"""The pictures page's Grafana part agrees with the program: the command it shows writes
what the compose file mounts, for the database the compose file starts, and Grafana gets
the password from the environment variable the data source reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from usage_async.grafana import DEFAULT_DASHBOARDS_PATH, PASSWORD_ENV, postgres_source

try:  # the docs extra brings PyYAML: where it is there, the compose file is read with it too
    import yaml
except ImportError:  # pragma: no cover - CI installs the docs extra
    yaml = None

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pictures.md"


def grafana_part() -> str:
    text = PAGE.read_text()
    return text[text.index("\n## Grafana\n") :]


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", grafana_part(), re.MULTILINE | re.DOTALL)


def test_the_command_shown_points_grafana_at_the_compose_database() -> None:
    commands = [line for block in blocks("console") for line in block.splitlines()]
    assert commands
    for command in commands:
        assert command.startswith("usage-async grafana --output provisioning ")
        url = command.split()[-1].strip("'")
        source = postgres_source(url)
        assert (source.address, source.user, source.database) == ("postgres:5432", "usage", "usage")
        assert source.sslmode == "disable"  # the postgres image serves no TLS
        assert not source.url_had_password


def test_the_compose_file_mounts_the_provisioning_and_syncs_every_15_minutes() -> None:
    [compose] = blocks("yaml")
    assert "- ./provisioning:/etc/grafana/provisioning:ro" in compose
    assert DEFAULT_DASHBOARDS_PATH.startswith("/etc/grafana/provisioning/")
    assert re.search(r"usage-async sync .*@postgres:5432/usage.* --every 15m", compose)
    assert f"{PASSWORD_ENV}: ${{{PASSWORD_ENV}}}" in compose
    if yaml is not None:
        services: dict[str, Any] = yaml.safe_load(compose)["services"]
        assert set(services) == {"postgres", "sync", "grafana"}
        assert services["postgres"]["environment"]["POSTGRES_USER"] == "usage"
        assert services["postgres"]["environment"]["POSTGRES_DB"] == "usage"
        assert PASSWORD_ENV in services["grafana"]["environment"]
        assert "exec usage-async sync" in services["sync"]["command"]
    assert f"`{PASSWORD_ENV}`" in grafana_part()
