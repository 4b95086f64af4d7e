"""``usage-async budget check`` as a user runs it, on a synced SQLite and PostgreSQL database,
with a real local receiver of alerts: the table, the alert lines, the exit codes (0, 1, 2,
3), ``--dry-run``, ``--at``, and no URL or secret in anything it says.

The command runs in a child process (``cli_command``), so the receiver and the databases
stay on the test's own event loop; the fixtures are ``tests/budgets``'.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from tests.budgets import conftest as budget_suite
from tests.budgets.conftest import (
    SECRET,
    SPIKE_DAY,
    TOKEN,
    AlertServer,
    budget,
    config,
    holding,
)
from tests.sync.conftest import cli_command
from usage_async.budgets import check
from usage_async.budgets._messages import money, percent
from usage_async.cli._commands.budget import ANOMALY_RULE, BUDGET_EXIT_CODES, FORECAST_RULE
from usage_async.emulator import ORGANIZATION, serve
from usage_async.report._money import cents, money_text
from usage_async.sync import database_exists, open_engine

from .conftest import on_terminal

# The budget suite's synced databases (SQLite, then PostgreSQL) and its receiver.
postgres_server = budget_suite.postgres_server
postgresql_database = budget_suite.postgresql_database
database = budget_suite.database
sqlite_database = budget_suite.sqlite_database
templates = budget_suite.templates
synced = budget_suite.synced
synced_sqlite = budget_suite.synced_sqlite
receiver = budget_suite.receiver

COPILOT = ORGANIZATION.project("Support Copilot")
# Support Copilot spent about $2,723 in March up to the emulator's NOW, the spike included.
WITHIN = ('name = "organization"', 'amount = "1000000"')
CROSSING = (
    'name = "copilot"',
    'amount = "2000"',
    'project = "Support Copilot"',
    "thresholds = [0.5, 0.8, 1.0]",
)


@attrs.frozen
class Run:
    """What a user sees from one run: the exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    @property
    def said(self) -> str:
        return self.out + self.err


def budgets_toml(*budgets: tuple[str, ...], notify: str = '["team-slack", "finops"]') -> str:
    """A budgets.toml with both receivers and these budgets (each its lines)."""
    text = (
        '[notify.team-slack]\ntype = "slack"\nurl_env = "SLACK_WEBHOOK_URL"\n\n'
        '[notify.finops]\ntype = "webhook"\nurl_env = "BUDGET_WEBHOOK_URL"\n'
        'secret_env = "BUDGET_WEBHOOK_SECRET"\n'
    )
    for lines in budgets:
        text += "\n[[budget]]\n" + "\n".join(lines) + f"\nnotify = {notify}\n"
    return text


@pytest.fixture
def environment(receiver: AlertServer) -> dict[str, str]:
    """A user's environment: the receivers' URLs and the webhook's secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COLUMNS"))}
    env.update(
        SLACK_WEBHOOK_URL=receiver.url("team-slack"),
        BUDGET_WEBHOOK_URL=receiver.url("finops"),
        BUDGET_WEBHOOK_SECRET=SECRET,
    )
    return env


WriteConfig = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write a budgets.toml into the test's folder; its path."""

    def write(text: str) -> Path:
        path = tmp_path / "budgets.toml"
        path.write_text(text)
        return path

    return write


