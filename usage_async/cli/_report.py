"""``usage-async report`` and ``demo``: every endpoint and the costs of a period on one screen.

All twelve endpoints are pulled at once (``fan_out``, within the client's in-flight cap) in
daily buckets, grouped by the fields the report shows (model, project, line item), and summed
with ``Totals`` as pages arrive. The screen then shows the total cost, a bar per day, cost by
line item and by project, each endpoint's headline metrics and the busiest models.

Projects are shown by name: the projects list is read beside the usage (one request for up
to 100 projects), and a project's ID is shown only where its name is unknown or another
project has the same name.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
from rich import box
from rich.bar import Bar
from rich.columns import Columns
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._client import UsageClient
from .._concurrency import fan_out
from .._directory import Directory
from .._endpoints import ENDPOINTS
from .._models import Bucket, Page
from .._protocol import Query, validate
from .._rows import Number, Totals
from .._streams import BucketStream
from .._time import DAY, utc_day, utc_minute
from ._names import NONE, NameLookup, label, shared_names
from ._output import BucketBars, expected_buckets, human_number, stdout_console
from ._voice import plural

__all__ = ["demo_report", "report_queries", "show_report"]

Sums = dict[tuple[Any, ...], dict[str, Number]]
"""What ``Totals.result()`` gives: metric sums by key."""

REPORT_WIDTH = "1d"
# The fields the report totals by; each endpoint is grouped by those it has.
REPORT_GROUPS = ("model", "project_id", "line_item")
TOP = 8
TOP_MODELS = 3
MAX_BARS = 31
# Wide enough for the cost tables side by side when the report goes to a file or a pipe.
REDIRECTED_WIDTH = 120
# Light tables: a header rule and no borders keep the report to about one screen.
_TABLE_STYLE: dict[str, Any] = {
    "box": box.SIMPLE_HEAD,
    "header_style": "bold",
    "title_justify": "left",
    "title_style": "bold",
    "pad_edge": False,
    "show_edge": False,
}


def report_queries(start: int, end: int) -> dict[str, Query]:
    """The query of every endpoint for the report of ``[start, end)``.

    The period starts at UTC midnight of ``start``'s day: costs buckets are whole UTC days,
    and usage is aligned with them so every section covers the same days. Raises
    ``InvalidParameterError`` (e.g. an end before the start) before any request.
    """
    start -= start % DAY
    queries = {}
    for name, endpoint in ENDPOINTS.items():
        groups = [field for field in REPORT_GROUPS if field in endpoint.group_by]
        queries[name] = validate(
            endpoint,
            {
                "start_time": start,
                "end_time": end,
                "bucket_width": REPORT_WIDTH,
                # Whole pages: the fewest requests for the period.
                "limit": endpoint.page_limit(REPORT_WIDTH).maximum,
                "group_by": groups or None,
            },
        )
    return queries


class Tally:
    """The sums of one endpoint's buckets: overall, per grouping field, and per bucket."""

    def __init__(self, query: Query) -> None:
        self.query = query
        self.overall = Totals()
        self.by_field = {field: Totals([field]) for field in query.group_by}
        self.per_bucket: list[tuple[int, Sums]] = []

    def add(self, bucket: Bucket[Any]) -> None:
        self.overall.add(bucket)
        for totals in self.by_field.values():
            totals.add(bucket)
        one = Totals()
        one.add(bucket)
        self.per_bucket.append((bucket.start_time, one.result()))


async def gather(
    client: UsageClient,
    queries: Mapping[str, Query],
    now: int,
    names: NameLookup | None = None,
) -> tuple[dict[str, Tally], Directory | None]:
    """Pull every query at once and tally it, with ``names`` read beside; closes ``client``."""
    tallies = {name: Tally(query) for name, query in queries.items()}
    directory = None
    async with client:
        if names is not None:
            names.start(client)
        try:
            # Validated already by report_queries: each goes to its stream as it is.
            streams: dict[str, AsyncIterator[Page[Any]]] = {
                name: BucketStream[Any](client, query).pages() for name, query in queries.items()
            }
            with BucketBars(sys.stderr.isatty()) as progress:
                label = plural(len(queries), "endpoint")
                progress.track(
                    label,
                    sum(expected_buckets(query, now) for query in queries.values()),
                )
                async for name, page in fan_out(streams, concurrency=client.max_in_flight):
                    for bucket in page.data:
                        tallies[name].add(bucket)
                    progress.advance(label, len(page.data), 1)
            if names is not None:
                directory = await names.directory()
        finally:
            if names is not None:
                await names.aclose()
    return tallies, directory


