"""``usage-async sync --budgets``: the check after each run, its exit code combined with the
sync's, and a bad budgets config refused before anything is synced.

The sync reads the emulator (its clock pinned at the budget suite's ``NOW``, with the planted
spike) into an empty SQLite or PostgreSQL database, in a child process; the receiver of the
alerts is ``tests/budgets``'.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.budgets import conftest as budget_suite
from tests.budgets.conftest import NOW, SECRET, SPIKE_DAY, TOKEN, AlertServer
from tests.sync.conftest import cli_command, snapshot
from usage_async.emulator import Emulator, Spike, serve

from .test_budget_check import CROSSING, WITHIN, Run, alert_rows, budgets_toml, usage_async

postgres_server = budget_suite.postgres_server
postgresql_database = budget_suite.postgresql_database
database = budget_suite.database
sqlite_database = budget_suite.sqlite_database
receiver = budget_suite.receiver


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulator at the budget suite's ``NOW``, with its spike."""
    async with serve(port=0, now=lambda: NOW, spike=Spike(SPIKE_DAY)) as emu:
        yield emu


@pytest.fixture
def environment(emulator: Emulator, receiver: AlertServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COLUMNS"))}
    env.update(
        OPENAI_ADMIN_KEY=emulator.api_key,
        OPENAI_BASE_URL=emulator.base_url,
        SLACK_WEBHOOK_URL=receiver.url("team-slack"),
        BUDGET_WEBHOOK_URL=receiver.url("finops"),
        BUDGET_WEBHOOK_SECRET=SECRET,
    )
    return env


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    return str(path)


SYNC = ("sync", "--endpoint", "costs", "--since", "20d")


async def test_every_run_is_followed_by_a_check_and_the_alert_goes_out_once(
    database: str, receiver: AlertServer, environment: dict[str, str], tmp_path: Path
) -> None:
    budgets = write(tmp_path, budgets_toml(CROSSING))
    process = await asyncio.create_subprocess_exec(
        *cli_command(*SYNC, database, "--budgets", budgets, "--every", "1s"),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    out = []

    async def second_check_is_done() -> None:
        assert process.stdout is not None
        while True:
            line = (await process.stdout.readline()).decode()
            assert line, "the sync stopped before its second check"
            out.append(line)
            if "sent by earlier checks, not again" in line:
                return

    try:
        await asyncio.wait_for(second_check_is_done(), timeout=90)
    finally:
        process.send_signal(signal.SIGTERM)
        rest, err = await asyncio.wait_for(process.communicate(), timeout=60)
    run = Run(process.returncode or 0, "".join(out) + rest.decode(), err.decode())
    assert process.returncode == 0, run.err
    assert run.out.count("Budgets as of 2026-03-10 13:25:07 UTC") >= 2
    assert sorted(line for line in run.out.splitlines() if line.startswith("sent:")) == [
        "sent: 100% alert of copilot to finops (127.0.0.1)",
        "sent: 100% alert of copilot to team-slack (127.0.0.1)",
    ]
    assert len(receiver.seen) == 2  # two runs, two checks, one alert per receiver
    assert run.err.count("sync default:") >= 2
    assert TOKEN not in run.out + run.err
    assert SECRET not in run.out + run.err


async def test_a_one_shot_sync_exits_with_the_checks_code(
    sqlite_database: str, receiver: AlertServer, environment: dict[str, str], tmp_path: Path
) -> None:
    within = write(tmp_path, budgets_toml(WITHIN))
    run = await usage_async(environment, *SYNC, sqlite_database, "--budgets", within)
    assert run.code == 0, run.err
    assert "organization " in run.out
    crossing = write(tmp_path, budgets_toml(CROSSING, notify='["finops"]'))
    run = await usage_async(environment, *SYNC, sqlite_database, "--budgets", crossing)
    assert run.code == 3, run.err
    assert len(receiver.seen) == 1
    receiver.fail(404)
    settings = budgets_toml(CROSSING, notify='["finops"]').replace("copilot", "copilot-2")
    run = await usage_async(
        environment, *SYNC, sqlite_database, "--budgets", write(tmp_path, settings)
    )
    assert run.code == 1  # the alert not delivered outranks the crossed budget
    assert "budget alert to 127.0.0.1 not delivered (HTTP 404)" in run.err


async def test_a_failed_sync_wins_over_the_check_which_still_runs(
    sqlite_database: str, receiver: AlertServer, environment: dict[str, str], tmp_path: Path
) -> None:
    budgets = write(tmp_path, budgets_toml(CROSSING, notify='["finops"]'))
    synced = await usage_async(environment, *SYNC, sqlite_database)
    assert synced.code == 0, synced.err
    wrong_key = {**environment, "OPENAI_ADMIN_KEY": "sk-admin-not-the-emulators"}
    run = await usage_async(wrong_key, *SYNC, sqlite_database, "--budgets", budgets)
    assert run.code == 1
    assert "FAILED" in run.err or "401" in run.err
    # The check ran on what the database holds, and sent its alert.
    assert "sent: 100% alert of copilot to finops (127.0.0.1)" in run.out.splitlines()
    assert len(receiver.seen) == 1


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('amount = "2000"', 'amount = "two thousand"'), "line 12: [[budget]] 'copilot' amount:"),
        (('name = "copilot"', 'name = "copilot"\nsource = "acme"'), "line 12: [[budget]] "
         "'copilot' source: this sync keeps no source 'acme' (it keeps default)"),
    ],
    ids=["amount", "source"],
)  # fmt: skip
async def test_a_bad_budgets_config_exits_2_before_anything_is_synced(
    database: str,
    receiver: AlertServer,
    environment: dict[str, str],
    tmp_path: Path,
    change: tuple[str, str],
    complaint: str,
) -> None:
    budgets = write(tmp_path, budgets_toml(CROSSING).replace(*change))
    run = await usage_async(environment, *SYNC, database, "--budgets", budgets)
    assert run.code == 2
    assert run.err.startswith("usage: usage-async sync ")
    assert f"{budgets}, {complaint}" in run.err
    assert await snapshot(database) == {}
    assert await alert_rows(database) == []
    assert receiver.seen == []
