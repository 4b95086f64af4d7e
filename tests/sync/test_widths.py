"""A table holds one bucket width: another width for an existing table is refused, as a changed
grouping is (exit 2, nothing changed, the way out named), since rows of two widths in one
table are counted twice by every plain SUM."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import Emulator
from usage_async.sync import BucketWidthChangedError, GroupingChangedError, open_engine

from .conftest import DAY, NOW, cli_env, client_for, snapshot, table_rows
from .test_cli import usage_async

SINCE = NOW - 3 * DAY


async def test_another_width_for_a_table_is_refused_and_nothing_changes(
    emulator: Emulator, database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, database, since=SINCE, endpoints=["completions", "costs"])
        before = await snapshot(database)
        with pytest.raises(BucketWidthChangedError) as refused:
            await ua.sync(client, database, endpoints=["completions", "costs"], bucket_width="1d")
        # Another source shares the table, and so its width.
        with pytest.raises(BucketWidthChangedError):
            await ua.sync(
                client, database, endpoints=["completions"], bucket_width="1d", source="other"
            )
        assert await snapshot(database) == before
        # The way out: other tables.
        await ua.sync(
            client, database, since=SINCE, endpoints=["completions"], bucket_width="1d",
            prefix="daily_",
        )  # fmt: skip
    message = str(refused.value)
    assert isinstance(refused.value, GroupingChangedError)  # refused as a grouping is
    assert message.startswith("completions holds 1h buckets, but this sync asks for 1d")
    assert "--prefix" in message
    assert "costs" not in message  # costs are daily whatever is asked
    assert {r["bucket_width"] for r in await table_rows(database, "daily_completions")} == {"1d"}


async def test_a_table_an_older_version_left_with_two_widths_is_refused_with_the_way_back(
    emulator: Emulator, sqlite_database: str
) -> None:
    async with client_for(emulator) as client:
        await ua.sync(client, sqlite_database, since=SINCE, endpoints=["embeddings"])
        engine = open_engine(sqlite_database)
        async with engine.begin() as conn:  # what a --bucket-width 1d run used to add
            await conn.execute(
                sa.text(
                    "INSERT INTO sync_state SELECT source, endpoint, '1d', group_by, "
                    "settled_until, synced_until, NULL FROM sync_state"
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO embeddings SELECT source, '1d', start_time, end_time, "
                    "project_id, user_id, api_key_id, model, input_tokens, num_model_requests "
                    "FROM embeddings"
                )
            )
        with pytest.raises(BucketWidthChangedError) as refused:
            await ua.sync(client, sqlite_database, endpoints=["embeddings"])
        statements = str(refused.value).split("(to keep only 1h here: ")[1].rstrip(").")
        async with engine.begin() as conn:
            for statement in statements.split(";"):
                if statement.strip():
                    await conn.execute(sa.text(statement))
        await engine.dispose()
        await ua.sync(client, sqlite_database, endpoints=["embeddings"])
    assert "embeddings holds 1d and 1h buckets" in str(refused.value)
    assert {r["bucket_width"] for r in await table_rows(sqlite_database, "embeddings")} == {"1h"}


async def test_the_command_line_refuses_another_width_with_exit_2(
    emulator: Emulator, sqlite_database: str
) -> None:
    env = cli_env(emulator)
    code, _, err = await usage_async(env, "sync", sqlite_database, "--endpoint", "completions")
    assert code == 0, err
    before = await snapshot(sqlite_database)
    code, _, err = await usage_async(
        env, "sync", sqlite_database, "--endpoint", "completions", "--bucket-width", "1d"
    )
    assert code == 2
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "holds" in line]
    assert "completions holds 1h buckets, but this sync asks for 1d" in line
    assert "--prefix NAME_" in line
    assert await snapshot(sqlite_database) == before
