"""What a check returns: each budget's figures, the anomalies, and what became of each alert.

Typed and plain: the command line draws its table from a ``BudgetReport`` and picks its
exit code from ``crossed`` and ``undelivered``; nothing here prints.
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import attrs

from .._time import utc_text
from ._compute import LineItemAnomaly, State
from ._messages import AlertKind, money, percent

__all__ = [
    "AlertOutcome",
    "AlertStatus",
    "AnomalyResult",
    "BudgetCheckError",
    "BudgetReport",
    "BudgetResult",
]

AlertStatus = Literal["sent", "already-sent", "failed", "pending", "would-send", "superseded"]
"""``sent``: delivered by this run. ``already-sent``: delivered by an earlier run, not sent
again. ``failed``: this run tried and could not; it stays pending for the next run.
``pending``: not tried by this run (another check holds it). ``would-send``: a dry run's
alert that a real run would send. ``superseded``: a more severe alert of the same budget
and period is due or was sent (crossing 50% and 80% at once sends the 80% one only); it is
recorded and never sent."""


class BudgetCheckError(Exception):
    """The check could not run: the database cannot be read or holds no synced costs for a
    budget's source. Nothing was sent."""


@attrs.frozen
class AlertOutcome:
    """One alert to one receiver, and what this run did with it.

    ``host`` is all of the receiver's URL that is shown; ``error`` says why a delivery
    failed (``HTTP 500``, ``timed out``, ``connection refused``), never with a URL.
    ``message`` is the alert in one sentence (what a dry run shows).
    """

    id: str
    kind: AlertKind
    receiver: str
    host: str
    status: AlertStatus
    message: str
    budget: str | None = None
    threshold: Decimal | None = None
    day: _dt.date | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status in ("sent", "already-sent")

    @property
    def undelivered(self) -> bool:
        """Due and not delivered (``failed`` or ``pending``): the check's exit code 1."""
        return self.status in ("failed", "pending")


@attrs.frozen
class BudgetResult:
    """One budget in its current period (times aware UTC datetimes, money exact).

    ``spent`` counts every synced cost of the period up to the evaluated instant;
    ``settled`` is the part before ``settled_until``, the rest is ``provisional`` and may
    still change. ``crossed`` lists the thresholds spent has reached; ``forecast_crossed``
    says the forecast reached the amount (for a budget that alerts on forecasts).
    """

    name: str
    source: str
    amount: Decimal
    currency: str
    period: Literal["month", "day"]
    period_start: _dt.datetime
    period_end: _dt.datetime
    as_of: _dt.datetime
    spent: Decimal
    settled: Decimal
    settled_until: _dt.datetime
    forecast: Decimal | None
    crossed: tuple[Decimal, ...]
    forecast_crossed: bool
    state: State
    project_id: str | None = None
    project_name: str | None = None
    line_item: str | None = None
    alerts: tuple[AlertOutcome, ...] = ()

    @property
    def provisional(self) -> Decimal:
        """Spent after ``settled_until``: the part that may still change."""
        return self.spent - self.settled

    @property
    def fraction(self) -> Decimal:
        """Spent as a fraction of the amount, to four places (``0.8250``)."""
        return (self.spent / self.amount).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)

    @property
    def forecast_fraction(self) -> Decimal | None:
        if self.forecast is None:
            return None
        return (self.forecast / self.amount).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)


@attrs.frozen
class AnomalyResult:
    """A project's day whose line items cost far above their baseline (see
    ``find_anomalies``): ``amount`` is what those line items cost that day, ``baseline``
    what they cost on their median day."""

    source: str
    project_id: str | None
    project_name: str | None
    day: _dt.date
    currency: str
    amount: Decimal
    baseline: Decimal
    line_items: tuple[LineItemAnomaly, ...]
    settled_until: _dt.datetime
    alerts: tuple[AlertOutcome, ...] = ()


@attrs.frozen
class BudgetReport:
    """Everything one check found and did.

    ``alerts`` holds every alert outcome of the run: those of ``budgets`` and ``anomalies``
    and the retries of alerts left pending by earlier runs.
    """

    database: str
    budgets: tuple[BudgetResult, ...]
    anomalies: tuple[AnomalyResult, ...]
    alerts: tuple[AlertOutcome, ...]
    dry_run: bool = False

    @property
    def crossed(self) -> bool:
        """A budget crossed a threshold, or its forecast reached its amount, alerted or not
        (the command line's exit code 3)."""
        return any(b.crossed or b.forecast_crossed for b in self.budgets)

    @property
    def undelivered(self) -> tuple[AlertOutcome, ...]:
        """Alerts due that are not delivered: they stay pending for the next run (the
        command line's exit code 1)."""
        return tuple(a for a in self.alerts if a.undelivered)

    @property
    def sent(self) -> tuple[AlertOutcome, ...]:
        return tuple(a for a in self.alerts if a.status == "sent")

    def summary(self) -> str:
        """One line per budget and anomaly, and a line on the alerts (plain text)."""
        lines = []
        for b in self.budgets:
            expected = (
                f", forecast {money(b.forecast, b.currency)}" if b.forecast is not None else ""
            )
            lines.append(
                f"{b.name}: {money(b.spent, b.currency)} of {money(b.amount, b.currency)} "
                f"({percent(b.spent, b.amount)}){expected}, settled through "
                f"{utc_text(int(b.settled_until.timestamp()))}: {b.state}"
            )
        for a in self.anomalies:
            lines.append(
                f"anomaly: {a.project_name or a.project_id or 'organization'} on {a.day}: "
                f"{money(a.amount, a.currency)} against {money(a.baseline, a.currency)}"
            )
        counts: dict[str, int] = {}
        for alert in self.alerts:
            counts[alert.status] = counts.get(alert.status, 0) + 1
        if counts:
            lines.append("alerts: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        return "\n".join(lines)
