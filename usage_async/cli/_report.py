"""``usage-async report`` and ``demo``: every endpoint and the costs of a period, as text,
JSON or an HTML file.

All three are drawn from one ``Chargeback``, which ``usage_async.report.collect`` reads: all
twelve endpoints at once in daily buckets, grouped by model, project and line item where the
endpoint has them, with the projects' names read beside them. So the screen, the JSON and the
HTML report of one period show the same numbers; the screen and the HTML show amounts in
cents apportioned from their total (``report._money.apportion``), so that the days, the line
items and the projects each add up to the total shown.

The screen shows the total cost, a bar per day, cost by line item and by project, and each
endpoint's totals with its busiest models. It fits the console's width (the terminal's, or
``COLUMNS`` when piped, else ``REDIRECTED_WIDTH``): the bars narrow before a date is cut, a
line of totals breaks between two figures, never inside one, and no line ends in spaces.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rich import box
from rich.bar import Bar
from rich.columns import Columns
from rich.console import Console, RenderableType
from rich.rule import Rule
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from .._client import UsageClient
from .._endpoints import ENDPOINTS
from .._files import replace_text
from .._models import Page
from .._protocol import Query, validate
from .._rows import Number
from .._time import DAY, floor_to, iso_utc, utc_day, utc_minute
from ..report import (
    BudgetStatus,
    Chargeback,
    EndpointUsage,
    collect,
    metric_label,
    render_html,
    report_params,
)
from ..report._money import apportion, cents, exact_sum, money_text
from ._names import NONE
from ._output import BucketBars, human_number, small_writes, stdout_console
from ._voice import plural

if TYPE_CHECKING:
    from ..emulator import Spike

__all__ = [
    "REDIRECTED_WIDTH",
    "demo_report",
    "read_report",
    "render_report",
    "report_document",
    "report_queries",
    "show_report",
    "write_html_report",
]

TOP = 8
TOP_MODELS = 3
MAX_BARS = 31
BAR_WIDTH = 40
# Wide enough for the cost tables side by side when the report goes to a file or a pipe
# that says no width of its own (COLUMNS).
REDIRECTED_WIDTH = 120
# What a table column costs besides its cells (pad, rule, pad), and the chart's (pad, pad).
_SEPARATOR = 3
_CHART_GAP = 2
# Light tables: a header rule and no borders keep the report to about one screen.
_TABLE_STYLE: dict[str, Any] = {
    "box": box.SIMPLE_HEAD,
    "header_style": "bold",
    "title_justify": "left",
    "title_style": "bold",
    "pad_edge": False,
    "show_edge": False,
}
_PHRASES = " · "


def report_queries(start: int, end: int) -> dict[str, Query]:
    """The query of every endpoint for the report of ``[start, end)``, as ``collect`` sends
    them (``report_params``). Raises ``InvalidParameterError`` (e.g. an end before the
    start), as ``collect`` would, so the command can refuse them before any request."""
    return {
        name: validate(ENDPOINTS[name], params)
        for name, params in report_params(start, end).items()
    }


async def read_report(
    client: UsageClient,
    start: int,
    end: int,
    *,
    names: bool | Sequence[str],
    attribution: bool = False,
) -> Chargeback:
    """``collect`` the report of ``[start, end)`` through ``client`` (closed when done), with
    a progress bar on stderr when it is a terminal. ``names`` and ``attribution`` are
    ``collect``'s: the text and JSON reports read project names only, the HTML report the
    costs by user and key and their names too."""
    days = max(1, -(-(end - floor_to(start, DAY)) // DAY))
    queries = len(ENDPOINTS) + (2 if attribution else 0)
    label = plural(len(ENDPOINTS), "endpoint")
    async with client:
        with BucketBars(sys.stderr.isatty()) as progress:
            progress.track(label, days * queries)

            def advance(key: str, page: Page[Any]) -> None:
                progress.advance(label, len(page.data), 1)

            return await collect(
                client, start, end, names=names, attribution=attribution, on_page=advance
            )


async def show_report(client: UsageClient, start: int, end: int, *, names: bool, fmt: str) -> None:
    """Read the report of ``[start, end)`` (project names unless ``names`` is false) and
    print it on stdout: ``fmt`` ``text`` for people, ``json`` for programs."""
    chargeback = await read_report(client, start, end, names=("projects",) if names else False)
    if fmt == "json":
        out = small_writes(sys.stdout)
        out.write(orjson.dumps(report_document(chargeback), option=orjson.OPT_INDENT_2).decode())
        out.write("\n")
        out.flush()
        return
    render_report(chargeback, client.base_url, stdout_console(REDIRECTED_WIDTH))


async def write_html_report(
    client: UsageClient,
    start: int,
    end: int,
    path: Path,
    *,
    names: bool,
    now: int,
    budgets: Callable[[], Awaitable[Sequence[BudgetStatus]]] | None = None,
) -> Chargeback:
    """Read the report of ``[start, end)`` with the costs by user and API key (and the names
    of projects, users and keys unless ``names`` is false) and write it to ``path`` as one
    HTML file (``render_html``), with a bar per budget that ``budgets()`` evaluates. The
    file is replaced only once it is whole. Returns what was read."""
    statuses = await budgets() if budgets is not None else None
    chargeback = await read_report(client, start, end, names=names, attribution=True)
    html = render_html(chargeback, generated_at=now, budgets=statuses)
    replace_text(path, html)
    return chargeback


async def demo_report(now: int, days: int, spike: Spike | None = None) -> None:
    """Serve the embedded emulator in-process and report its last ``days`` full UTC days,
    with ``spike`` planted in them (said after the report)."""
    from ..emulator import serve

    today = floor_to(now, DAY)
    async with serve(port=0, spike=spike) as emulator:
        client = UsageClient(emulator.api_key, base_url=emulator.base_url)
        chargeback = await read_report(client, today - days * DAY, today, names=("projects",))
    console = stdout_console(REDIRECTED_WIDTH)
    render_report(chargeback, "the embedded emulator (sample data)", console)
    serve_it = "usage-async emulator"
    if spike is not None:
        serve_it += f" --spike {utc_day(spike.start)}"
        console.line()
        _print(
            console,
            Text.from_markup(
                f"The bar of {utc_day(spike.start)} is a planted cost anomaly: Support Copilot "
                f"at {spike.factor:g} times its usual activity. [bold]usage-async budget "
                "check[/bold] finds days like it in a synced database and alerts, once."
            ),
        )
    console.line()
    _print(
        console,
        Text.from_markup(
            "That was sample data. For your organization: export OPENAI_ADMIN_KEY=sk-admin-... "
            "and run [bold]usage-async report --start 7d[/bold]; or serve this data with "
            f"[bold]{serve_it}[/bold]."
        ),
    )


# --- JSON ---------------------------------------------------------------------------------------


def _number(value: Number) -> int | str:
    # Exact: an int stays a JSON number, a Decimal becomes its exact text.
    return value if isinstance(value, int) else str(value)


def _metrics(sums: Mapping[str, Number]) -> dict[str, int | str]:
    return {metric: _number(value) for metric, value in sums.items()}


def _usage_document(usage: EndpointUsage, chargeback: Chargeback) -> dict[str, Any]:
    return {
        "totals": _metrics(usage.totals),
        "levels": list(usage.levels),
        "by_model": [{"model": model, **_metrics(sums)} for model, sums in usage.by_model.items()],
        "by_project": [
            {
                "project_id": project,
                "project": chargeback.project_label(project),
                **_metrics(sums),
            }
            for project, sums in usage.by_project.items()
        ],
    }


def report_document(chargeback: Chargeback) -> dict[str, Any]:
    """The report as a JSON document: the period, the total cost per currency, cost per day,
    per line item and per project (its line items within), and each usage endpoint's totals,
    by model and by project. Amounts and other decimals are exact strings, counts numbers,
    times ISO-8601 UTC; lists are largest first, days in order."""
    currencies = chargeback.currencies()
    costs: dict[str, Any] = {
        "totals": [
            {"currency": currency, "amount": str(amount)}
            for currency, amount in chargeback.totals().items()
        ],
        "per_day": [
            {"day": utc_day(day), "currency": currency, "amount": str(_day_total(projects))}
            for currency in currencies
            for day, projects in chargeback.cost_per_day(currency)
        ],
        "line_items": [
            {"line_item": item, "currency": currency, "amount": str(amount)}
            for currency in currencies
            for item, amount in chargeback.line_items(currency).items()
        ],
        "projects": [
            {
                "project_id": charge.project_id,
                "project": charge.label,
                "currency": currency,
                "amount": str(charge.total),
                "line_items": [
                    {"line_item": line.line_item, "amount": str(line.amount)}
                    for line in charge.lines
                ],
            }
            for currency in currencies
            for charge in chargeback.projects(currency)
        ],
    }
    return {
        "start": iso_utc(chargeback.start),
        "end": iso_utc(chargeback.end),
        "server_time": iso_utc(chargeback.server_time),
        "provisional_from": iso_utc(chargeback.provisional_from),
        "costs": costs,
        "usage": {
            name: _usage_document(usage, chargeback) for name, usage in chargeback.usage.items()
        },
        "warnings": list(chargeback.warnings),
    }


def _day_total(projects: Mapping[str | None, Decimal]) -> Decimal:
    return exact_sum(projects.values())


# --- Text ---------------------------------------------------------------------------------------


def _rstripped(line: list[Segment]) -> list[Segment]:
    """``line`` without the spaces that pad it on the right."""
    segments = list(line)
    while segments and not segments[-1].control and not segments[-1].text.strip():
        segments.pop()
    if segments and not segments[-1].control:
        last = segments[-1]
        segments[-1] = Segment(last.text.rstrip(), last.style, last.control)
    return segments


def _print(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable`` on ``console`` as rich lays it out, each line without the spaces
    rich pads it with (they would follow every line into a file or a pipe)."""
    lines = console.render_lines(renderable, console.options, pad=False, new_lines=False)
    console.print(
        Segments([segment for line in lines for segment in (*_rstripped(line), Segment.line())])
    )


