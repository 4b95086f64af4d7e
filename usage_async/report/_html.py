"""The chargeback report as one self-contained HTML page that finance can e-mail.

Everything is in the file: inline CSS, inline SVG charts, no script, no font or image to
fetch and no link anywhere (a Content-Security-Policy of ``default-src 'none'`` makes sure
of it: even a name that smuggled markup in could load nothing). It opens from disk, offline,
in any browser, and prints to PDF on A4 or Letter: charts scale to the page and are never
cut, and each section starts a new page.

Every string from the API (project, user, key and model names) is escaped. Amounts are
exact ``Decimal`` sums shown to the cent; each table's rows are apportioned from its total
(``_money.apportion``), so what a table shows adds up to its total exactly. Every chart has
a table with its numbers beside it.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from .._endpoints import ENDPOINTS
from .._rows import Number
from .._time import utc_day, utc_text
from ._model import BudgetStatus, Chargeback, RankedCost, metric_label
from ._money import apportion, cents, exact_sum, money_text
from ._svg import OKABE_ITO, OTHER_COLOUR, Bar, Series, budget_bar, esc, stacked_bars

__all__ = ["render_html"]

NOTHING = '<span class="muted">&ndash;</span>'
"""A cell with no cost at all (a cost that rounds to 0.00 shows 0.00)."""
TOP_RANKED = 10
"""Users and keys listed by name; the others are summed on one row."""
MAX_SERIES = 6
"""Projects drawn apart in the chart (more share one "other" series): the days table has a
column for each, and seven-figure columns fit across a printed page six at a time."""
MAX_BARS = 62
"""Longer periods are drawn a few days per bar."""

STYLE = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #5f5f5f; --rule: #d0d0d0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--ink); background: #fff; max-width: 62rem; margin: 0 auto;
  padding: 2rem 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 0 0 .6rem; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
header p { margin: .15rem 0; }
section { margin-top: 2.2rem; }
.muted, .note { color: var(--muted); }
.note { font-size: .9em; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums lining-nums; }
th, td { padding: .28rem .5rem; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
thead th { border-bottom: 1.5px solid var(--ink); font-weight: 600; }
.num { text-align: right; white-space: nowrap; overflow-wrap: normal;
  font-variant-numeric: tabular-nums; }
table.days th.num { white-space: normal; overflow-wrap: anywhere; }
tr.project th, tr.project td { font-weight: 600; border-top: 1px solid #9a9a9a; }
tr.line td:first-child { padding-left: 1.6rem; }
tfoot td, tfoot th { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: none; }
.totals { display: flex; flex-wrap: wrap; gap: .5rem 2.5rem; margin: .4rem 0 .8rem; }
.total { margin: 0; }
.total .amount { font-size: 2.1rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.total .currency { font-size: 1.1rem; color: var(--muted); }
figure { margin: 0 0 1rem; }
svg { display: block; width: 100%; height: auto; max-width: 100%; }
svg text { font-family: inherit; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; padding: 0;
  margin: .5rem 0 0; }
.swatch { display: inline-block; width: .85em; height: .85em; border-radius: 2px;
  margin-right: .4em; vertical-align: -.08em; }
.tag { font-size: .8em; color: var(--muted); border: 1px solid var(--rule); border-radius: 3px;
  padding: 0 .3em; margin-left: .2em; }
tbody th { font-weight: normal; }
table.days { font-size: .85em; }
table.days th, table.days td { padding: .25rem .35rem; }
table.days tbody th { white-space: nowrap; overflow-wrap: normal; }
tr.provisional td, tr.provisional th { background: #f1f1f1; }
.budget { margin: 0 0 1.2rem; break-inside: avoid; }
.budget p { margin: .3rem 0; }
.over { color: #b34700; font-weight: 600; }
.warnings { color: #b34700; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page { size: auto; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  table.days { font-size: 8pt; }
  table.days th, table.days td { padding: .2rem .2rem; }
  section + section { break-before: page; margin-top: 0; }
  figure, svg, .budget, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
  tfoot { display: table-row-group; }
}
"""