async def usage_async(env: dict[str, str], *argv: str) -> Run:
    """Run ``usage-async ARGV...`` in a child process."""
    process = await asyncio.create_subprocess_exec(
        *cli_command(*argv),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def budget_check(env: dict[str, str], database: str, config: Path, *more: str) -> Run:
    """Run ``usage-async budget check DATABASE --config CONFIG MORE...``."""
    return await usage_async(env, "budget", "check", database, "--config", str(config), *more)


def never_leaks(run: Run) -> None:
    assert TOKEN not in run.said
    assert SECRET not in run.said
    assert "/hooks/" not in run.said


async def alert_rows(url: str) -> list[tuple[str, str]]:
    """(receiver, status) of every recorded alert; none if the table was never made."""
    engine = open_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            if "budget_alerts" not in names:
                return []
            rows = await conn.execute(sa.text("SELECT receiver, status FROM budget_alerts"))
            return sorted((r[0], r[1]) for r in rows)
    finally:
        await engine.dispose()


def row_of(out: str, name: str) -> list[str]:
    """The cells of a budget's row in the table (split on runs of spaces)."""
    (line,) = [line for line in out.splitlines() if line.startswith(name + " ")]
    return line.split()


# --- Exit codes 0 and 3, and exactly once ------------------------------------------------------


async def test_budgets_within_their_thresholds_exit_0_with_the_libraries_figures(
    synced: str, receiver: AlertServer, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(WITHIN))
    run = await budget_check(environment, synced, path)
    assert run.code == 0, run.err
    assert run.err == ""
    report = await check(synced, config(receiver, budget("organization", "1000000")), dry_run=True)
    (result,) = report.budgets
    assert "Budgets as of 2026-03-10 13:25:07 UTC" in run.out  # the server's time, not ours
    assert row_of(run.out, "organization") == [
        "organization",
        "2026-03",
        money(result.spent, "usd"),
        "03-07",  # settled through the 7th: settled_until is the 8th, 00:00
        money(result.forecast, "usd"),  # type: ignore[arg-type]
        percent(result.spent, result.amount),  # and an empty bar
        "ok",
    ]
    assert receiver.seen == []
    never_leaks(run)


async def test_a_crossed_budget_alerts_once_and_exits_3_on_every_run(
    synced: str, receiver: AlertServer, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(CROSSING))
    first = await budget_check(environment, synced, path)
    assert first.code == 3, first.err
    assert first.err == ""
    assert sorted(line for line in first.out.splitlines() if line.startswith("sent:")) == [
        "sent: 100% alert of copilot to finops (127.0.0.1)",
        "sent: 100% alert of copilot to team-slack (127.0.0.1)",
    ]
    assert row_of(first.out, "copilot")[-1] == "over"
    assert len(receiver.seen) == 2
    assert all(s.signed for s in receiver.paths("finops"))
    second = await budget_check(environment, synced, path)
    assert second.code == 3
    assert "sent:" not in second.out
    assert "2 alerts sent by earlier checks, not again" in second.out.splitlines()
    assert len(receiver.seen) == 2
    never_leaks(first)
    never_leaks(second)


# --- Exit code 1: an alert not delivered, then delivered ---------------------------------------


async def test_an_undelivered_alert_exits_1_names_the_host_and_is_sent_on_the_next_run(
    synced: str, receiver: AlertServer, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(CROSSING, notify='["finops"]'))
    receiver.fail(404)  # not retried within the run
    first = await budget_check(environment, synced, path)
    assert first.code == 1
    assert first.err.splitlines() == [
        "usage-async: warning: budget alert to 127.0.0.1 not delivered (HTTP 404): it stays "
        "pending for the next check"
    ]
    assert (
        "not delivered: 100% alert of copilot to finops (127.0.0.1): HTTP 404; it stays "
        "pending for the next check"
    ) in first.out.splitlines()
    assert ("finops", "pending") in await alert_rows(synced)
    second = await budget_check(environment, synced, path)
    assert second.code == 3, second.err  # delivered now: what is left is the crossed budget
    assert "sent: 100% alert of copilot to finops (127.0.0.1)" in second.out.splitlines()
    assert receiver.ids() == [receiver.ids()[0]] * 2  # the same alert, twice
    never_leaks(first)
    never_leaks(second)


async def test_an_alert_another_check_is_sending_is_pending_and_said_on_stderr(
    synced_sqlite: str,
    receiver: AlertServer,
    environment: dict[str, str],
    write_config: WriteConfig,
) -> None:
    path = write_config(budgets_toml(CROSSING, notify='["finops"]'))
    async with holding(receiver) as arrived:
        first = asyncio.ensure_future(budget_check(environment, synced_sqlite, path))
        await arrived()
        second = await budget_check(environment, synced_sqlite, path)
        assert receiver.hold is not None
        receiver.hold.set()
        done = await first
    assert second.code == 1
    assert second.err.splitlines() == [
        "usage-async: warning: budget alert to 127.0.0.1 pending: another check is delivering "
        "it, or will after its claim expires"
    ]
    assert "pending: 100% alert of copilot to finops (127.0.0.1)" in second.out.splitlines()
    assert done.code == 3, done.err
    assert len(receiver.seen) == 1


async def test_a_receiver_failing_with_5xx_is_retried_within_the_run(
    synced_sqlite: str,
    receiver: AlertServer,
    environment: dict[str, str],
    write_config: WriteConfig,
) -> None:
    path = write_config(budgets_toml(CROSSING, notify='["finops"]'))
    receiver.fail(503, 502)
    run = await budget_check(environment, synced_sqlite, path)
    assert run.code == 3, run.err
    assert run.err == ""
    assert len(receiver.seen) == 3
    assert len(set(receiver.ids())) == 1


async def test_a_database_not_there_exits_1_says_what_to_run_and_makes_none(
    sqlite_database: str, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(WITHIN))
    run = await budget_check(environment, sqlite_database, path)
    assert run.code == 1
    assert run.out == ""
    assert "no database at sqlite:///" in run.err
    assert "run usage-async sync with the costs endpoint first" in run.err
    assert not database_exists(sqlite_database)  # none made


async def test_a_database_without_synced_costs_exits_1_and_says_what_to_run(
    tmp_path: Path, environment: dict[str, str], write_config: WriteConfig
) -> None:
    empty = tmp_path / "usage.db"
    with contextlib.closing(sqlite3.connect(empty)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")  # a database, but never synced
    path = write_config(budgets_toml(WITHIN))
    run = await budget_check(environment, f"sqlite:///{empty}", path)
    assert run.code == 1
    assert run.out == ""
    assert "has no synced costs" in run.err
    assert "run usage-async sync with the costs endpoint first" in run.err


# --- Exit code 2: the config and the arguments -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "key", "problem"),
    [
        pytest.param(
            budgets_toml((*WITHIN[:1], 'amount = "-5"')),
            12,
            "amount",
            "must be above 0",
            id="amount",
        ),
        pytest.param(
            budgets_toml(WITHIN).replace('url_env = "SLACK_WEBHOOK_URL"', f'url = "{TOKEN}"'),
            3,
            "url",
            "must not be written into the configuration file",
            id="secret-in-file",
        ),
        pytest.param(
            budgets_toml(WITHIN).replace("SLACK_WEBHOOK_URL", "UNSET_WEBHOOK_URL"),
            3,
            "url_env",
            "the environment variable UNSET_WEBHOOK_URL is not set",
            id="unset-variable",
        ),
        pytest.param(
            budgets_toml(WITHIN, notify='["pager"]'),
            13,
            "notify",
            "no receiver 'pager'",
            id="unknown-receiver",
        ),
        pytest.param(
            budgets_toml((*WITHIN, 'project = "Suport Copilot"')),
            13,
            "project",
            "no project 'Suport Copilot'",
            id="unknown-project",
        ),
    ],
)
async def test_a_config_error_exits_2_naming_file_line_and_key_reading_and_sending_nothing(
    synced_sqlite: str,
    receiver: AlertServer,
    environment: dict[str, str],
    write_config: WriteConfig,
    text: str,
    line: int,
    key: str,
    problem: str,
) -> None:
    path = write_config(text)
    run = await budget_check(environment, synced_sqlite, path)
    assert run.code == 2
    assert run.out == ""
    message = run.err.splitlines()[-1]
    assert message.startswith(f"usage-async budget check: error: {path}, line {line}: ")
    assert f" {key}: " in message
    assert problem in message
    assert receiver.seen == []
    assert await alert_rows(synced_sqlite) == []
    never_leaks(run)


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--at", "the day before"], "argument --at: 'the day before' is not a WHEN"),
        (["--prefix", "Bad-Prefix"], "--prefix: prefix must be lower-case letters"),
        ([], "the following arguments are required: --config"),
    ],
    ids=["at", "prefix", "no-config"],
)
async def test_a_bad_argument_exits_2_with_the_commands_usage(
    synced_sqlite: str,
    environment: dict[str, str],
    write_config: WriteConfig,
    argv: list[str],
    complaint: str,
) -> None:
    path = write_config(budgets_toml(WITHIN))
    config_flag = [] if not argv else ["--config", str(path)]
    run = await usage_async(environment, "budget", "check", synced_sqlite, *config_flag, *argv)
    assert run.code == 2
    assert run.err.startswith("usage: usage-async budget check ")
    assert complaint in run.err