def _name(value: Any) -> Text:
    # Text, not str: a name with brackets in it must not be read as rich markup.
    return Text(NONE if value is None else str(value))


def _money(amount_cents: int, currency: str) -> str:
    return f"{money_text(amount_cents)} {currency.upper()}"


# A name, its exact cost, that cost in the cents shown, and its currency.
_Cost = tuple[Text, Decimal, int, str]


def _costs(named: Sequence[tuple[Text, Decimal]], total: Decimal, currency: str) -> list[_Cost]:
    """``named`` costs in cents apportioned from ``total``'s: what is listed adds up to the
    total shown, as in the HTML report."""
    shown = apportion([amount for _, amount in named], cents(total))
    return [(name, amount, c, currency) for (name, amount), c in zip(named, shown, strict=True)]


def _phrases(sums: Mapping[str, Number], metrics: Iterable[str]) -> list[str]:
    return [f"{human_number(sums[m])} {metric_label(m)}" for m in metrics if m in sums]


def render_report(chargeback: Chargeback, source: str, console: Console) -> None:
    """Print the report of ``chargeback`` onto ``console``, fitting its width; ``source``
    says where the data came from."""
    title = Text.assemble(
        ("Usage report", "bold"),
        f" {utc_minute(chargeback.start)} to {utc_minute(chargeback.end)} UTC",
    )
    _print(console, Rule(title))
    # Its own line: in the rule, a long URL would be cut at 80 columns.
    _print(console, Text(f"from {source}", style="dim", justify="center"))
    _render_costs(chargeback, console)
    console.line()
    _render_usage(chargeback, console)