def render_html(
    chargeback: Chargeback,
    *,
    generated_at: int,
    organization: str | None = None,
    budgets: Sequence[BudgetStatus] | None = None,
) -> str:
    """The report of ``chargeback`` as one self-contained HTML document (a string).

    ``generated_at`` (Unix seconds) is shown as the generation time; ``organization``
    names the organization in the title (default: the name the costs carry, if any);
    ``budgets`` adds a section with each budget's bar and forecast.
    """
    org = organization if organization is not None else chargeback.organization
    title = "Chargeback report" + (f" — {org}" if org else "")
    currencies = chargeback.currencies()
    body = [_header(chargeback, title, generated_at), _summary(chargeback)]
    if budgets:
        body.append(_budgets(budgets))
    for currency in currencies:
        body.append(_cost_per_day(chargeback, currency))
        body.append(_chargeback_table(chargeback, currency))
    if currencies and chargeback.users is not None:
        body.append(_attribution(chargeback, currencies))
    body.append(_usage(chargeback))
    period = f"{utc_day(chargeback.start)} to {utc_day(chargeback.end)}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # Nothing may be fetched: styles inline, no script, no image, no font, no frame.
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'\">",
            f"<title>{esc(title)}, {esc(period)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _header(chargeback: Chargeback, title: str, generated_at: int) -> str:
    return (
        f"<header>\n<h1>{esc(title)}</h1>\n"
        f'<p class="period">{esc(utc_text(chargeback.start))} to '
        f"{esc(utc_text(chargeback.end))}</p>\n"
        f'<p class="muted">Generated {esc(utc_text(generated_at))} from the Usage and Costs '
        f"API, whose clock read {esc(utc_text(chargeback.server_time))}.</p>\n</header>"
    )


def _summary(chargeback: Chargeback) -> str:
    totals = chargeback.totals()
    if totals:
        shown = "".join(
            f'<p class="total"><span class="amount">{money_text(cents(amount))}</span> '
            f'<span class="currency">{esc(currency.upper())}</span></p>'
            for currency, amount in totals.items()
        )
        figures = f'<div class="totals">{shown}</div>'
    else:
        figures = "<p>No costs in this period.</p>"
    notes = []
    provisional = [day for day in chargeback.days if chargeback.is_provisional(day)]
    if provisional:
        notes.append(
            f'<p class="note">Costs from {esc(utc_day(provisional[0]))} on are '
            "<strong>provisional</strong>: the API revises the last two days, so they may "
            "still change (shaded in the charts, marked in the tables).</p>"
        )
    notes.append(
        '<p class="note">Amounts are exact sums shown to the cent; each table is rounded so '
        "that its rows add up to its total exactly (no row is a cent or more from its exact "
        "amount).</p>"
    )
    if chargeback.warnings:
        items = "".join(f"<li>{esc(warning)}</li>" for warning in chargeback.warnings)
        notes.append(f'<ul class="warnings">{items}</ul>')
    return f'<section class="summary">\n<h2>Total</h2>\n{figures}\n{"".join(notes)}\n</section>'


def _percent(part: Decimal, whole: Decimal) -> str:
    if whole <= 0:
        return "—"
    share = (part * 100 / whole).quantize(Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)
    return f"{share} %"


def _budgets(budgets: Sequence[BudgetStatus]) -> str:
    out = ['<section class="budgets">', "<h2>Budgets</h2>"]
    for budget in budgets:
        unit = esc(budget.currency.upper())
        spent, amount = money_text(cents(budget.spent)), money_text(cents(budget.amount))
        spent_over = budget.spent > budget.amount
        forecast_over = budget.forecast is not None and budget.forecast > budget.amount
        text = f"Spent {spent} of {amount} {unit} ({_percent(budget.spent, budget.amount)})."
        if budget.forecast is not None:
            text += (
                f" Forecast {money_text(cents(budget.forecast))} {unit} "
                f"({_percent(budget.forecast, budget.amount)})."
            )
        if spent_over or forecast_over:
            state = "Over budget" if spent_over else "Forecast over budget"
            text += f' <strong class="over">{state}.</strong>'
        if budget.settled_until is not None:
            text += f" Settled through {esc(utc_text(budget.settled_until))}."
        label = f"{budget.name}: {spent} of {amount} {budget.currency.upper()} spent"
        bar = budget_bar(
            budget.spent,
            budget.amount,
            budget.forecast,
            title=label,
            spent_over=spent_over,
            forecast_over=forecast_over,
        )
        out.append(
            f'<div class="budget">\n<h3>{esc(budget.name)}</h3>\n{bar}\n<p>{text}</p>\n</div>'
        )
    out.append("</section>")
    return "\n".join(out)


