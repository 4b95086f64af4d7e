"""Running ``usage-async budget check``, and the same check after each ``sync --budgets`` run.

The check is the library's (``usage_async.budgets.check``); what is the command line's is
here: the config read before anything else (a bad one is exit 2 with its file, line and
key), the table on stdout (budget, period, spent, settled through, forecast, share of the
budget with a bar, state; made to fit 80 columns), a line per alert sent, failed, pending
or, in a dry run, that would be sent (its kind, budget, receiver and the receiver's host:
never a URL or a secret), a line per anomaly, and the exit code:

- 0 every budget within its thresholds;
- 3 a budget crossed a threshold, or its forecast reached the amount (alerted or not);
- 1 an alert could not be delivered (it stays pending for the next check) or the check
  could not run: this outranks 3, as a failure outranks a finding;
- 2 a bad config or argument, before anything is read.

On stderr, one line per undelivered alert names the receiver's host and why: the library
logs those that failed (``HTTP 502``, ``timed out``), this module says those another check
holds. After a sync, its own failure (1) outranks the check's code.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .._time import utc_day, utc_text
from ..budgets._messages import money, percent
from ._output import stdout_console
from ._running import EXIT_API_ERROR, EXIT_BUDGET_CROSSED, EXIT_OK, checked, fail, usage_error
from ._voice import library_log, plural, say

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..budgets import AlertOutcome, BudgetConfig, BudgetReport, BudgetResult
    from ..report import BudgetStatus

__all__ = ["SyncBudgets", "budget_exit_code", "run_check", "show_budget_report"]

REDIRECTED_WIDTH = 100
BAR_WIDTH = 5
# A cell of the bar in eighths: the partial blocks Unicode has, from none to a full one.
_EIGHTHS = " ▏▎▍▌▋▊▉█"
_STATE_STYLE = {"ok": "green", "warning": "yellow", "forecast": "magenta", "over": "bold red"}
_FLAGS = {"prefix": "--prefix", "at": "--at", "database": "DATABASE_URL"}
SETTLED_NOTE = "Settled: costs are final through that day (UTC); later days may still change."
# How a line says what became of an alert; those not here (superseded, already sent) are
# counted, not listed.
_SAID = {
    "sent": "sent",
    "failed": "not delivered",
    "pending": "pending",
    "would-send": "would send",
}


def run_check(args: argparse.Namespace, *, default_database: str) -> int:
    """Run ``usage-async budget check`` on ``args.database`` (else ``default_database``);
    returns the exit code."""
    from ..budgets import BudgetCheckError, BudgetConfigError, check

    at = args.at.seconds if args.at is not None else None
    config = _load_config(args, args.config)
    database = args.database or default_database
    checking = check(database, config, at=at, dry_run=args.dry_run, prefix=args.prefix or "")
    try:
        with library_log(*_secrets_of(config)):
            report = checked(args, lambda: asyncio.run(checking), _FLAGS)
    except BudgetConfigError as exc:  # a project the database does not know
        usage_error(args, str(exc))
    except BudgetCheckError as exc:
        return fail(str(exc), None)
    show_budget_report(report)
    return budget_exit_code(report)


def _load_config(args: argparse.Namespace, path: str) -> BudgetConfig:
    """``budgets.toml`` at ``path``, its receivers' URLs and secrets read from the
    environment; a config error (its file, line and key) is a usage error (exit 2)."""
    from ..budgets import BudgetConfigError, load_budgets

    try:
        return load_budgets(path)
    except BudgetConfigError as exc:
        usage_error(args, str(exc))


def _secrets_of(config: BudgetConfig) -> list[str]:
    """What of the receivers must never be said: their secrets, and their URLs' paths and
    queries (a Slack webhook's token is its path). The host, which is said, is not among
    them."""
    found = []
    for receiver in config.receivers.values():
        parts = urlsplit(receiver.url)
        found += [p for p in (parts.path, parts.query, receiver.secret) if p and len(p) > 1]
    return found


def budget_exit_code(report: BudgetReport) -> int:
    """1 if an alert is undelivered, else 3 if a budget crossed a threshold, else 0."""
    if report.undelivered:
        return EXIT_API_ERROR
    if report.crossed:
        return EXIT_BUDGET_CROSSED
    return EXIT_OK


# --- In the HTML report -------------------------------------------------------------------------


def report_budgets(
    args: argparse.Namespace, path: str, database: str, prefix: str
) -> Callable[[], Awaitable[list[BudgetStatus]]]:
    """``report --html --budgets FILE``: the config, read now (a config error is exit 2
    before any request), and how to evaluate it when the report is written: a dry run
    (nothing sent, nothing recorded) whose budgets the report draws as bars."""
    from ..budgets import BudgetConfigError, check
    from ..report import BudgetStatus

    config = _load_config(args, path)

    async def statuses() -> list[BudgetStatus]:
        try:
            with library_log(*_secrets_of(config)):
                report = await check(database, config, dry_run=True, prefix=prefix)
        except BudgetConfigError as exc:  # a project the database does not know
            usage_error(args, str(exc))
        return [
            BudgetStatus(
                name=b.name,
                spent=b.spent,
                amount=b.amount,
                currency=b.currency,
                forecast=b.forecast,
                settled_until=int(b.settled_until.timestamp()),
            )
            for b in report.budgets
        ]

    return statuses


# --- After a sync ------------------------------------------------------------------------------


class SyncBudgets:
    """``sync --budgets FILE``: the config, read before the first run, and the check after
    each run, on the sync's own database engine."""

    def __init__(self, config: BudgetConfig, prefix: str) -> None:
        self.config = config
        self.prefix = prefix

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, sources: Sequence[tuple[str, str]]
    ) -> SyncBudgets | None:
        """From ``--budgets`` (``None`` without it), for the sync's ``sources`` (each a name
        and its table prefix). A bad config, a budget of a source this sync does not keep,
        or sources with different prefixes are usage errors (exit 2): nothing has run yet."""
        if args.budgets is None:
            return None
        config = _load_config(args, args.budgets)
        prefixes = {prefix for _, prefix in sources}
        if len(prefixes) > 1:
            usage_error(
                args,
                "--budgets checks one set of tables: the sources of this sync use several "
                f"prefixes ({', '.join(sorted(repr(p) for p in prefixes))}); run "
                "usage-async budget check --prefix P for each",
            )
        names = {name for name, _ in sources}
        for budget in config.budgets:
            if budget.source not in names:
                problem = (
                    f"this sync keeps no source {budget.source!r} (it keeps "
                    f"{', '.join(sorted(names))})"
                )
                usage_error(args, str(budget.where.error("source", problem)))
        return cls(config, prefixes.pop() if prefixes else "")

    @property
    def secrets(self) -> list[str]:
        return _secrets_of(self.config)

    async def after(self, sync_code: int, engine: AsyncEngine, args: argparse.Namespace) -> int:
        """Check the budgets after a run whose exit code was ``sync_code``; returns the
        run's exit code: the sync's failure, else the check's."""
        from ..budgets import BudgetCheckError, BudgetConfigError, check

        try:
            report = await check(engine, self.config, prefix=self.prefix)
        except BudgetConfigError as exc:
            usage_error(args, str(exc))
        except BudgetCheckError as exc:
            fail(str(exc), None)
            return sync_code or EXIT_API_ERROR
        show_budget_report(report)
        sys.stdout.flush()
        return sync_code or budget_exit_code(report)