# --- --dry-run and --at ------------------------------------------------------------------------


async def test_a_dry_run_says_what_it_would_send_and_records_and_sends_nothing(
    synced: str, receiver: AlertServer, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(CROSSING))
    run = await budget_check(environment, synced, path, "--dry-run")
    assert run.code == 3, run.err
    assert "Budgets (dry run: nothing is sent) as of" in run.out
    assert sorted(line for line in run.out.splitlines() if line.startswith("would")) == [
        "would send: 100% alert of copilot to finops (127.0.0.1)",
        "would send: 100% alert of copilot to team-slack (127.0.0.1)",
    ]
    assert receiver.seen == []
    assert await alert_rows(synced) == []
    never_leaks(run)
    # A real run afterwards still has everything to send.
    real = await budget_check(environment, synced, path)
    assert real.code == 3
    assert len(receiver.seen) == 2


async def test_at_evaluates_the_period_of_another_time(
    synced: str, receiver: AlertServer, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(CROSSING))
    at = "2026-02-20T15:00"
    run = await budget_check(environment, synced, path, "--at", at, "--dry-run")
    report = await check(
        synced,
        config(receiver, budget("copilot", "2000", project=COPILOT.id)),
        at=dt.datetime(2026, 2, 20, 15, tzinfo=dt.UTC),
        dry_run=True,
    )
    (result,) = report.budgets
    assert "as of 2026-02-20 15:00 UTC" in run.out
    cells = row_of(run.out, "copilot")
    assert cells[1:4] == ["2026-02", money(result.spent, "usd"), "02-19"]
    assert run.code == (3 if report.crossed else 0)