def _render_costs(chargeback: Chargeback, console: Console) -> None:
    totals = chargeback.totals()
    if not totals:
        _print(console, Text("No costs in this period."))
        return
    for currency, total in totals.items():
        _render_cost_chart(chargeback, currency, total, console)
    console.line()
    line_items: list[_Cost] = []
    projects: list[_Cost] = []
    for currency, total in totals.items():
        items = chargeback.line_items(currency).items()
        line_items += _costs([(Text(item or NONE), cost) for item, cost in items], total, currency)
        charges = [(Text(charge.label), charge.total) for charge in chargeback.projects(currency)]
        projects += _costs(charges, total, currency)
    _print(
        console,
        Columns(
            [
                _top_table("Cost by line item", "line item", line_items),
                _top_table("Cost by project", "project", projects),
            ],
            padding=(0, 4),
        ),
    )


def _top_table(title: str, column: str, costs: Sequence[_Cost]) -> Table:
    """A table of the largest ``costs``, largest first."""
    table = Table(title=title, **_TABLE_STYLE)
    table.add_column(column)
    table.add_column("cost", justify="right")
    # Stable: equal amounts keep the order they were given in.
    ranked = sorted(costs, key=lambda cost: cost[1], reverse=True)
    for name, _, amount_cents, currency in ranked[:TOP]:
        table.add_row(name, _money(amount_cents, currency))
    if len(ranked) > TOP:
        table.add_row(f"... {len(ranked) - TOP} more", "")
    return table


