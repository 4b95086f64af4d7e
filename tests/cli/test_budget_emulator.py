"""The planted cost anomaly where a user meets it: ``usage-async demo`` shows one, and
``usage-async emulator --spike DAY`` serves one that ``sync`` then ``budget check`` find."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import signal
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import usage_async as ua
from tests.sync.conftest import cli_command
from usage_async.emulator import Spike, serve

from .conftest import Result, user_environment

DAY = 86400


def demo_days(out: str) -> dict[str, Decimal]:
    """The demo's cost per day: its bars' dates and amounts."""
    found = re.findall(r"^(\d{4}-\d\d-\d\d)\s+\S*.*?\s([\d,]+\.\d\d) USD$", out, re.MULTILINE)
    return {day: Decimal(amount.replace(",", "")) for day, amount in found}


async def ordinary_costs(day: int) -> tuple[Decimal, Decimal]:
    """The day's cost without the spike, and Support Copilot's share of it."""
    async with (
        serve(port=0) as emulator,
        ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client,
    ):
        stream = client.costs(start_time=day, end_time=day + DAY, group_by=["project_id"])
        total = project = Decimal(0)
        async for bucket in stream:
            for result in bucket.results:
                total += result.amount.value
                if result.project_id == Spike(day).project:
                    project += result.amount.value
    return total, project


def test_the_demo_shows_a_planted_anomaly_and_names_its_day(cli: Callable[..., Result]) -> None:
    result = cli("demo")
    assert result.code == 0, result.err
    today = int(time.time()) // DAY * DAY
    spike = dt.datetime.fromtimestamp(today - 3 * DAY, dt.UTC).date().isoformat()
    days = demo_days(result.out)
    assert len(days) == 7
    assert max(days, key=days.__getitem__) == spike
    # The day is its ordinary cost plus (factor - 1) times the spiked project's ordinary
    # cost: to 1%, as costs come from whole token and request counts, each rounded.
    ordinary, project = asyncio.run(ordinary_costs(today - 3 * DAY))
    assert abs(days[spike] - (ordinary + 11 * project)) < days[spike] / 100
    text = " ".join(result.out.split())
    assert f"The bar of {spike} is a planted cost anomaly: Support Copilot" in text
    assert f"usage-async emulator --spike {spike}" in text


def test_emulator_refuses_a_spike_that_is_not_a_when() -> None:
    done = subprocess.run(
        cli_command("emulator", "--spike", "tuesday"),
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "argument --spike: 'tuesday' is not a WHEN" in done.stderr


def test_a_spike_served_by_the_emulator_command_is_the_anomaly_budget_check_finds(
    tmp_path: Path,
) -> None:
    today = int(time.time()) // DAY * DAY
    spike = dt.datetime.fromtimestamp(today - 4 * DAY, dt.UTC).date().isoformat()
    env = user_environment()
    emulator = subprocess.Popen(
        cli_command("emulator", "--port", "0", "--spike", "4d"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        said = [emulator.stdout.readline() for _ in range(4)]
        base_url = said[0].split(" listening on ")[1].split()[0]
        assert said[3].strip() == (
            f"Support Copilot's activity on {spike} is 12 times its usual: a planted cost anomaly."
        )
        env.update(OPENAI_BASE_URL=base_url, OPENAI_ADMIN_KEY="sk-admin-emulator")
        database = f"sqlite:///{tmp_path / 'usage.db'}"
        sync = run(env, "sync", database, "--endpoint", "costs", "--since", "40d")
        assert sync.code == 0, sync.err
        config = tmp_path / "budgets.toml"
        config.write_text('[anomaly]\nnotify = []\nmin_amount = "5.00"\n')
        found = run(env, "budget", "check", database, "--config", str(config))
    finally:
        emulator.send_signal(signal.SIGINT)
        emulator.communicate(timeout=30)
    assert found.code == 0, found.err
    (line,) = [line for line in found.out.splitlines() if line.startswith("anomaly:")]
    assert line.startswith(f"anomaly: Support Copilot on {spike}: $")
    assert emulator.returncode == 130


def run(env: dict[str, str], *argv: str) -> Result:
    done = subprocess.run(
        cli_command(*argv), env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)
