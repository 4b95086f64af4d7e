"""The directory by need: the projects and users lists every run, a project's API keys only when
keys new to the table appear in its rows or its list is older than ``directory_max_age``,
service accounts never (no table keeps them); and a run's report counts every request it
sent, as the emulator counted them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator, serve
from usage_async.sync import open_engine

from .conftest import DAY, NOW, client_for, table_rows

ENDPOINTS = ["completions", "costs", "embeddings"]
SINCE = dt.timedelta(days=3)


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def emulator_on(clock: Clock) -> AsyncIterator[Emulator]:
    """The emulator on a clock the test moves."""
    async with serve(port=0, now=lambda: clock.now) as emu:
        yield emu


async def counted_run(emu: Emulator, database: str, **options: Any) -> tuple[Any, Counter[str]]:
    """One sync; its report and the requests the emulator served for it, by endpoint (and
    ``"all"``)."""
    before = Counter(emu.stats.by_endpoint)
    total = emu.stats.requests
    async with client_for(emu) as client:
        report = await ua.sync(client, database, since=SINCE, endpoints=ENDPOINTS, **options)
    served = Counter(emu.stats.by_endpoint)
    served.subtract(before)
    served["all"] = emu.stats.requests - total
    return report, served


async def test_a_run_with_nothing_new_makes_no_request_per_project_and_counts_them_all(
    emulator_on: Emulator, database: str
) -> None:
    first, served = await counted_run(emulator_on, database)
    projects = len(ORGANIZATION.projects)
    assert served["project_api_keys"] == projects  # never listed: every project once
    assert served["project_service_accounts"] == 0  # nothing keeps them
    assert first.requests == served["all"]
    assert f", {served['all']} requests," in first.summary()

    again, served = await counted_run(emulator_on, database)
    assert served["project_api_keys"] == 0
    assert served["project_service_accounts"] == 0
    assert served["projects"] >= 1  # the cheap lists, every run
    assert served["users"] >= 1
    assert again.requests == served["all"]
    names = {r["id"]: r["name"] for r in await table_rows(database, "api_keys")}
    assert set(names) == {key.id for key in ORGANIZATION.api_keys}


async def test_a_key_new_to_the_table_lists_the_keys_of_its_project_only(
    emulator_on: Emulator, database: str
) -> None:
    await counted_run(emulator_on, database)
    # A key of a row the next run writes again (the unsettled days), gone from the table as
    # if it had been made since the last listing.
    recent = [
        r
        for r in await table_rows(database, "completions")
        if r["api_key_id"] is not None and r["start_time"] >= max_start(database)
    ]
    key, project = recent[0]["api_key_id"], recent[0]["project_id"]
    engine = open_engine(database)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM api_keys WHERE id = :id"), {"id": key})
    await engine.dispose()
    report, served = await counted_run(emulator_on, database)
    assert served["project_api_keys"] == 1
    assert report.requests == served["all"]
    [row] = await table_rows(database, "api_keys", f"WHERE id = '{key}'")
    assert row["project_id"] == project


def max_start(database: str) -> Any:
    """The start of the unsettled range (as the database compares times)."""
    moment = dt.datetime.fromtimestamp(NOW - 2 * DAY + 3600, dt.UTC)
    if database.startswith("sqlite"):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment


async def test_key_lists_older_than_the_max_age_are_listed_again(
    emulator_on: Emulator, clock: Clock, database: str
) -> None:
    await counted_run(emulator_on, database)
    clock.now += 23 * 3600
    _, served = await counted_run(emulator_on, database)
    assert served["project_api_keys"] == 0  # 23 hours old
    clock.now += 2 * 3600
    _, served = await counted_run(emulator_on, database)
    assert served["project_api_keys"] == len(ORGANIZATION.projects)  # 25 hours old
    clock.now += 3600
    _, served = await counted_run(emulator_on, database, directory_max_age=dt.timedelta(minutes=30))
    assert served["project_api_keys"] == len(ORGANIZATION.projects)
    read = {r["api_keys_read_at"] for r in await table_rows(database, "projects")}
    assert len(read) == 1  # every list read by the last run, at the server's clock
