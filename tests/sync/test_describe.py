"""``usage-async sync --describe [URL]`` and ``describe()``: the schema told by the definitions
that make it. Every table and view a sync creates is listed with every column, its type and
its one line; a database is described as it is (its prefix, its grouping, its types); no
line is wider than a terminal of 80 columns; no key is needed and nothing is created."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import Emulator
from usage_async.sync import Schema, describe, describe_database, open_engine

from .conftest import DAY, NOW, cli_command, client_for

SINCE = NOW - 2 * DAY


def without_key() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}


async def usage_async(cwd: Path, *argv: str) -> tuple[int, str, str]:
    """Run ``usage-async ARGV...`` with no key, in ``cwd``: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        *cli_command(*argv), env=without_key(), cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def relations_of(database: str) -> set[str]:
    engine = open_engine(database)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: set(sa.inspect(c).get_table_names() + sa.inspect(c).get_view_names())
            )
    finally:
        await engine.dispose()


def headings(out: str) -> list[tuple[str, str]]:
    """The (name, kind) of each relation the output describes."""
    found = []
    for line in out.splitlines():
        name, _, rest = line.partition(" (")
        if line[:1] not in (" ", "") and rest.startswith(("table)", "view)")):
            found.append((name, rest.split(")", 1)[0]))
    return found


def test_every_column_a_sync_creates_has_its_one_line() -> None:
    schema = Schema()
    for endpoint in ua.ENDPOINTS.values():
        schema.usage_table(endpoint, endpoint.group_by)
    missing = [
        f"{table.name}.{column.name}"
        for table in schema.metadata.tables.values()
        for column in table.columns
        if not column.comment
    ]
    assert missing == []
    assert all(table.comment for table in schema.metadata.tables.values())
    for relation in describe():
        assert relation.meaning, relation.name
        assert all(column.meaning for column in relation.columns), relation.name


async def test_describe_without_a_url_lists_what_a_sync_creates_in_80_columns(
    tmp_path: Path,
) -> None:
    code, out, err = await usage_async(tmp_path, "sync", "--describe", "--prefix", "acme_")
    assert code == 0, err
    assert err == ""
    assert [line for line in out.splitlines() if len(line) > 80] == []
    expected = describe(prefix="acme_")
    assert headings(out) == [(r.name, r.kind) for r in expected]
    for relation in expected:
        section = out.split(f"\n{relation.name} ({relation.kind})", 1)[1].split("\n\n", 1)[0]
        listed = [line.split()[0] for line in section.splitlines()[1:] if line[2:3] != " "]
        assert listed[-len(relation.columns) :] == [c.name for c in relation.columns]
    assert "acme_cost_by_project_day (view)" in out
    assert "  time     an instant: timestamptz on PostgreSQL" in out
    assert os.listdir(tmp_path) == []


async def test_describe_with_a_url_lists_what_that_database_has(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["costs"], prefix="a_")
        await ua.sync(
            client, database, since=SINCE, endpoints=["completions"], group_by=["model"],
            prefix="b_",
        )  # fmt: skip
    code, out, err = await usage_async(tmp_path, "sync", "--describe", database, "--prefix", "b_")
    assert code == 0, err
    assert [line for line in out.splitlines() if len(line) > 80] == []
    described = {name for name, _ in headings(out)}
    assert described == {name for name in await relations_of(database) if name.startswith("b_")}
    assert "b_tokens_by_model_day" in described
    completions = out.split("\nb_completions (table)", 1)[1].split("\n\n", 1)[0]
    assert "  model " in completions
    assert "project_id" not in completions  # the table is grouped by model only

    found = await describe_database(database, prefix="a_")
    costs = next(r for r in found if r.name == "a_costs")
    defined = next(r for r in describe(prefix="a_") if r.name == "a_costs")
    assert [c.name for c in costs.columns] == [c.name for c in defined.columns]
    assert [c.meaning for c in costs.columns] == [c.meaning for c in defined.columns]
    timed = next(c for c in costs.columns if c.name == "start_time")
    assert timed.type == (
        "VARCHAR(20)" if database.startswith("sqlite") else "TIMESTAMP WITH TIME ZONE"
    )
    assert {r.name for r in found} == {
        n for n in await relations_of(database) if n.startswith("a_")
    }


async def test_describing_a_sqlite_file_that_is_not_there_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    code, out, err = await usage_async(tmp_path, "sync", "--describe", f"sqlite:///{path}")
    assert code == 2
    assert "there is no database at sqlite+aiosqlite:///" in err
    assert out == ""
    assert not path.exists()
