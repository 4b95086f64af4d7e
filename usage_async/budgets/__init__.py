"""Budgets and alerts on the database ``sync`` keeps: warned before the money is spent.

    import usage_async.budgets

    config = usage_async.budgets.load_budgets("budgets.toml")
    report = await usage_async.budgets.check("sqlite:///usage.db", config)
    for budget in report.budgets:
        print(budget.name, budget.spent, budget.forecast, budget.state)

Needs the ``sync`` extra (SQLAlchemy; ``postgres`` for PostgreSQL), like the database it
reads. ``load_budgets`` reads ``budgets.toml`` (``_config`` shows it); ``check`` evaluates
every budget and sends the alerts due; ``verify_signature`` is for the receivers of webhooks
(``_messages`` shows the JSON they receive and how to verify it).

**The period is the server's.** A budget's period (a UTC calendar month or day) is the one
containing the database's last synced server time for its source (``sync_state``'s
``synced_until`` of ``costs``), not this machine's clock. ``at=`` evaluates as of another
instant: its periods, and only the days that ended by then (costs are daily).

**Spent** is the exact sum of ``costs`` in the budget's scope (source, project, line item,
currency) for the period. The part after the database's ``settled_until`` is provisional:
the sync reads it again and it may still change, so every result and alert says "settled
through <time>".

**Forecast** for the period's end: the period's settled spend, plus the run-rate times the
days left from settled-through to the period's end, rounded to the cent, and never less
than what is already spent. The run-rate is the mean daily cost of the budget's scope over
the last 28 settled days (four whole weeks, so weekdays and weekends weigh what they do
in a week and one odd day moves it little; from before the period's start if need be; only
days the database has costs for). Provisional days are replaced by the run-rate rather
than trusted. No settled day, no forecast. ``benchmarks/forecast_backtest.py`` measures how
far off it was on the emulator's history, day by day of the month: a median of about 5%
in the first ten days, 3% in the next ten, under 2% after.

**Anomalies** (with an ``[anomaly]`` table): on each of the last 7 settled days, a line item
of a project is anomalous when it cost at least ``min_amount``, it is in regular use (the
median of its cost over the ``lookback_days`` days before, days without cost counting as
zero, is above zero; only days since its first cost count, at least 7 of them, so a model
newly taken into use is not an anomaly), and that day cost both at least 3 times that
median and at least 6 robust standard deviations above it (1.4826 x the median absolute
deviation; a deviation of zero passes on the first rule). The anomalous line items of one
project's day make one anomaly and one alert. On the emulator's ordinary data (about 1,000
days, seeds 0 to 3) no day rings; the closest comes to 72% of the rule.

**Delivery, exactly once.** Alerts are due once per (budget, period, threshold), once per
(budget, period) for a forecast, and once per (project, day) for an anomaly; when several of
a budget's period fall due in one run, only the most severe is sent (the others are recorded
as superseded). Each is recorded in ``{prefix}budget_alerts`` in the same database, claimed
before it is sent and marked delivered after the receiver accepted it (``_database``
explains why two checks never send one twice, and why a crash re-sends the same ``id``,
the receiver's idempotency key). Failures are retried with back-off (timeouts, connection
errors, 408, 429, 5xx); an alert that still fails stays pending, is retried on the next
check, and is logged once as a WARNING on the ``usage_async`` logger, naming the receiver's
host only. No URL, secret or key appears in a ``repr``, a log or an exception.

Names load on first use, so ``verify_signature`` needs neither SQLAlchemy nor aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._check import check
    from ._compute import LineItemAnomaly
    from ._config import (
        AnomalyRule,
        Budget,
        BudgetConfig,
        BudgetConfigError,
        Receiver,
        load_budgets,
    )
    from ._database import LEASE_SECONDS
    from ._deliver import DeliveryPolicy
    from ._messages import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
    from ._report import (
        AlertOutcome,
        AnomalyResult,
        BudgetCheckError,
        BudgetReport,
        BudgetResult,
    )

__all__ = [
    "LEASE_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlertOutcome",
    "AnomalyResult",
    "AnomalyRule",
    "Budget",
    "BudgetCheckError",
    "BudgetConfig",
    "BudgetConfigError",
    "BudgetReport",
    "BudgetResult",
    "DeliveryPolicy",
    "LineItemAnomaly",
    "Receiver",
    "check",
    "load_budgets",
    "verify_signature",
]

_MODULE_OF = {
    "LEASE_SECONDS": "._database",
    "SIGNATURE_HEADER": "._messages",
    "TIMESTAMP_HEADER": "._messages",
    "AlertOutcome": "._report",
    "AnomalyResult": "._report",
    "AnomalyRule": "._config",
    "Budget": "._config",
    "BudgetCheckError": "._report",
    "BudgetConfig": "._config",
    "BudgetConfigError": "._config",
    "BudgetReport": "._report",
    "BudgetResult": "._report",
    "DeliveryPolicy": "._deliver",
    "LineItemAnomaly": "._compute",
    "Receiver": "._config",
    "check": "._check",
    "load_budgets": "._config",
    "verify_signature": "._messages",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