def _series(chargeback: Chargeback, currency: str) -> tuple[list[Series], dict[str | None, int]]:
    """The chart's series (the largest projects, then the others as one) and the series of
    each project."""
    projects = chargeback.projects(currency)
    own = projects if len(projects) <= MAX_SERIES else projects[: MAX_SERIES - 1]
    series = [Series(p.label, colour) for p, colour in zip(own, OKABE_ITO, strict=False)]
    index = {p.project_id: i for i, p in enumerate(own)}
    rest = projects[len(own) :]
    if rest:
        series.append(Series(f"Other projects ({len(rest)})", OTHER_COLOUR))
        index.update({p.project_id: len(own) for p in rest})
    return series, index


def _bars(
    chargeback: Chargeback, currency: str, index: Mapping[str | None, int], size: int
) -> tuple[list[Bar], int]:
    """The chart's bars (a day each, or a few days each for long periods) and the days per bar."""
    days = chargeback.cost_per_day(currency)
    step = max(math.ceil(len(days) / MAX_BARS), 1)
    bars = []
    for i in range(0, len(days), step):
        group = days[i : i + step]
        amounts: list[list[Decimal]] = [[] for _ in range(size)]
        for _, by_project in group:
            for project_id, amount in by_project.items():
                amounts[index[project_id]].append(amount)
        first, last = group[0][0], group[-1][0]
        name = utc_day(first) if first == last else f"{utc_day(first)} to {utc_day(last)}"
        bars.append(
            Bar(
                label=utc_day(first)[5:],
                name=name,
                amounts=tuple(exact_sum(values) for values in amounts),
                provisional=chargeback.is_provisional(last),
            )
        )
    return bars, step


def _cost_per_day(chargeback: Chargeback, currency: str) -> str:
    unit = currency.upper()
    series, index = _series(chargeback, currency)
    bars, step = _bars(chargeback, currency, index, len(series))
    per = "day" if step == 1 else f"{step} days"
    total = chargeback.totals()[currency]
    title = (
        f"Cost per {per} in {unit}, stacked by project: {money_text(cents(total))} {unit} "
        f"over {len(chargeback.days)} days"
    )
    chart = stacked_bars(bars, series, unit=unit, title=title)
    legend = "".join(
        f'<li><span class="swatch" style="background:{s.colour}"></span>{esc(s.label)}</li>'
        for s in series
    )
    return (
        f'<section class="daily">\n<h2>Cost per {per}, {esc(unit)}</h2>\n'
        f'<figure>\n{chart}\n<ul class="legend">{legend}</ul>\n</figure>\n'
        f"{_days_table(bars, series, unit, total)}\n</section>"
    )


def _days_table(bars: Sequence[Bar], series: Sequence[Series], unit: str, total: Decimal) -> str:
    """The chart's numbers: a row per bar, a column per series; rows add up to their totals
    and the totals to the period's."""
    day_totals = [exact_sum(bar.amounts) for bar in bars]
    day_cents = apportion(day_totals, cents(total))
    head = "".join(f'<th scope="col" class="num">{esc(s.label)}</th>' for s in series)
    rows = []
    for bar, day_total in zip(bars, day_cents, strict=True):
        shares = apportion(bar.amounts, day_total)
        tag = ' <span class="tag">provisional</span>' if bar.provisional else ""
        cells = "".join(
            f'<td class="num">{money_text(c) if amount else NOTHING}</td>'
            for amount, c in zip(bar.amounts, shares, strict=True)
        )
        marked = ' class="provisional"' if bar.provisional else ""
        rows.append(
            f"<tr{marked}>"
            f'<th scope="row">{esc(bar.name)}{tag}</th>{cells}'
            f'<td class="num">{money_text(day_total)}</td></tr>'
        )
    return (
        f'<table class="days">\n<thead><tr><th scope="col">Day ({esc(unit)})</th>{head}'
        f'<th scope="col" class="num">Total</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + '\n</tbody>\n<tfoot><tr class="total"><th scope="row">Total</th>'
        + "<td></td>" * len(series)
        + f'<td class="num">{money_text(cents(total))}</td></tr></tfoot>\n</table>'
    )


