"""What people and receivers read: one-line texts, Slack's escaping, the signature helper."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import orjson

from usage_async.budgets import (
    AlertOutcome,
    AnomalyResult,
    BudgetReport,
    BudgetResult,
    verify_signature,
)
from usage_async.budgets._messages import (
    alert_document,
    alert_id,
    signed_headers,
    slack_payload,
    summary_line,
)

DAY = 86400
MARCH_5 = 1_772_668_800  # 2026-03-05T00:00:00Z


def anomaly() -> dict[str, object]:
    return alert_document(
        id=alert_id("anomaly", "", "default", "proj_x", "2026-03-05", "usd"),
        kind="anomaly",
        spent=Decimal("1640.2250"),
        amount=Decimal("136.40"),
        currency="usd",
        settled_until=MARCH_5 + 3 * DAY,
        source="default",
        project_id="proj_x",
        project_name="R&D <beta>",
        period_start=MARCH_5,
        period_end=MARCH_5 + DAY,
        day=MARCH_5,
        line_items=["gpt-4o, input", "gpt-4o, output", "web search", "whisper-1, duration"],
    )


def test_an_anomaly_reads_as_one_sentence() -> None:
    assert summary_line(anomaly()) == (
        "Cost anomaly (R&D <beta>) on 2026-03-05: $1,640.23, 12.0x its usual $136.40 a day "
        "(gpt-4o, input, gpt-4o, output, web search and 1 more); settled through "
        "2026-03-08 00:00 UTC."
    )


def test_slack_escapes_its_control_characters_everywhere() -> None:
    payload = orjson.loads(slack_payload(anomaly()))
    assert "R&amp;D &lt;beta&gt;" in payload["text"]
    shown = orjson.dumps(payload["blocks"]).decode()
    assert "R&amp;D &lt;beta&gt;" in shown
    assert "<beta>" not in shown


def test_money_outside_dollars_and_thresholds_read_plainly() -> None:
    document = alert_document(
        id="ua_x",
        kind="threshold",
        spent=Decimal("412.5"),
        amount=Decimal("500"),
        currency="eur",
        settled_until=MARCH_5,
        source="default",
        project_id=None,
        project_name=None,
        budget="all",
        period_start=MARCH_5 - 4 * DAY,
        period_end=MARCH_5 + 27 * DAY,
        threshold=Decimal("0.80"),
        forecast=None,
    )
    assert document["threshold"] == "0.8"
    assert summary_line(document) == (
        "Budget all: 412.50 EUR of 500.00 EUR spent (83%) - past its 80% threshold; "
        "settled through 2026-03-05 00:00 UTC."
    )


def test_the_id_is_stable_and_tells_alerts_apart() -> None:
    one = alert_id("threshold", "", "default", "b", 1, Decimal("0.8"))
    assert one == alert_id("threshold", "", "default", "b", 1, Decimal("0.8"))
    assert one != alert_id("threshold", "acme_", "default", "b", 1, Decimal("0.8"))
    assert one != alert_id("forecast", "", "default", "b", 1, Decimal("0.8"))
    assert one.startswith("ua_")


def test_verify_signature_takes_bytes_or_text_and_refuses_what_is_malformed() -> None:
    body = b'{"id": "ua_x"}'
    headers = signed_headers("s3cret", body, 1_800_000_000)
    stamp, header = headers["X-Usage-Async-Timestamp"], headers["X-Usage-Async-Signature"]
    assert verify_signature("s3cret", stamp, body, header, now=1_800_000_000)
    assert verify_signature(
        b"s3cret", int(stamp), body, header.upper().replace("SHA256=", "sha256="), now=1_800_000_000
    )
    assert not verify_signature(
        "s3cret", stamp, body, header.removeprefix("sha256="), now=1_800_000_000
    )
    assert not verify_signature("s3cret", stamp, body, "", now=1_800_000_000)
    assert not verify_signature("s3cret", "", body, header, now=1_800_000_000)


def test_a_receiver_verifies_without_loading_sqlalchemy_or_aiohttp() -> None:
    code = (
        "import sys; from usage_async.budgets import verify_signature; "
        "print(sorted(m for m in ('sqlalchemy', 'aiohttp') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_reports_summary_has_a_line_per_budget_and_anomaly_and_counts_the_alerts() -> None:
    settled = dt.datetime.fromtimestamp(MARCH_5 + 3 * DAY, dt.UTC)
    result = BudgetResult(
        name="copilot",
        source="default",
        amount=Decimal(2000),
        currency="usd",
        period="month",
        period_start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        period_end=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
        as_of=settled,
        spent=Decimal("1640.225"),
        settled=Decimal(1500),
        settled_until=settled,
        forecast=Decimal("4100.5"),
        crossed=(Decimal("0.8"),),
        forecast_crossed=True,
        state="warning",
    )
    spike = AnomalyResult(
        source="default",
        project_id="proj_x",
        project_name="R&D",
        day=dt.date(2026, 3, 5),
        currency="usd",
        amount=Decimal("1640.2250"),
        baseline=Decimal("136.40"),
        line_items=(),
        settled_until=settled,
    )
    alerts = tuple(
        AlertOutcome("ua_x", "threshold", receiver, "127.0.0.1", status, "")
        for receiver, status in (("a", "sent"), ("b", "sent"), ("c", "failed"))
    )
    report = BudgetReport("sqlite:///usage.db", (result,), (spike,), alerts)
    assert report.summary().splitlines() == [
        "copilot: $1,640.23 of $2,000.00 (82%), forecast $4,100.50, settled through "
        "2026-03-08 00:00 UTC: warning",
        "anomaly: R&D on 2026-03-05: $1,640.23 against $136.40",
        "alerts: 1 failed, 2 sent",
    ]
