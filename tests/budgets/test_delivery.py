"""Alerts reach a real receiver exactly once, survive its failures, and never leak a URL."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa

from usage_async.budgets import (
    LEASE_SECONDS,
    BudgetConfig,
    BudgetReport,
    DeliveryPolicy,
    Receiver,
    check,
    verify_signature,
)
from usage_async.emulator import ORGANIZATION
from usage_async.sync import open_engine

from .conftest import (
    FAST,
    SECRET,
    SETTLED,
    TOKEN,
    AlertServer,
    Clock,
    budget,
    config,
    holding,
)

COPILOT = ORGANIZATION.project("Support Copilot")
# Support Copilot spent about $2,723 in March up to NOW (the spike of the 5th included).
OVER = {"project": COPILOT.id, "thresholds": [Decimal("0.5"), Decimal("0.8"), Decimal(1)]}


def statuses(report: BudgetReport) -> list[tuple[str, str, str]]:
    return sorted((a.receiver, f"{a.kind} {a.threshold}", a.status) for a in report.alerts)


async def test_an_alert_goes_out_once_ever_and_only_the_most_severe_of_a_jump(
    synced: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **OVER))
    first = await check(synced, settings, delivery=FAST)
    # Crossing 50%, 80% and 100% at once (the forecast too) sends the 100% alert, to each
    # receiver, once.
    assert statuses(first) == [
        ("finops", "forecast 1", "superseded"),
        ("finops", "threshold 0.5", "superseded"),
        ("finops", "threshold 0.8", "superseded"),
        ("finops", "threshold 1", "sent"),
        ("team-slack", "forecast 1", "superseded"),
        ("team-slack", "threshold 0.5", "superseded"),
        ("team-slack", "threshold 0.8", "superseded"),
        ("team-slack", "threshold 1", "sent"),
    ]
    assert len(receiver.seen) == 2
    assert set(first.budgets[0].alerts) == set(first.alerts)
    second = await check(synced, settings, delivery=FAST)
    assert len(receiver.seen) == 2
    assert {a.status for a in second.alerts} == {"already-sent", "superseded"}
    assert not second.undelivered
    assert second.crossed


async def test_the_webhook_gets_the_issues_json_signed_with_the_secret(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    report = await check(
        synced_sqlite, config(receiver, budget("copilot", "2000", **OVER)), delivery=FAST
    )
    (request,) = receiver.paths("finops")
    result = report.budgets[0]
    assert request.json == {
        "id": report.sent[0].id,
        "kind": "threshold",
        "budget": "copilot",
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-04-01T00:00:00Z",
        "threshold": "1",
        "spent": str(result.spent),
        "amount": "2000",
        "forecast": str(result.forecast),
        "currency": "usd",
        "settled_until": "2026-03-08T00:00:00Z",
        "project_id": COPILOT.id,
        "project_name": "Support Copilot",
        "source": "default",
        "day": None,
        "line_items": [],
    }
    assert Decimal(request.json["spent"]) == result.spent  # every digit
    assert request.headers["Content-Type"] == "application/json"
    assert request.signed
    stamp = request.headers["X-Usage-Async-Timestamp"]
    header = request.headers["X-Usage-Async-Signature"]
    assert header.startswith("sha256=")
    assert not verify_signature("another secret", stamp, request.body, header)
    assert not verify_signature(SECRET, stamp, request.body.replace(b"2000", b"9000"), header)
    assert not verify_signature(SECRET, stamp, request.body, header, now=int(stamp) + 301)
    assert verify_signature(SECRET, stamp, request.body, header, now=int(stamp) + 299)
    assert not verify_signature(SECRET, "yesterday", request.body, header)


async def test_slack_gets_one_line_a_phone_shows_and_blocks(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    forecast_only = budget("copilot", "4000", project="Support Copilot")
    report = await check(synced_sqlite, config(receiver, forecast_only), delivery=FAST)
    (request,) = receiver.paths("team-slack")
    result = report.budgets[0]
    assert result.state == "forecast"
    text = request.json["text"]
    assert text.startswith("Budget copilot (Support Copilot): $2,")
    spent_cents = result.spent.quantize(Decimal("0.01"), ROUND_HALF_UP)
    share = (100 * result.spent / 4000).quantize(Decimal(1), ROUND_HALF_UP)
    assert f"${spent_cents:,} of $4,000.00 spent ({share}%)" in text
    assert f"forecast ${result.forecast:,}" in text
    assert "on course to exceed" in text
    assert "settled through 2026-03-08 00:00 UTC" in text
    assert [b["type"] for b in request.json["blocks"]] == ["section", "section", "context"]
    fields = [f["text"] for f in request.json["blocks"][1]["fields"]]
    assert "*Project*\nSupport Copilot" in fields
    assert "*Period*\n2026-03-01 to 2026-03-31" in fields
    assert "X-Usage-Async-Signature" not in request.headers  # Slack's webhooks are not signed


async def test_a_failing_receiver_leaves_the_alert_pending_until_it_recovers(
    synced: str, receiver: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    receiver.fail(500, 503, 502)  # every attempt of the first run
    with caplog.at_level(logging.DEBUG, logger="usage_async"):
        first = await check(synced, settings, delivery=FAST)
    (failed,) = first.undelivered
    assert (failed.status, failed.error, failed.host) == ("failed", "HTTP 502", "127.0.0.1")
    assert len(receiver.seen) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "budget alert to 127.0.0.1 not delivered (HTTP 502): it stays pending for the next check"
    ]
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(first)
    second = await check(synced, settings, delivery=FAST)
    (sent,) = second.sent
    assert sent.id == failed.id
    assert not second.undelivered
    assert len(receiver.seen) == 4
    assert receiver.seen[3].body == receiver.seen[0].body  # the same alert, byte for byte
    assert receiver.seen[3].signed
    assert not (await check(synced, settings, delivery=FAST)).sent


async def test_closed_connections_are_retried_with_the_same_id_and_a_fresh_signature(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    receiver.fail("close", "close")
    report = await check(synced_sqlite, settings, delivery=FAST)
    assert [a.status for a in report.alerts if a.status != "superseded"] == ["sent"]
    assert len(set(receiver.ids())) == 1
    assert len(receiver.ids()) == 3
    assert all(s.signed for s in receiver.seen)


async def test_a_receiver_too_slow_to_answer_is_tried_again(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    impatient = DeliveryPolicy(attempts=2, initial_backoff=0.001, max_backoff=0.005, timeout=0.3)
    receiver.fail("slow", "slow")
    first = await check(synced_sqlite, settings, delivery=impatient)
    assert [a.error for a in first.undelivered] == ["timed out"]
    receiver.fail("slow")
    second = await check(synced_sqlite, settings, delivery=impatient)
    assert [a.status for a in second.alerts if a.status != "superseded"] == ["sent"]
    assert len(receiver.ids()) == 4
    assert len(set(receiver.ids())) == 1


async def test_a_receiver_that_is_down_gets_the_alert_on_the_next_run(
    synced_sqlite: str, receiver: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = config(receiver, budget("copilot", "2000", **OVER))
    await receiver.down()
    with caplog.at_level(logging.DEBUG):
        first = await check(synced_sqlite, settings, delivery=FAST)
    assert sorted((a.receiver, a.error) for a in first.undelivered) == [
        ("finops", "connection refused"),
        ("team-slack", "connection refused"),
    ]
    assert TOKEN not in caplog.text
    assert "/hooks/" not in caplog.text
    await receiver.up()
    second = await check(synced_sqlite, settings, delivery=FAST)
    assert sorted(a.receiver for a in second.sent) == ["finops", "team-slack"]
    assert not second.undelivered


async def test_a_client_error_is_not_retried_in_the_run_but_stays_pending(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    receiver.fail(404)
    first = await check(synced_sqlite, settings, delivery=FAST)
    assert [a.error for a in first.undelivered] == ["HTTP 404"]
    assert len(receiver.seen) == 1
    assert (await check(synced_sqlite, settings, delivery=FAST)).sent


async def test_a_receiver_that_redirects_is_not_followed_and_the_alert_stays_pending(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    receiver.fail("redirect")
    first = await check(synced_sqlite, settings, delivery=FAST)
    # A signed alert is never carried to wherever a redirect points; nor retried in the run.
    assert [a.error for a in first.undelivered] == ["HTTP 307"]
    assert [s.path for s in receiver.seen] == [receiver.seen[0].path]
    assert receiver.seen[0].path.startswith("/hooks/finops/")


async def test_connections_closed_on_every_attempt_say_so_without_the_url(
    synced_sqlite: str, receiver: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    receiver.fail("close", "close", "close")
    with caplog.at_level(logging.DEBUG):
        report = await check(synced_sqlite, settings, delivery=FAST)
    assert [a.error for a in report.undelivered] == ["connection closed"]
    assert len(receiver.seen) == FAST.attempts
    assert TOKEN not in caplog.text
    assert "/hooks/" not in caplog.text


async def test_a_tls_failure_is_not_retried_and_names_no_url(
    synced_sqlite: str, receiver: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    # https:// to a port that speaks plain HTTP: the handshake fails, and will again.
    url = receiver.url("finops").replace("http://", "https://")
    finops = Receiver("finops", "webhook", url, SECRET)
    settings = BudgetConfig(
        budgets=(budget("copilot", "2000", **{**OVER, "notify": ("finops",)}),),
        receivers={"finops": finops},
    )
    with caplog.at_level(logging.DEBUG):
        report = await check(synced_sqlite, settings, delivery=FAST)
    assert [a.error for a in report.undelivered] == ["TLS failed"]
    retries = [r for r in caplog.records if r.name == "usage_async" and "attempt" in r.message]
    assert retries == []
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(report)


async def test_two_checks_at_once_send_each_alert_once(synced: str, receiver: AlertServer) -> None:
    settings = config(receiver, budget("copilot", "2000", **OVER))
    async with holding(receiver) as arrived:
        first = asyncio.ensure_future(check(synced, settings, delivery=FAST))
        await arrived()
        # The second check runs to its end while the first one's sends are in flight.
        second = await check(synced, settings, delivery=FAST)
        assert not second.sent
        assert {a.status for a in second.undelivered} == {"pending"}
        receiver.hold.set()  # type: ignore[union-attr]
        one = await first
    assert sorted(a.receiver for a in one.sent) == ["finops", "team-slack"]
    assert len(receiver.seen) == 2


async def test_a_check_that_dies_mid_send_is_resent_with_the_same_id_once_its_lease_ends(
    synced: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **{**OVER, "notify": ("finops",)}))
    clock = Clock()
    async with holding(receiver) as arrived:
        dying = asyncio.ensure_future(check(synced, settings, now=clock, delivery=FAST))
        await arrived()
        dying.cancel()  # the receiver has the alert; the check never records the answer
        with pytest.raises(asyncio.CancelledError):
            await dying
    (first_id,) = receiver.ids()
    meanwhile = await check(synced, settings, now=clock, delivery=FAST)
    assert [a.status for a in meanwhile.undelivered] == ["pending"]
    assert len(receiver.seen) == 1
    clock.offset = LEASE_SECONDS + 1
    later = await check(synced, settings, now=clock, delivery=FAST)
    assert [a.id for a in later.sent] == [first_id]
    assert receiver.ids() == [first_id, first_id]  # the receiver drops the repeat by its id


async def test_a_dry_run_records_and_sends_nothing(
    synced_sqlite: str, receiver: AlertServer
) -> None:
    settings = config(receiver, budget("copilot", "2000", **OVER))
    dry = await check(synced_sqlite, settings, dry_run=True)
    assert dry.dry_run
    assert sorted((a.receiver, a.status) for a in dry.alerts if a.status != "superseded") == [
        ("finops", "would-send"),
        ("team-slack", "would-send"),
    ]
    assert dry.alerts[0].message.startswith("Budget copilot (Support Copilot): $")
    assert receiver.seen == []
    engine = open_engine(synced_sqlite)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert "budget_alerts" not in tables
    await check(synced_sqlite, settings, delivery=FAST)
    again = await check(synced_sqlite, settings, dry_run=True)
    assert {a.status for a in again.alerts} == {"already-sent", "superseded"}
    assert len(receiver.seen) == 2


async def test_the_planted_spike_is_found_and_alerted_once(
    synced: str, receiver: AlertServer
) -> None:
    settings = config(receiver, anomaly=True)
    report = await check(synced, settings, delivery=FAST)
    (anomaly,) = report.anomalies
    assert (anomaly.project_name, anomaly.day) == ("Support Copilot", dt.date(2026, 3, 5))
    assert 10 < anomaly.amount / anomaly.baseline < 14
    assert anomaly.settled_until == dt.datetime.fromtimestamp(SETTLED, dt.UTC)
    (request,) = receiver.paths("finops")
    assert request.json["kind"] == "anomaly"
    assert request.json["day"] == "2026-03-05"
    assert (request.json["period_start"], request.json["period_end"]) == (
        "2026-03-05T00:00:00Z",
        "2026-03-06T00:00:00Z",
    )
    assert Decimal(request.json["spent"]) == anomaly.amount
    assert Decimal(request.json["amount"]) == anomaly.baseline
    assert request.json["line_items"] == [i.line_item for i in anomaly.line_items]
    assert (request.json["budget"], request.json["threshold"]) == (None, None)
    assert request.signed
    again = await check(synced, settings, delivery=FAST)
    assert [a.status for a in again.alerts] == ["already-sent"]
    assert len(receiver.seen) == 1