def _render_cost_chart(
    chargeback: Chargeback, currency: str, total: Decimal, console: Console
) -> None:
    days = [(day, _day_total(projects)) for day, projects in chargeback.cost_per_day(currency)]
    # Long periods are drawn a few days per bar so the chart stays on one screen.
    step = -(-len(days) // MAX_BARS)
    bars = [
        (days[i][0], exact_sum(amount for _, amount in days[i : i + step]))
        for i in range(0, len(days), step)
    ]
    largest = float(max((amount for _, amount in bars), default=Decimal(0))) or 1.0
    # Apportioned from the total, as the HTML report's days: the bars add up to the title.
    amounts = [_money(c, currency) for c in apportion([a for _, a in bars], cents(total))]
    # The bars give way first: a date or an amount cut short would be no use at all.
    fixed = len("2026-11-01") + max(len(amount) for amount in amounts) + 2 * _CHART_GAP
    width = max(1, min(BAR_WIDTH, console.width - fixed))
    per = "day" if step == 1 else f"{step} days"
    chart = Table(
        title=f"Cost per {per}, total {_money(cents(total), currency)}",
        show_header=False,
        **{**_TABLE_STYLE, "box": None},
    )
    chart.add_column("from", no_wrap=True)
    chart.add_column("bar", width=width)
    chart.add_column("cost", justify="right", no_wrap=True)
    for (start, amount), shown in zip(bars, amounts, strict=True):
        chart.add_row(utc_day(start), Bar(largest, 0, float(amount), color="cyan"), shown)
    _print(console, chart)


def _usage_phrases(usage: EndpointUsage) -> list[str]:
    """An endpoint's totals, a phrase per metric; levels (bytes stored) are the latest
    day's, as ``Totals`` keeps them, and say so."""
    flows = _phrases(usage.totals, [m for m in usage.metrics if m not in usage.levels])
    stored = _phrases(usage.totals, [m for m in usage.metrics if m in usage.levels])
    return [*flows, *(f"{phrase} (latest day)" for phrase in stored)]


def _top_models(usage: EndpointUsage) -> list[tuple[Text, list[str]]]:
    """The endpoint's models with the most requests (at most ``TOP_MODELS``), described."""
    ranked = sorted(
        usage.by_model.items(),
        key=lambda item: item[1].get("num_model_requests", 0),
        reverse=True,
    )
    shown = [(_name(model), _phrases(sums, usage.metrics)) for model, sums in ranked[:TOP_MODELS]]
    if len(ranked) > TOP_MODELS:
        shown.append((Text(f"... {len(ranked) - TOP_MODELS} more"), []))
    return shown


def _lines(phrases: Sequence[str], width: int) -> str:
    """``phrases`` joined by `` · ``, broken into lines of at most ``width`` between two
    phrases (a separator ends the line it breaks); a phrase wider than that has a line of
    its own."""
    lines: list[str] = []
    for n, phrase in enumerate(phrases, 1):
        # Room for the separator that ends the line, should the next phrase not fit on it.
        after = len(_PHRASES.rstrip()) if n < len(phrases) else 0
        if lines and len(lines[-1]) + len(_PHRASES) + len(phrase) + after <= width:
            lines[-1] += _PHRASES + phrase
        elif lines:
            lines[-1] += _PHRASES.rstrip()
            lines.append(phrase)
        else:
            lines.append(phrase)
    return "\n".join(lines)


def _render_usage(chargeback: Chargeback, console: Console) -> None:
    rows: list[tuple[Text, list[str] | None]] = []
    for name, usage in chargeback.usage.items():
        rows.append((Text(name, style="bold"), _usage_phrases(usage) or None))
        rows.extend((Text("  ") + model, phrases) for model, phrases in _top_models(usage))
    first = max(len("endpoint / model"), *(len(shown) for shown, _ in rows))
    width = max(1, console.width - first - _SEPARATOR)
    table = Table(title="Usage by endpoint, and its busiest models", **_TABLE_STYLE)
    table.add_column("endpoint / model", no_wrap=True)
    table.add_column("totals")
    for shown, phrases in rows:
        totals = Text("no usage", style="dim") if phrases is None else Text(_lines(phrases, width))
        table.add_row(shown, totals)
    _print(console, table)