def _chargeback_table(chargeback: Chargeback, currency: str) -> str:
    unit = esc(currency.upper())
    projects = chargeback.projects(currency)
    total = chargeback.totals()[currency]
    total_cents = cents(total)
    rows = []
    for project, project_cents in zip(
        projects, apportion([p.total for p in projects], total_cents), strict=True
    ):
        rows.append(
            f'<tr class="project"><th scope="row">{esc(project.label)}</th>'
            f'<td class="num">{money_text(project_cents)}</td>'
            f'<td class="num">{_percent(project.total, total)}</td></tr>'
        )
        line_cents = apportion([line.amount for line in project.lines], project_cents)
        for line, amount in zip(project.lines, line_cents, strict=True):
            rows.append(
                f'<tr class="line"><td>{esc(line.line_item or "(no line item)")}</td>'
                f'<td class="num">{money_text(amount)}</td><td></td></tr>'
            )
    items = chargeback.line_items(currency)
    item_rows = [
        f'<tr><td>{esc(item or "(no line item)")}</td><td class="num">{money_text(c)}</td></tr>'
        for item, c in zip(items, apportion(list(items.values()), total_cents), strict=True)
    ]
    return (
        f'<section class="chargeback">\n<h2>Chargeback by project, {unit}</h2>\n'
        f'<table class="chargeback">\n<thead><tr><th scope="col">Project / line item</th>'
        f'<th scope="col" class="num">Cost ({unit})</th><th scope="col" class="num">Share</th>'
        "</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + f'\n</tbody>\n<tfoot><tr class="total"><th scope="row">Total</th>'
        f'<td class="num">{money_text(total_cents)}</td><td class="num">100.0 %</td></tr>'
        "</tfoot>\n</table>\n"
        f'<h3>Cost by line item, {unit}</h3>\n<table class="line-items">\n<thead><tr>'
        f'<th scope="col">Line item</th><th scope="col" class="num">Cost ({unit})</th></tr>'
        "</thead>\n<tbody>\n"
        + "\n".join(item_rows)
        + f'\n</tbody>\n<tfoot><tr class="total"><th scope="row">Total</th>'
        f'<td class="num">{money_text(total_cents)}</td></tr></tfoot>\n</table>\n</section>'
    )


def _attribution(chargeback: Chargeback, currencies: Iterable[str]) -> str:
    out = ['<section class="attribution">', "<h2>Who spent it</h2>"]
    for currency in currencies:
        users = [u for u in chargeback.users or () if u.currency == currency]
        keys = [k for k in chargeback.api_keys or () if k.currency == currency]
        out.append(_ranking(f"Top users, {currency.upper()}", "User", users, "users"))
        out.append(_keys_ranking(chargeback, keys, currency))
    out.append("</section>")
    return "\n".join(out)


def _keys_ranking(chargeback: Chargeback, keys: list[RankedCost], currency: str) -> str:
    since = chargeback.api_keys_from
    heading = f"Top API keys, {currency.upper()}"
    if since is None:
        first = utc_day(ENDPOINTS["costs"].group_by_since["api_key_id"])
        return (
            f'<h3>{esc(heading)}</h3>\n<p class="note">The API attributes costs to API keys '
            f"only from {first} on; this period ends before that day.</p>"
        )
    before = None
    if since > chargeback.start:
        # The API refuses to group these days by key: their costs are known, not whose.
        before = (
            f"before {utc_day(since)} (the API attributes no costs to keys then)",
            chargeback.cost_before(since, currency),
        )
    return _ranking(heading, "API key", keys, "API keys", before)