async def show_report(
    client: UsageClient, queries: Mapping[str, Query], now: int, names: NameLookup | None = None
) -> None:
    """Pull the report's data (and ``names``) and print it on stdout."""
    tallies, directory = await gather(client, queries, now, names)
    render_report(tallies, client.base_url, stdout_console(REDIRECTED_WIDTH), directory)


async def demo_report(now: int, days: int) -> None:
    """Serve the embedded emulator in-process and report its last ``days`` full UTC days."""
    from ..emulator import serve

    today = now - now % DAY
    queries = report_queries(today - days * DAY, today)
    async with serve(port=0) as emulator:
        client = UsageClient(emulator.api_key, base_url=emulator.base_url)
        tallies, directory = await gather(client, queries, now, NameLookup(["project_name"]))
    console = stdout_console(REDIRECTED_WIDTH)
    render_report(tallies, "the embedded emulator (sample data)", console, directory)
    console.print(
        "\nThat was sample data. For your organization: export OPENAI_ADMIN_KEY=sk-admin-... "
        "and run [bold]usage-async report --start 7d[/bold]; or serve this data with "
        "[bold]usage-async emulator[/bold].",
        highlight=False,
    )


# --- Rendering ---------------------------------------------------------------------------------


def _name(value: Any) -> Text:
    # Text, not str: a name with brackets in it must not be read as rich markup.
    return Text(NONE if value is None else str(value))


def _money(value: Number, currency: str) -> str:
    return f"{Decimal(value):,.2f} {currency.upper()}"


# Short names keep an endpoint's totals on one line; other metrics are named after the field.
_LABELS = {
    "num_model_requests": "requests",
    "num_requests": "calls",
    "num_sessions": "sessions",
    "input_tokens": "tokens in",
    "output_tokens": "tokens out",
    "usage_bytes": "bytes stored",
}


def _label(metric: str) -> str:
    return _LABELS.get(metric, metric.replace("_", " "))


def headline_metrics(result_type: type) -> list[str]:
    """The metrics every result of the type carries (its required fields), in wire order."""
    return [f.name for f in attrs.fields(result_type) if f.default is attrs.NOTHING]


def _describe(sums: Mapping[str, Number], metrics: Iterable[str]) -> str:
    return " · ".join(f"{human_number(sums[m])} {_label(m)}" for m in metrics if m in sums)


def render_report(
    tallies: Mapping[str, Tally],
    source: str,
    console: Console,
    directory: Directory | None = None,
) -> None:
    """Print the report of ``tallies`` (from ``gather``) onto ``console``; projects are
    named from ``directory`` (``None``: by their IDs)."""
    query = next(iter(tallies.values())).query
    end = query.end_time if query.end_time is not None else query.start_time
    console.rule(
        f"[bold]Usage report[/bold] {utc_minute(query.start_time)} to {utc_minute(end)} UTC"
    )
    # Its own line: in the rule, a long URL would be cut at 80 columns.
    console.print(Text(f"from {source}", style="dim"), justify="center")
    costs = tallies.get("costs")
    if costs is not None:
        _render_costs(costs, console, directory)
    console.line()
    _render_usage(tallies, console)


def _ranked(totals: Totals, metric: str) -> list[tuple[tuple[Any, ...], dict[str, Number]]]:
    return sorted(totals.result().items(), key=lambda item: item[1].get(metric, 0), reverse=True)


def _top_table(
    title: str, column: str, totals: Totals, show: Callable[[Any], Text] = _name
) -> Table:
    """A table of the largest costs by one field (key = (value, currency)), each value as
    ``show`` writes it."""
    table = Table(title=title, **_TABLE_STYLE)
    table.add_column(column)
    table.add_column("cost", justify="right")
    ranked = [item for item in _ranked(totals, "amount") if "amount" in item[1]]
    for (value, currency), sums in ranked[:TOP]:
        table.add_row(show(value), _money(sums["amount"], currency))
    if len(ranked) > TOP:
        table.add_row(f"... {len(ranked) - TOP} more", "")
    return table