# --- What is shown -----------------------------------------------------------------------------


def show_budget_report(report: BudgetReport, console: Console | None = None) -> None:
    """Print ``report`` on stdout: the table, then a line per anomaly and per alert; on
    stderr, a line per alert another check holds (the library logs those that failed)."""
    console = console or stdout_console(REDIRECTED_WIDTH)
    if report.budgets:
        console.print(_title(report), style="bold", highlight=False, markup=False)
        console.print(_table(report.budgets), highlight=False)
        console.print(SETTLED_NOTE, style="dim", highlight=False, markup=False)
    # Wrapped between words on a terminal; whole lines elsewhere, for logs and grep.
    for line in (*_anomaly_lines(report), *_alert_lines(report)):
        console.print(line, highlight=False, markup=False, soft_wrap=not console.is_terminal)
    for alert in report.alerts:
        if alert.status == "pending":
            say(
                f"warning: budget alert to {alert.host} pending: another check is delivering "
                "it, or will after its claim expires"
            )


def _title(report: BudgetReport) -> str:
    moments = {b.as_of for b in report.budgets}
    head = "Budgets (dry run: nothing is sent)" if report.dry_run else "Budgets"
    if len(moments) != 1:
        return head
    (moment,) = moments
    return f"{head} as of {utc_text(int(moment.timestamp()))}"