# --- Anomalies ---------------------------------------------------------------------------------


async def test_the_planted_spike_is_an_anomaly_line_and_one_alert(
    synced_sqlite: str,
    receiver: AlertServer,
    environment: dict[str, str],
    write_config: WriteConfig,
) -> None:
    text = budgets_toml(WITHIN) + '\n[anomaly]\nnotify = ["finops"]\n'
    path = write_config(text)
    run = await budget_check(environment, synced_sqlite, path)
    assert run.code == 0, run.err  # an anomaly is said and alerted, not a crossed budget
    (line,) = [line for line in run.out.splitlines() if line.startswith("anomaly:")]
    assert line.startswith(f"anomaly: Support Copilot on {SPIKE_DAY}: $")
    assert f"sent: anomaly alert of Support Copilot on {SPIKE_DAY} to finops (127.0.0.1)" in (
        run.out.splitlines()
    )
    (request,) = receiver.paths("finops")
    assert request.json["kind"] == "anomaly"
    assert request.json["day"] == SPIKE_DAY.isoformat()


async def test_ordinary_days_ring_no_anomaly(
    sqlite_database: str, environment: dict[str, str], write_config: WriteConfig, templates: Path
) -> None:
    await budget_suite.sync_into(sqlite_database, templates, spike=False)
    path = write_config(budgets_toml(WITHIN) + '\n[anomaly]\nnotify = ["finops"]\n')
    run = await budget_check(environment, sqlite_database, path)
    assert run.code == 0, run.err
    assert "anomaly" not in run.out


# --- On a terminal, and --help -----------------------------------------------------------------