def _project_names(directory: Directory | None) -> Callable[[Any], Text]:
    """How the report shows a project ID: by its name, the ID only where the name is unknown
    or shared (see ``label``)."""
    if directory is None:
        return _name
    shared = shared_names(directory)["project_name"]

    def show(project_id: Any) -> Text:
        return Text(label(directory.project_name(project_id), project_id, shared))

    return show


def _render_costs(costs: Tally, console: Console, directory: Directory | None) -> None:
    overall = costs.overall.result()
    if not overall:
        console.print("No costs in this period.")
        return
    for (currency,), sums in overall.items():
        _render_cost_chart(costs.per_bucket, currency, sums.get("amount", 0), console)
    console.line()
    console.print(
        Columns(
            [
                _top_table("Cost by line item", "line item", costs.by_field["line_item"]),
                _top_table(
                    "Cost by project",
                    "project",
                    costs.by_field["project_id"],
                    _project_names(directory),
                ),
            ],
            padding=(0, 4),
        )
    )


def _render_cost_chart(
    per_bucket: Sequence[tuple[int, Sums]],
    currency: str,
    total: Number,
    console: Console,
) -> None:
    days = [
        (start, Decimal(sums.get((currency,), {}).get("amount", 0))) for start, sums in per_bucket
    ]
    # Long periods are drawn a few days per bar so the chart stays on one screen.
    step = -(-len(days) // MAX_BARS)
    bars = [
        (days[i][0], sum((amount for _, amount in days[i : i + step]), Decimal(0)))
        for i in range(0, len(days), step)
    ]
    largest = float(max((amount for _, amount in bars), default=Decimal(0))) or 1.0
    per = "day" if step == 1 else f"{step} days"
    chart = Table(
        title=f"Cost per {per}, total {_money(total, currency)}",
        show_header=False,
        **{**_TABLE_STYLE, "box": None},
    )
    chart.add_column("from")
    chart.add_column("bar", width=40)
    chart.add_column("cost", justify="right")
    for start, amount in bars:
        chart.add_row(
            utc_day(start), Bar(largest, 0, float(amount), color="cyan"), _money(amount, currency)
        )
    console.print(chart)


def _usage_summary(tally: Tally) -> str:
    overall = tally.overall.result().get((), {})
    metrics = headline_metrics(tally.query.endpoint.result_type)
    # Totals keep levels (bytes stored) at the latest bucket's value instead of summing them.
    levels = tally.query.endpoint.level_metrics
    flows = _describe(overall, [m for m in metrics if m not in levels])
    stored = _describe(overall, [m for m in metrics if m in levels])
    parts = [flows, f"{stored} (latest day)" if stored else ""]
    return " · ".join(p for p in parts if p)


def _render_usage(tallies: Mapping[str, Tally], console: Console) -> None:
    table = Table(title="Usage by endpoint, and its busiest models", **_TABLE_STYLE)
    table.add_column("endpoint / model")
    table.add_column("totals")
    for name, tally in tallies.items():
        if name == "costs":
            continue
        summary = _usage_summary(tally)
        table.add_row(Text(name, style="bold"), summary or Text("no usage", style="dim"))
        for model, described in _top_models(tally):
            table.add_row(Text("  ") + model, described)
    console.print(table)


def _top_models(tally: Tally) -> list[tuple[Text, str]]:
    """The endpoint's models with the most requests (at most ``TOP_MODELS``), described."""
    by_model = tally.by_field.get("model")
    if by_model is None:
        return []
    metrics = headline_metrics(tally.query.endpoint.result_type)
    ranked = _ranked(by_model, "num_model_requests")
    shown = [(_name(model), _describe(sums, metrics)) for (model,), sums in ranked[:TOP_MODELS]]
    if len(ranked) > TOP_MODELS:
        shown.append((Text(f"... {len(ranked) - TOP_MODELS} more"), ""))
    return shown
