"""The chargeback report: a period's costs, who spent them and on what, as one HTML file.

    from usage_async.report import collect, render_html

    async with ua.UsageClient() as client:
        chargeback = await collect(client, start, end)
    Path("chargeback.html").write_text(render_html(chargeback, generated_at=now))

``collect`` reads what ``usage-async report`` reads (the same queries, so the two agree)
plus costs by user and by API key, into a ``Chargeback``; ``render_html`` writes it as one
self-contained HTML page (inline CSS and SVG, no script, nothing fetched) that opens from
disk in any browser and prints to PDF. ``BudgetStatus`` adds a budget's bar and forecast.
"""

from __future__ import annotations

from ._data import API_KEYS, NAME_PARTS, USERS, collect, report_params
from ._html import render_html
from ._model import (
    BudgetStatus,
    Chargeback,
    CostCell,
    EndpointUsage,
    LineItemCost,
    ProjectCharge,
    RankedCost,
    metric_label,
)

__all__ = [
    "API_KEYS",
    "NAME_PARTS",
    "USERS",
    "BudgetStatus",
    "Chargeback",
    "CostCell",
    "EndpointUsage",
    "LineItemCost",
    "ProjectCharge",
    "RankedCost",
    "collect",
    "metric_label",
    "render_html",
    "report_params",
]