async def test_the_table_fits_80_columns_with_long_names_and_scopes(
    synced_sqlite: str, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(
        budgets_toml(
            CROSSING,
            WITHIN,
            (
                'name = "voice-audio-output-daily-budget"',
                'amount = "120.50"',
                'period = "day"',
                'project = "Voice"',
                'line_item = "gpt-4o-audio-preview-2024-12-17, audio output"',
            ),
        )
    )
    argv = ["budget", "check", synced_sqlite, "--config", str(path), "--dry-run"]
    code, shown, err = await asyncio.to_thread(on_terminal, cli_command(*argv), environment)
    assert code == 3, err
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.startswith("Budget "))
    assert header.split() == ["Budget", "Period", "Spent", "Settled", "Forecast", "Of", "budget",
                              "State"]  # fmt: skip
    assert row_of(shown, "copilot")[-2:] == ["█████", "over"]  # a full bar, and the state
    assert row_of(shown, "organization")[-1] == "ok"
    day = next(line for line in lines if line.startswith("voice-audio"))
    assert "2026-03-10" in day
    assert any(line.startswith("Voice · gpt-4o-audio") for line in lines)  # its scope


async def test_help_states_the_forecast_method_the_anomaly_rule_and_the_exit_codes(
    environment: dict[str, str],
) -> None:
    from usage_async.budgets._compute import (
        ANOMALY_RATIO,
        ANOMALY_SCORE,
        MAD_SCALE,
        RECENT_DAYS,
        RUN_RATE_DAYS,
    )

    run = await usage_async({**environment, "COLUMNS": "2000"}, "budget", "check", "--help")
    assert run.code == 0
    text = " ".join(run.out.split())
    for sentence in (FORECAST_RULE, ANOMALY_RULE, BUDGET_EXIT_CODES):
        assert sentence in text
    # The sentences state the library's own constants.
    assert f"the last {RUN_RATE_DAYS} settled days" in FORECAST_RULE
    assert f"{ANOMALY_RATIO} times its median day" in ANOMALY_RULE
    assert f"{ANOMALY_SCORE} robust standard deviations ({MAD_SCALE} x MAD)" in ANOMALY_RULE
    assert RECENT_DAYS == 7
    assert "of the last week" in ANOMALY_RULE
    assert re.search(r"budget\s+check spending against budgets\.toml", (await usage_async(
        environment, "--help")).out)  # fmt: skip


async def test_the_html_report_draws_each_budget_as_a_dry_run_evaluates_it(
    synced_sqlite: str,
    environment: dict[str, str],
    write_config: WriteConfig,
    receiver: AlertServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(budgets_toml(WITHIN, CROSSING))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    expected = await check(synced_sqlite, path, dry_run=True)
    html_file = tmp_path / "chargeback.html"
    async with serve(port=0) as emulator:
        env = {**environment, "OPENAI_ADMIN_KEY": emulator.api_key}
        argv = ["report", "--base-url", emulator.base_url, "--start", "2026-03-01"]
        argv += ["--end", "2026-03-08", "--html", str(html_file), "--budgets", str(path)]
        run = await usage_async(env, *argv, "--database", synced_sqlite)
    assert run.code == 0, run.err
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_file.read_text())).split())
    assert [b.name for b in expected.budgets] == ["organization", "copilot"]
    for b in expected.budgets:
        assert b.forecast is not None
        spent, amount = money_text(cents(b.spent)), money_text(cents(b.amount))
        assert f"Spent {spent} of {amount} USD" in page, b.name
        assert f"Forecast {money_text(cents(b.forecast))} USD" in page, b.name
    assert receiver.seen == []  # a dry run: nothing sent
    engine = open_engine(synced_sqlite)
    try:
        async with engine.connect() as conn:
            table = "SELECT count(*) FROM sqlite_master WHERE name = 'budget_alerts'"
            assert (await conn.execute(sa.text(table))).scalar() == 0  # nothing recorded
    finally:
        await engine.dispose()


async def test_budgets_in_the_report_need_html(
    synced_sqlite: str, environment: dict[str, str], write_config: WriteConfig
) -> None:
    path = write_config(budgets_toml(WITHIN))
    run = await usage_async(environment, "report", "--start", "7d", "--budgets", str(path))
    assert run.code == 2
    assert "--budgets, --database and --prefix draw budgets in the HTML report" in run.err