def _table(budgets: Sequence[BudgetResult]) -> Table:
    # The box's one space between columns and none at the edges: seven columns in 80.
    table = Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        pad_edge=False,
        show_edge=False,
        padding=0,
    )
    table.add_column("Budget", min_width=8)
    table.add_column("Period", no_wrap=True)
    table.add_column("Spent", justify="right", no_wrap=True)
    table.add_column("Settled", no_wrap=True)
    table.add_column("Forecast", justify="right", no_wrap=True)
    table.add_column("Of budget", no_wrap=True)
    table.add_column("State", no_wrap=True)
    for b in budgets:
        table.add_row(
            _scope(b),
            _period(b),
            money(b.spent, b.currency),
            _settled(b),
            "-" if b.forecast is None else money(b.forecast, b.currency),
            _share(b),
            Text(b.state, style=_STATE_STYLE.get(b.state, "")),
        )
    return table


def _scope(b: BudgetResult) -> Group:
    name = Text(b.name, overflow="fold")
    narrowed = [s for s in (b.project_name or b.project_id, b.line_item) if s]
    if not narrowed:
        return Group(name)
    # The scope is a reminder of what the config says: cut short rather than wrapped.
    scope = Text(" · ".join(narrowed), style="dim", no_wrap=True, overflow="ellipsis")
    return Group(name, scope)


def _period(b: BudgetResult) -> str:
    start = int(b.period_start.timestamp())
    return utc_day(start)[:7] if b.period == "month" else utc_day(start)


def _settled(b: BudgetResult) -> str:
    # settled_until is a midnight: the days before it are settled, so the last one is
    # shown, as month-day (the title has the year).
    return utc_day(int(b.settled_until.timestamp()) - 1)[5:]


def _share(b: BudgetResult) -> Text:
    text = Text(f"{percent(b.spent, b.amount):>4} ")
    text.append(_bar(b.spent / b.amount, BAR_WIDTH), style=_STATE_STYLE.get(b.state, ""))
    return text


def _bar(fraction: Decimal, width: int) -> str:
    """``fraction`` (0 to 1; more is a full bar) as ``width`` cells of eighth blocks."""
    eighths = int(min(max(fraction, Decimal(0)), Decimal(1)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def _anomaly_lines(report: BudgetReport) -> Iterable[str]:
    for a in report.anomalies:
        where = a.project_name or a.project_id or "the organization"
        items = [i.line_item or "(all line items)" for i in a.line_items]
        shown = ", ".join(items[:2]) + (f" and {len(items) - 2} more" if len(items) > 2 else "")
        yield (
            f"anomaly: {where} on {a.day}: {money(a.amount, a.currency)} against a usual "
            f"{money(a.baseline, a.currency)} a day ({shown})"
        )


def _alert_lines(report: BudgetReport) -> Iterable[str]:
    projects = {
        o.id: a.project_name or a.project_id or "the organization"
        for a in report.anomalies
        for o in a.alerts
    }
    earlier = 0
    for alert in report.alerts:
        if alert.status == "already-sent":
            earlier += 1
        said = _SAID.get(alert.status)
        if said is None:
            continue
        line = f"{said}: {_what(alert, projects)} to {alert.receiver} ({alert.host})"
        if alert.status == "failed":
            line += f": {alert.error}; it stays pending for the next check"
        yield line
    if earlier:
        yield f"{plural(earlier, 'alert')} sent by earlier checks, not again"


def _what(alert: AlertOutcome, projects: Mapping[str, str]) -> str:
    if alert.kind == "anomaly":
        # An anomaly alert left pending by an earlier check is not among this one's.
        where = projects.get(alert.id)
        return f"anomaly alert of {where or 'a project'} on {alert.day}"
    if alert.kind == "forecast":
        return f"forecast alert of {alert.budget}"
    threshold = alert.threshold if alert.threshold is not None else Decimal(1)
    return f"{percent(threshold, Decimal(1))} alert of {alert.budget}"
