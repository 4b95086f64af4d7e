"""``check()``: evaluate every budget on the synced database and deliver the alerts due.

One check reads (the state, the costs, the project names; one transaction), computes
(``_compute``, no I/O), records the alerts due, then delivers every pending alert, each
claimed first (``_database`` explains the exactly-once steps).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import attrs
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .._exceptions import InvalidParameterError
from .._time import DAY, utc_datetime
from .._transport import AiohttpTransport
from ..sync import Schema, database_exists, open_engine
from ._compute import (
    RECENT_DAYS,
    RUN_RATE_DAYS,
    DailyCosts,
    Figures,
    FoundAnomaly,
    Window,
    budget_figures,
    evaluation_window,
    find_anomalies,
    period_bounds,
    scope_days,
)
from ._config import Budget, BudgetConfig, load_budgets
from ._database import (
    DELIVERED,
    LEASE_SECONDS,
    PENDING,
    SUPERSEDED,
    AlertRow,
    AlertsTable,
    SourceState,
    costs_table,
    read_costs,
    read_projects,
    read_states,
    table_columns,
)
from ._deliver import DeliveryError, DeliveryPolicy, deliver, new_transport
from ._messages import (
    AlertKind,
    alert_document,
    alert_id,
    signed_headers,
    slack_payload,
    summary_line,
)
from ._report import (
    AlertOutcome,
    AlertStatus,
    AnomalyResult,
    BudgetCheckError,
    BudgetReport,
    BudgetResult,
)

__all__ = ["check"]

logger = logging.getLogger("usage_async")

_PREFIX = re.compile(r"[a-z_][a-z0-9_]*")
_CONCURRENT_DELIVERIES = 4
_OUTCOME_OF_RECORD: Mapping[str, AlertStatus] = {
    DELIVERED: "already-sent",
    SUPERSEDED: "superseded",
    PENDING: "pending",
}


@attrs.frozen
class _Source:
    """What the check read of one source."""

    state: SourceState
    window: Window
    costs: DailyCosts
    names: Mapping[str, str | None]


@attrs.frozen
class _Alert:
    """An alert the figures call for: its document and who is to hear of it."""

    id: str
    kind: AlertKind
    source: str
    document: Mapping[str, object]
    receivers: tuple[str, ...]
    budget: str | None = None
    threshold: Decimal | None = None
    project_id: str | None = None
    period_start: int | None = None
    day: int | None = None

    def row(self, receiver: str, status: str) -> AlertRow:
        return AlertRow(
            id=self.id,
            receiver=receiver,
            kind=self.kind,
            source=self.source,
            document=orjson.dumps(self.document).decode(),
            status=status,
            budget=self.budget,
            period_start=_utc(self.period_start),
            threshold=None if self.threshold is None else str(self.threshold.normalize()),
            project_id=self.project_id,
            day=_utc(self.day),
        )


def _utc(seconds: int | None) -> _dt.datetime | None:
    return None if seconds is None else utc_datetime(seconds)


def _instant(at: int | _dt.datetime | None) -> int | None:
    if at is None:
        return None
    if isinstance(at, _dt.datetime):
        if at.tzinfo is None:
            raise InvalidParameterError("at must be an aware datetime (UTC)", param="at")
        return int(at.timestamp())
    if isinstance(at, bool) or not isinstance(at, int) or at < 0:
        raise InvalidParameterError("at must be Unix seconds or an aware datetime", param="at")
    return at


def _engine(database: str | AsyncEngine) -> tuple[AsyncEngine, bool]:
    if isinstance(database, AsyncEngine):
        return database, False
    if not isinstance(database, str):
        raise InvalidParameterError(
            "database must be a URL string or an AsyncEngine", param="database"
        )
    if not database_exists(database):  # a mistyped path must not leave an empty file behind
        shown = sa.make_url(database).render_as_string(hide_password=True)
        raise BudgetCheckError(
            f"no database at {shown}: run usage-async sync with the costs endpoint first"
        )
    return open_engine(database), True


async def check(
    database: str | AsyncEngine,
    config: BudgetConfig | str | Path,
    *,
    at: int | _dt.datetime | None = None,
    dry_run: bool = False,
    prefix: str = "",
    now: Callable[[], float] | None = None,
    delivery: DeliveryPolicy | None = None,
) -> BudgetReport:
    """Evaluate every budget of ``config`` on ``database`` and deliver the alerts due.

    Args:
        database: The database ``sync`` keeps: a URL (``sqlite:///usage.db``,
            ``postgresql://...``) or an ``AsyncEngine`` (not disposed here).
        config: A ``BudgetConfig``, or the path of a ``budgets.toml`` to load.
        at: Evaluate as of this instant (Unix seconds or an aware datetime) instead of the
            database's last synced server time: its periods, and only the days that ended
            by then (see ``evaluation_window``).
        dry_run: Compute and return what would be sent; record and send nothing.
        prefix: The table prefix the sync used.
        now: This machine's clock (default ``time.time``), for leases, the record's times
            and signatures; never for periods, which are the server's.
        delivery: Retries and timeouts of a delivery (``DeliveryPolicy``).

    Raises:
        BudgetConfigError: A config that cannot be used (also: a budget's project that is
            neither an ID nor the exact name of a project of its source), before anything is
            sent.
        InvalidParameterError: A bad argument, before anything is read.
        BudgetCheckError: The database cannot be read, or has no synced costs for a source.
    """
    if not isinstance(config, BudgetConfig):
        config = load_budgets(config)
    moment = _instant(at)
    if prefix and not _PREFIX.fullmatch(prefix):
        raise InvalidParameterError(
            f"prefix must be lower-case letters, digits and underscores, got {prefix!r}",
            param="prefix",
        )
    clock = now or time.time
    engine, owned = _engine(database)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        schema = Schema(prefix)
        sources = await _read(engine, schema, config, moment, shown)
        evaluation = _evaluate(config, sources, prefix)
        table = AlertsTable(engine, schema)
        if dry_run:
            outcomes = await _dry_run(table, evaluation.alerts, config)
        else:
            outcomes = await _record_and_deliver(
                table, evaluation.alerts, config, clock, delivery or DeliveryPolicy()
            )
    except (sa.exc.DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise BudgetCheckError(f"cannot check budgets in {shown}: {reason}") from exc
    finally:
        if owned:
            await engine.dispose()
    return _report(shown, evaluation, outcomes, dry_run)


# --- Reading -------------------------------------------------------------------------------------


async def _read(
    engine: AsyncEngine,
    schema: Schema,
    config: BudgetConfig,
    at: int | None,
    shown: str,
) -> dict[str, _Source]:
    """Every source the config needs, read in one transaction."""
    async with engine.connect() as conn:
        tables = await table_columns(conn)
        costs_name = schema.table_name("costs")
        if schema.state.name not in tables or costs_name not in tables:
            raise BudgetCheckError(
                f"{shown} has no synced costs (no {costs_name} or {schema.state.name} table): "
                f"run usage-async sync with the costs endpoint first"
            )
        _check_groupings(config.budgets, tables[costs_name], costs_name)
        costs = costs_table(schema, tables[costs_name])
        states = await read_states(conn, schema)
        wanted = {b.source for b in config.budgets}
        missing = sorted(wanted - set(states))
        if missing:
            raise BudgetCheckError(
                f"{shown} has no costs synced for source {missing[0]!r}: run usage-async sync "
                f"--source {missing[0]} with the costs endpoint first"
            )
        if config.anomaly is not None:
            wanted |= set(states)
        read = {}
        for source in sorted(wanted):
            read[source] = await _read_source(
                conn, schema, costs, config, source, states[source], at, tables
            )
        return read


def _check_groupings(budgets: Iterable[Budget], columns: set[str], table: str) -> None:
    for budget in budgets:
        for key, column in (("project", "project_id"), ("line_item", "line_item")):
            if getattr(budget, key) is not None and column not in columns:
                raise budget.where.error(
                    key,
                    f"{table} was synced without grouping by {column}, so it cannot be "
                    f"narrowed to one; sync costs grouped by {column} (into another prefix)",
                )


async def _read_source(
    conn: AsyncConnection,
    schema: Schema,
    costs: sa.Table,
    config: BudgetConfig,
    source: str,
    state: SourceState,
    at: int | None,
    tables: Mapping[str, set[str]],
) -> _Source:
    window = evaluation_window(state.synced_until, state.settled_until, at)
    starts = [
        period_bounds(b.period, window.as_of)[0] for b in config.budgets if b.source == source
    ]
    starts.append(window.settled_through - RUN_RATE_DAYS * DAY)
    if config.anomaly is not None:
        lookback = RECENT_DAYS + config.anomaly.lookback_days
        starts.append(window.settled_through - lookback * DAY)
    daily = await read_costs(conn, costs, source, min(starts), window.cutoff)
    names = await read_projects(conn, schema, source) if schema.projects.name in tables else {}
    return _Source(state, window, daily, names)


def _project_id(budget: Budget, source: _Source) -> str | None:
    """The ID a budget's ``project`` names: an ID, or the exact name of one project."""
    wanted = budget.project
    if wanted is None:
        return None
    known = set(source.names) | {k[0] for k in source.costs.days if k[0] is not None}
    if wanted in known:
        return wanted
    named = sorted(i for i, n in source.names.items() if n == wanted)
    if len(named) == 1:
        return named[0]
    if named:
        raise budget.where.error(
            "project",
            f"{len(named)} projects of source {budget.source!r} are named {wanted!r} "
            f"({', '.join(named)}): give the ID of the one meant",
        )
    choices = ", ".join(sorted(n for n in source.names.values() if n)[:12]) or "no names synced"
    raise budget.where.error(
        "project",
        f"no project {wanted!r} in source {budget.source!r}, by ID or exact name "
        f"(the projects: {choices})",
    )


# --- Evaluating ----------------------------------------------------------------------------------


@attrs.frozen
class _Evaluation:
    """Each budget's result and alerts, each anomaly and its alert."""

    budgets: list[tuple[BudgetResult, list[_Alert]]]
    anomalies: list[tuple[AnomalyResult, _Alert]]

    @property
    def alerts(self) -> list[_Alert]:
        return [a for _, group in self.budgets for a in group] + [a for _, a in self.anomalies]


def _evaluate(config: BudgetConfig, sources: Mapping[str, _Source], prefix: str) -> _Evaluation:
    results = []
    for budget in config.budgets:
        source = sources[budget.source]
        project_id = _project_id(budget, source)
        days = scope_days(source.costs, project_id, budget.line_item, budget.currency)
        figures = budget_figures(budget, days, source.window, source.costs.first_day)
        name = None if project_id is None else source.names.get(project_id)
        result = _budget_result(budget, figures, source.window, project_id, name)
        results.append((result, _budget_alerts(budget, result, figures, prefix)))
    anomalies = []
    if config.anomaly is not None:
        for source_name, source in sources.items():
            for found in find_anomalies(source.costs, config.anomaly, source.window):
                anomaly = _anomaly_result(source_name, source, found)
                alert = _anomaly_alert(anomaly, found, config.anomaly.notify, prefix)
                anomalies.append((anomaly, alert))
    return _Evaluation(results, anomalies)


def _budget_result(
    budget: Budget,
    figures: Figures,
    window: Window,
    project_id: str | None,
    project_name: str | None,
) -> BudgetResult:
    return BudgetResult(
        name=budget.name,
        source=budget.source,
        amount=budget.amount,
        currency=budget.currency,
        period=budget.period,
        period_start=utc_datetime(figures.period_start),
        period_end=utc_datetime(figures.period_end),
        as_of=utc_datetime(window.as_of),
        spent=figures.spent,
        settled=figures.settled,
        settled_until=utc_datetime(window.settled_through),
        forecast=figures.forecast,
        crossed=figures.crossed,
        forecast_crossed=figures.forecast_crossed,
        state=figures.state,
        project_id=project_id,
        project_name=project_name,
        line_item=budget.line_item,
    )


def _severity(kind: AlertKind, threshold: Decimal) -> tuple[int, Decimal]:
    """Spending the amount outranks a forecast of it, which outranks a warning threshold."""
    if kind == "forecast":
        return 1, threshold
    return (2 if threshold >= 1 else 0), threshold


def _budget_alerts(
    budget: Budget, result: BudgetResult, figures: Figures, prefix: str
) -> list[_Alert]:
    """The alerts a budget's figures call for, most severe first."""
    due: list[tuple[AlertKind, Decimal]] = [("threshold", t) for t in figures.crossed]
    if figures.forecast_crossed:
        due.append(("forecast", Decimal(1)))
    due.sort(key=lambda d: _severity(*d), reverse=True)
    settled = int(result.settled_until.timestamp())
    alerts = []
    for kind, threshold in due:
        key = alert_id(
            kind, prefix, budget.source, budget.name, figures.period_start, threshold.normalize()
        )
        document = alert_document(
            id=key,
            kind=kind,
            spent=result.spent,
            amount=budget.amount,
            currency=budget.currency,
            settled_until=settled,
            source=budget.source,
            project_id=result.project_id,
            project_name=result.project_name,
            budget=budget.name,
            period_start=figures.period_start,
            period_end=figures.period_end,
            threshold=threshold,
            forecast=figures.forecast,
            line_items=() if budget.line_item is None else (budget.line_item,),
        )
        alerts.append(
            _Alert(
                key,
                kind,
                budget.source,
                document,
                budget.notify,
                budget=budget.name,
                threshold=threshold,
                project_id=result.project_id,
                period_start=figures.period_start,
            )
        )
    return alerts


def _anomaly_result(source_name: str, source: _Source, found: FoundAnomaly) -> AnomalyResult:
    return AnomalyResult(
        source=source_name,
        project_id=found.project_id,
        project_name=None if found.project_id is None else source.names.get(found.project_id),
        day=_dt.date(1970, 1, 1) + _dt.timedelta(days=found.day),
        currency=found.currency,
        amount=found.amount,
        baseline=found.baseline,
        line_items=found.line_items,
        settled_until=utc_datetime(source.window.settled_through),
    )


def _anomaly_alert(
    anomaly: AnomalyResult, found: FoundAnomaly, receivers: Sequence[str], prefix: str
) -> _Alert:
    day = found.day * DAY
    key = alert_id(
        "anomaly", prefix, anomaly.source, found.project_id, anomaly.day.isoformat(), found.currency
    )
    document = alert_document(
        id=key,
        kind="anomaly",
        spent=anomaly.amount,
        amount=anomaly.baseline,
        currency=anomaly.currency,
        settled_until=int(anomaly.settled_until.timestamp()),
        source=anomaly.source,
        project_id=anomaly.project_id,
        project_name=anomaly.project_name,
        period_start=day,
        period_end=day + DAY,
        day=day,
        line_items=[i.line_item for i in found.line_items],
    )
    return _Alert(
        key,
        "anomaly",
        anomaly.source,
        document,
        tuple(receivers),
        project_id=anomaly.project_id,
        day=day,
    )


# --- Recording and delivering --------------------------------------------------------------------


def _plan(
    alerts: Sequence[_Alert], recorded: Mapping[tuple[str, str], str]
) -> tuple[list[AlertRow], list[tuple[_Alert, str, AlertStatus]]]:
    """The rows to record, and the outcome of each alert whose record exists already.

    When several alerts of one budget and period are new to a receiver in the same run,
    only the most severe is sent; the others are recorded as superseded.
    """
    new_rows: list[AlertRow] = []
    known: list[tuple[_Alert, str, AlertStatus]] = []
    taken: set[tuple[str | None, int | None, str]] = set()
    for alert in alerts:  # a budget's alerts come most severe first
        for receiver in alert.receivers:
            status = recorded.get((alert.id, receiver))
            if status is not None:
                known.append((alert, receiver, _OUTCOME_OF_RECORD.get(status, "pending")))
                continue
            group = (alert.budget, alert.period_start, receiver)
            if alert.kind != "anomaly" and group in taken:
                new_rows.append(alert.row(receiver, SUPERSEDED))
                known.append((alert, receiver, "superseded"))
                continue
            taken.add(group)
            new_rows.append(alert.row(receiver, PENDING))
    return new_rows, known


def _outcome(
    row_or_alert: AlertRow | _Alert,
    receiver: str,
    config: BudgetConfig,
    status: AlertStatus,
    error: str | None = None,
) -> AlertOutcome:
    if isinstance(row_or_alert, AlertRow):
        document = orjson.loads(row_or_alert.document)
    else:
        document = dict(row_or_alert.document)
    threshold = document.get("threshold")
    known = config.receivers.get(receiver)
    return AlertOutcome(
        id=document["id"],
        kind=document["kind"],
        receiver=receiver,
        host="?" if known is None else known.host,
        status=status,
        message=summary_line(document),
        budget=document.get("budget"),
        threshold=None if threshold is None else Decimal(threshold),
        day=None if document.get("day") is None else _dt.date.fromisoformat(document["day"]),
        error=error,
    )


async def _dry_run(
    table: AlertsTable, alerts: Sequence[_Alert], config: BudgetConfig
) -> list[AlertOutcome]:
    recorded = await table.statuses(a.id for a in alerts)
    new_rows, known = _plan(alerts, recorded)
    by_id = {a.id: a for a in alerts}
    outcomes = [_outcome(by_id[r.id], r.receiver, config, "would-send") for r in new_rows
                if r.status == PENDING]  # fmt: skip
    outcomes += [_outcome(a, r, config, "would-send" if s == "pending" else s) for a, r, s in known]
    current = {(r.id, r.receiver) for r in new_rows} | {(a.id, r) for a, r, _ in known}
    if await table.exists():
        outcomes += [
            _outcome(row, row.receiver, config, "would-send")
            for row in await table.pending()
            if (row.id, row.receiver) not in current and row.receiver in config.receivers
        ]
    return outcomes


async def _record_and_deliver(
    table: AlertsTable,
    alerts: Sequence[_Alert],
    config: BudgetConfig,
    clock: Callable[[], float],
    policy: DeliveryPolicy,
) -> list[AlertOutcome]:
    await table.create()
    recorded = await table.statuses(a.id for a in alerts)
    new_rows, known = _plan(alerts, recorded)
    await table.record(new_rows, int(clock()))
    outcomes = [_outcome(a, r, config, s) for a, r, s in known if s != "pending"]
    pending = [row for row in await table.pending() if row.receiver in config.receivers]
    if not pending:
        return outcomes
    owner = secrets.token_hex(8)
    limit = asyncio.Semaphore(_CONCURRENT_DELIVERIES)
    transport = new_transport(_CONCURRENT_DELIVERIES)

    async def one(row: AlertRow) -> AlertOutcome:
        async with limit:
            return await _deliver_row(table, row, config, transport, owner, clock, policy)

    try:
        outcomes += await asyncio.gather(*(one(row) for row in pending))
    finally:
        await transport.close()
    return outcomes


async def _deliver_row(
    table: AlertsTable,
    row: AlertRow,
    config: BudgetConfig,
    transport: AiohttpTransport,
    owner: str,
    clock: Callable[[], float],
    policy: DeliveryPolicy,
) -> AlertOutcome:
    lease = max(LEASE_SECONDS, math.ceil(2 * policy.longest))
    if not await table.claim(row, owner, int(clock()), lease):
        return _outcome(row, row.receiver, config, "pending")
    receiver = config.receivers[row.receiver]

    def request() -> tuple[bytes, dict[str, str]]:
        if receiver.type == "slack":
            body = slack_payload(orjson.loads(row.document))
            return body, {"Content-Type": "application/json"}
        body = row.document.encode()
        assert receiver.secret is not None
        return body, signed_headers(receiver.secret, body, int(clock()))

    try:
        await deliver(transport, receiver.url, receiver.host, request, policy)
    except DeliveryError as failure:
        await table.finish(row, owner, int(clock()), failure.reason)
        logger.warning(
            "budget alert to %s not delivered (%s): it stays pending for the next check",
            receiver.host,
            failure.reason,
        )
        return _outcome(row, row.receiver, config, "failed", failure.reason)
    await table.finish(row, owner, int(clock()), None)
    return _outcome(row, row.receiver, config, "sent")


def _report(
    database: str, evaluation: _Evaluation, outcomes: Sequence[AlertOutcome], dry_run: bool
) -> BudgetReport:
    by_id: dict[str, list[AlertOutcome]] = {}
    for outcome in outcomes:
        by_id.setdefault(outcome.id, []).append(outcome)

    def of(alerts: Iterable[_Alert]) -> tuple[AlertOutcome, ...]:
        return tuple(o for a in alerts for o in by_id.get(a.id, ()))

    return BudgetReport(
        database=database,
        budgets=tuple(attrs.evolve(r, alerts=of(a)) for r, a in evaluation.budgets),
        anomalies=tuple(attrs.evolve(r, alerts=of([a])) for r, a in evaluation.anomalies),
        alerts=tuple(outcomes),
        dry_run=dry_run,
    )
