"""What an alert says: its stable id, the webhook's JSON, the Slack message, the signature.

A webhook receives one JSON object per alert::

    {"id": "ua_3f9c...", "kind": "threshold", "budget": "alpha-monthly",
     "period_start": "2026-12-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z",
     "threshold": "0.8", "spent": "412.5034210", "amount": "500.00", "forecast": "610.20",
     "currency": "usd", "settled_until": "2026-12-05T00:00:00Z", "project_id": "proj_...",
     "project_name": "Alpha", "source": "default", "day": null,
     "line_items": ["gpt-4o, input"]}

``kind`` is ``threshold`` (spent crossed ``threshold`` x ``amount``), ``forecast`` (the
period's forecast reached ``amount``) or ``anomaly`` (``day`` cost ``spent`` against a
baseline, its median day, in ``amount``; ``period_start``/``period_end`` bound the day).
Money is exact decimal text; times are ISO-8601 UTC. ``line_items`` is the budget's line
item, or an anomaly's anomalous line items. ``id`` is stable: the same alert has the same id
on every run and every retry, so a receiver drops one it has seen (it is the idempotency
key: a check that dies between sending and recording re-sends the same id).

Each request is signed: ``X-Usage-Async-Timestamp`` (Unix seconds) and
``X-Usage-Async-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the
secret>``. A receiver checks it with ``verify_signature`` (or the same four lines of its
own), on the raw body bytes, before parsing them::

    from usage_async.budgets import verify_signature

    ok = verify_signature(
        secret, request.headers["X-Usage-Async-Timestamp"], await request.read(),
        request.headers["X-Usage-Async-Signature"],
    )

Slack receives ``{"text", "blocks"}``: ``text`` is the whole alert in one line, what a phone
notification shows.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import orjson

from .._time import iso_utc, utc_day, utc_text

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlertKind",
    "alert_document",
    "alert_id",
    "decimal_text",
    "money",
    "percent",
    "signed_headers",
    "slack_payload",
    "summary_line",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Usage-Async-Signature"
TIMESTAMP_HEADER = "X-Usage-Async-Timestamp"

AlertKind = Literal["threshold", "forecast", "anomaly"]


def decimal_text(value: Decimal) -> str:
    """Exact decimal text, never an exponent (``Decimal("1E+1")`` is ``"10"``)."""
    return format(value, "f")


def alert_id(kind: AlertKind, *parts: object) -> str:
    """The stable id of an alert: a digest of what makes it one alert (its kind, the table
    prefix and source, then the budget, period and threshold, or the project and day)."""
    text = "\x1f".join([kind, *("" if p is None else str(p) for p in parts)])
    return "ua_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers of a signed webhook request (``Content-Type`` included)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: "sha256=" + digest.hexdigest(),
    }


def verify_signature(
    secret: str | bytes,
    timestamp: str | int,
    body: bytes,
    header: str,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> bool:
    """Whether a webhook request is one usage-async signed with ``secret``.

    ``timestamp`` and ``header`` are the ``X-Usage-Async-Timestamp`` and
    ``X-Usage-Async-Signature`` headers, ``body`` the raw bytes received. Returns ``False``
    for a signature that does not match, a malformed header or timestamp, or a timestamp more
    than ``tolerance`` seconds from ``now`` (default: this machine's clock), which stops a
    recorded request from being replayed later. Never raises for bad input.
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    if not isinstance(header, str) or not header.startswith("sha256="):
        return False
    key = secret.encode() if isinstance(secret, str) else secret
    expected = hmac.new(key, f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


# --- Words for people ----------------------------------------------------------------------------

_SYMBOLS = {"usd": "$"}


def money(value: Decimal, currency: str) -> str:
    """``$1,640.22`` (to the cent, for reading; the JSON keeps every digit)."""
    cents = value.quantize(Decimal("0.01"), ROUND_HALF_UP)
    symbol = _SYMBOLS.get(currency.lower())
    return f"{symbol}{cents:,}" if symbol else f"{cents:,} {currency.upper()}"


def percent(part: Decimal, whole: Decimal) -> str:
    return f"{(100 * part / whole).quantize(Decimal(1), ROUND_HALF_UP)}%"


def _figure(document: Mapping[str, Any], key: str) -> Decimal:
    return Decimal(document[key])


def summary_line(document: Mapping[str, Any]) -> str:
    """The whole alert in one sentence: the Slack ``text`` and the phone notification."""
    currency = document["currency"]
    spent = _figure(document, "spent")
    amount = _figure(document, "amount")
    settled = f"settled through {utc_text(_seconds(document['settled_until']))}"
    project = document["project_name"] or document["project_id"]
    where = f" ({project})" if project else ""
    if document["kind"] == "anomaly":
        items = ", ".join(document["line_items"][:3])
        more = len(document["line_items"]) - 3
        items += f" and {more} more" if more > 0 else ""
        times = f"{(spent / amount).quantize(Decimal('0.1'))}x" if amount else "far above"
        return (
            f"Cost anomaly{where} on {document['day']}: {money(spent, currency)}, {times} its "
            f"usual {money(amount, currency)} a day ({items}); {settled}."
        )
    head = (
        f"Budget {document['budget']}{where}: {money(spent, currency)} of "
        f"{money(amount, currency)} spent ({percent(spent, amount)})"
    )
    expected = document["forecast"]
    outlook = (
        f", forecast {money(Decimal(expected), currency)} ({percent(Decimal(expected), amount)})"
        if expected is not None
        else ""
    )
    if document["kind"] == "forecast":
        reason = " - on course to exceed it by the period's end"
    else:
        reason = f" - past its {percent(Decimal(document['threshold']), Decimal(1))} threshold"
    return f"{head}{outlook}{reason}; {settled}."


def _seconds(iso: str) -> int:
    return int(_dt.datetime.fromisoformat(iso).timestamp())


def _escaped(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally (&, <, > are its control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fields(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    currency = document["currency"]
    spent, amount = _figure(document, "spent"), _figure(document, "amount")
    if document["kind"] == "anomaly":
        shown = [
            ("Day", document["day"]),
            ("Cost", f"{money(spent, currency)} (usually {money(amount, currency)})"),
            ("Line items", "\n".join(document["line_items"][:5])),
        ]
    else:
        start, end = _seconds(document["period_start"]), _seconds(document["period_end"])
        shown = [
            ("Spent", f"{money(spent, currency)} of {money(amount, currency)}"
             f" ({percent(spent, amount)})"),
            ("Forecast", "-" if document["forecast"] is None
             else money(Decimal(document["forecast"]), currency)),
            ("Period", f"{utc_day(start)} to {utc_day(end - 1)}"),
        ]  # fmt: skip
    if document["project_id"]:
        shown.append(("Project", document["project_name"] or document["project_id"]))
    return shown


def slack_payload(document: Mapping[str, Any]) -> bytes:
    """The Slack incoming-webhook body for an alert document: ``{"text", "blocks"}``."""
    text = summary_line(document)
    context = (
        f"Settled through {utc_text(_seconds(document['settled_until']))}: later days may "
        f"still grow · source {document['source']} · alert {document['id']}"
    )
    blocks: Sequence[Mapping[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _escaped(text)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n{_escaped(str(value))}"}
                for name, value in _fields(document)
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _escaped(context)}]},
    ]
    return orjson.dumps({"text": _escaped(text), "blocks": blocks})


def alert_document(
    *,
    id: str,
    kind: AlertKind,
    spent: Decimal,
    amount: Decimal,
    currency: str,
    settled_until: int,
    source: str,
    project_id: str | None,
    project_name: str | None,
    budget: str | None = None,
    period_start: int | None = None,
    period_end: int | None = None,
    threshold: Decimal | None = None,
    forecast: Decimal | None = None,
    day: int | None = None,
    line_items: Sequence[str | None] = (),
) -> dict[str, Any]:
    """The webhook's JSON object for one alert (times in Unix seconds here)."""
    return {
        "id": id,
        "kind": kind,
        "budget": budget,
        "period_start": None if period_start is None else iso_utc(period_start),
        "period_end": None if period_end is None else iso_utc(period_end),
        "threshold": None if threshold is None else decimal_text(threshold.normalize()),
        "spent": decimal_text(spent),
        "amount": decimal_text(amount),
        "forecast": None if forecast is None else decimal_text(forecast),
        "currency": currency,
        "settled_until": iso_utc(settled_until),
        "project_id": project_id,
        "project_name": project_name,
        "source": source,
        "day": None if day is None else utc_day(day),
        "line_items": [item or "(all)" for item in line_items],
    }