def _ranking(
    heading: str,
    column: str,
    ranked: Sequence[RankedCost],
    plural: str,
    unattributed: tuple[str, Decimal] | None = None,
) -> str:
    """A table of the largest costs by user or key, the rest on one row, adding up to its
    total; left out (with a note) when no cost is attributed to any."""
    if not any(cost.id is not None for cost in ranked):
        return (
            f'<h3>{esc(heading)}</h3>\n<p class="note">The costs of this period are not '
            f"attributed to {esc(plural)}.</p>"
        )
    shown = list(ranked[:TOP_RANKED])
    entries = [(cost.label, cost.amount) for cost in shown]
    rest = ranked[TOP_RANKED:]
    if rest:
        entries.append((f"{len(rest)} more", exact_sum(cost.amount for cost in rest)))
    if unattributed is not None:
        entries.append(unattributed)
    amounts = [amount for _, amount in entries]
    total = exact_sum(amounts)
    rows = "\n".join(
        f'<tr><td>{esc(label)}</td><td class="num">{money_text(c)}</td>'
        f'<td class="num">{_percent(amount, total)}</td></tr>'
        for (label, amount), c in zip(entries, apportion(amounts, cents(total)), strict=True)
    )
    return (
        f'<h3>{esc(heading)}</h3>\n<table class="ranking">\n<thead><tr>'
        f'<th scope="col">{esc(column)}</th><th scope="col" class="num">Cost</th>'
        f'<th scope="col" class="num">Share</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n'
        f'<tfoot><tr class="total"><th scope="row">Total</th>'
        f'<td class="num">{money_text(cents(total))}</td><td class="num">100.0 %</td></tr>'
        "</tfoot>\n</table>"
    )


def _count(value: Number) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{Decimal(value).normalize():,f}"


def _describe(sums: Mapping[str, Number], metrics: Iterable[str], levels: Iterable[str]) -> str:
    levels = set(levels)
    parts = []
    for metric in metrics:
        if metric in sums:
            label = metric_label(metric)
            latest = " (latest day)" if metric in levels else ""
            parts.append(f"{_count(sums[metric])} {label}{latest}")
    return " · ".join(parts)


TOKEN_COLUMNS = (
    ("num_model_requests", "Requests"),
    ("input_tokens", "Input tokens"),
    ("input_cached_tokens", "Cached input"),
    ("output_tokens", "Output tokens"),
)


def _usage(chargeback: Chargeback) -> str:
    tokens: list[tuple[str, str, Mapping[str, Number]]] = []
    other_rows = []
    idle = []
    for name, usage in chargeback.usage.items():
        if not usage.totals:
            idle.append(name)
        elif "input_tokens" in usage.metrics:
            models = usage.by_model or {None: usage.totals}
            tokens += [(model or "(no model)", name, sums) for model, sums in models.items()]
        else:
            described = _describe(usage.totals, usage.metrics, usage.levels)
            other_rows.append(f"<tr><td>{esc(name)}</td><td>{esc(described)}</td></tr>")
    out = ['<section class="usage">', "<h2>Usage</h2>", "<h3>Tokens by model</h3>"]
    if tokens:
        out.append(_tokens_table(tokens))
    else:
        out.append('<p class="note">No tokens were used in this period.</p>')
    if other_rows:
        out.append("<h3>Other usage</h3>")
        out.append(
            '<table class="other-usage">\n<thead><tr><th scope="col">Endpoint</th>'
            '<th scope="col">Totals</th></tr></thead>\n<tbody>\n'
            + "\n".join(other_rows)
            + "\n</tbody>\n</table>"
        )
    if idle:
        out.append(f'<p class="note">No usage of {esc(", ".join(idle))}.</p>')
    out.append("</section>")
    return "\n".join(out)


def _tokens_table(tokens: list[tuple[str, str, Mapping[str, Number]]]) -> str:
    """A row per endpoint and model, the most tokens first."""
    tokens = sorted(
        tokens,
        key=lambda row: -(int(row[2].get("input_tokens", 0)) + int(row[2].get("output_tokens", 0))),
    )
    head = "".join(f'<th scope="col" class="num">{label}</th>' for _, label in TOKEN_COLUMNS)
    body = "\n".join(
        f"<tr><td>{esc(model)}</td><td>{esc(endpoint)}</td>"
        + "".join(
            f'<td class="num">{_count(sums[m]) if m in sums else "—"}</td>'
            for m, _ in TOKEN_COLUMNS
        )
        + "</tr>"
        for model, endpoint, sums in tokens
    )
    return (
        f'<table class="tokens">\n<thead><tr><th scope="col">Model</th>'
        f'<th scope="col">Endpoint</th>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    )
