"""``usage-async grafana`` as a user runs it: the files it writes and what it says, SQLite
refused, ``--inspect`` leaving out what a database cannot answer, and a light ``--help``."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import usage_async as ua
import usage_async.grafana
from tests.cli.test_layout import HEAVY, imported_by
from tests.sync.conftest import NOW, cli_command, client_for
from usage_async.cli._commands import grafana as command
from usage_async.emulator import serve

from .conftest import DAY

PASSWORD = "pa55-W0RD-in-the-url"


def usage_async_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command("grafana", *argv), cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def written(output: Path) -> dict[str, str]:
    return {
        p.relative_to(output).as_posix(): p.read_text() for p in output.rglob("*") if p.is_file()
    }


def test_it_writes_the_provisioning_directory_and_says_where_the_password_comes_from(
    tmp_path: Path,
) -> None:
    done = usage_async_cli(
        "--output", "provisioning", f"postgresql://grafana:{PASSWORD}@db.example/usage",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "usage-async: wrote 3 dashboards and a data source under provisioning",
        "usage-async: mount provisioning at /etc/grafana/provisioning",
        "usage-async: Grafana reads the database password from $USAGE_ASYNC_PG_PASSWORD "
        "(the one in DATABASE_URL is not written)",
    ]
    files = written(tmp_path / "provisioning")
    assert sorted(files) == [
        "dashboards/usage-async.yaml",
        "dashboards/usage-async/costs.json",
        "dashboards/usage-async/freshness.json",
        "dashboards/usage-async/usage.json",
        "datasources/usage-async.yaml",
    ]
    assert not any(PASSWORD in text for text in files.values())


def test_the_default_database_is_the_docs_compose_one(tmp_path: Path) -> None:
    done = usage_async_cli("--output", "out", "--prefix", "acme_", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    files = written(tmp_path / "out")
    assert '"postgres:5432"' in files["datasources/usage-async.yaml"]
    assert '"disable"' in files["datasources/usage-async.yaml"]
    assert "dashboards/usage-async/acme_costs.json" in files


def test_sqlite_is_refused_saying_why_and_nothing_is_written(tmp_path: Path) -> None:
    done = usage_async_cli("--output", "out", "sqlite:///usage.db", cwd=tmp_path)
    assert done.returncode == 2
    assert "Grafana has no built-in SQLite data source" in done.stderr
    assert "usage: usage-async grafana" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_database_inspect_cannot_reach_is_exit_1_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    done = usage_async_cli(
        "--output", "out", "--inspect", f"postgresql://g:{PASSWORD}@127.0.0.1:{port}/usage",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot read the database" in done.stderr
    assert PASSWORD not in done.stderr
    assert not (tmp_path / "out").exists()


def test_inspecting_an_empty_database_says_to_sync_first(
    tmp_path: Path, postgresql_database: str
) -> None:
    done = usage_async_cli("--output", "out", "--inspect", postgresql_database, cwd=tmp_path)
    assert done.returncode == 1
    assert "no table or view of a sync" in done.stderr
    assert "run usage-async sync first" in done.stderr


async def test_inspect_leaves_out_the_panels_a_narrower_sync_cannot_answer(
    tmp_path: Path, postgresql_database: str
) -> None:
    async with serve(port=0, now=lambda: NOW) as emu, client_for(emu) as client:
        await ua.sync(
            client, postgresql_database, since=NOW - 10 * DAY, endpoints=["costs"],
            group_by=["project_id", "line_item"],
        )  # fmt: skip
    done = usage_async_cli(
        "--output", "out", "--inspect", f"{postgresql_database}?sslmode=disable", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "usage-async: left out costs: Top API keys, which reads costs.api_key_id" in (
        done.stderr.splitlines()
    )
    assert "usage-async: left out costs: Top users, which reads costs.user_id" in (
        done.stderr.splitlines()
    )
    files = written(tmp_path / "out")
    assert "dashboards/usage-async/usage.json" not in files  # no usage table at all
    costs = json.loads(files["dashboards/usage-async/costs.json"])
    titles = [panel["title"] for panel in costs["panels"]]
    assert "Cost per day by project" in titles
    assert "Top users" not in titles


def test_help_loads_no_library_and_restates_the_librarys_names(tmp_path: Path) -> None:
    done, modules = imported_by(["grafana", "--help"], tmp_path)
    assert done.returncode == 0
    assert "usage_async.grafana" not in modules
    assert sorted(modules & set(HEAVY)) == []
    assert command.PASSWORD_ENV == usage_async.grafana.PASSWORD_ENV
    assert command.DEFAULT_DASHBOARDS_PATH == usage_async.grafana.DEFAULT_DASHBOARDS_PATH
    assert usage_async.grafana.postgres_source(command.DEFAULT_DATABASE).address == "postgres:5432"
