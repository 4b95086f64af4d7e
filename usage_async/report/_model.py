"""What a chargeback report holds: the costs of a period, its usage, and who spent it.

``Chargeback`` is what ``collect`` reads from the API and what ``render_html`` draws; it does
no I/O. Costs are kept as they came, one ``CostCell`` per project, line item and UTC day (the
text report's query), and every view of them (totals, per project, per line item, per day)
is computed from those cells with exact sums, so the views always agree with each other.
``BudgetStatus`` is the report's minimal view of a budget: what was spent, against what,
and where it is heading.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from .._exceptions import InvalidParameterError
from .._rows import Number
from ._money import exact_sum

__all__ = [
    "BudgetStatus",
    "Chargeback",
    "CostCell",
    "EndpointUsage",
    "LineItemCost",
    "ProjectCharge",
    "RankedCost",
    "metric_label",
]

# Short names keep an endpoint's totals on one line; other metrics are named after the field.
_METRIC_LABELS = {
    "num_model_requests": "requests",
    "num_requests": "calls",
    "num_sessions": "sessions",
    "input_tokens": "tokens in",
    "output_tokens": "tokens out",
    "usage_bytes": "bytes stored",
}


def metric_label(metric: str) -> str:
    """How a report names a metric: ``tokens in`` for ``input_tokens``, else the field's
    words (``num_images`` -> ``num images``)."""
    return _METRIC_LABELS.get(metric, metric.replace("_", " "))


@attrs.frozen
class CostCell:
    """The cost of one line item of one project on one UTC day (``day``: its midnight)."""

    day: int
    project_id: str | None
    line_item: str | None
    currency: str
    amount: Decimal


@attrs.frozen
class LineItemCost:
    """One line item of a project's charge, summed over the period."""

    line_item: str | None
    amount: Decimal


@attrs.frozen
class ProjectCharge:
    """What one project is charged in one currency: its line items (largest first) and their
    exact ``total``."""

    project_id: str | None
    label: str
    currency: str
    lines: tuple[LineItemCost, ...]
    total: Decimal


@attrs.frozen
class RankedCost:
    """The cost of one user or API key (``id`` ``None``: costs attributed to none)."""

    id: str | None
    label: str
    currency: str
    amount: Decimal


@attrs.frozen
class EndpointUsage:
    """One usage endpoint's sums over the period, as ``ua.Totals`` gives them.

    ``metrics`` are the endpoint's headline metrics (its required fields, in wire order) and
    ``levels`` those that are levels (kept at the latest day's value, not summed).
    ``by_model`` and ``by_project`` are empty where the endpoint has no such grouping.
    """

    name: str
    metrics: tuple[str, ...]
    levels: tuple[str, ...]
    totals: Mapping[str, Number]
    by_model: Mapping[str | None, Mapping[str, Number]]
    by_project: Mapping[str | None, Mapping[str, Number]]


def _decimal(value: Any, param: str) -> Decimal:
    # Floats are refused: 0.1 is not a tenth, and a budget compares money exactly. NaN and
    # the infinities are no amount of money (and no cent to show).
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str) and not isinstance(value, bool):
        with contextlib.suppress(ArithmeticError):
            number = Decimal(value)
    if number is None or not number.is_finite():
        raise InvalidParameterError(
            f"{param} must be a finite Decimal, an int or a decimal string, got {value!r}",
            param=param,
        )
    return number


def _spent(value: Decimal | int | str) -> Decimal:
    return _decimal(value, "spent")


def _amount(value: Decimal | int | str) -> Decimal:
    return _decimal(value, "amount")


def _forecast(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else _decimal(value, "forecast")


@attrs.frozen
class BudgetStatus:
    """A budget as the report shows it: ``spent`` of ``amount`` (both in ``currency``), a
    ``forecast`` of the period's end, and ``settled_until``, the time before which ``spent``
    no longer changes (Unix seconds).

    Amounts are finite ``Decimal``s (ints and decimal strings are converted; floats, NaN
    and the infinities are refused with ``InvalidParameterError``, as is an ``amount`` that
    is not positive).
    """

    name: str
    spent: Decimal = attrs.field(converter=_spent)
    amount: Decimal = attrs.field(converter=_amount)
    currency: str
    forecast: Decimal | None = attrs.field(default=None, converter=_forecast)
    settled_until: int | None = None

    @amount.validator
    def _positive(self, attribute: Any, value: Decimal) -> None:
        if not value > 0:
            raise InvalidParameterError(
                f"a budget's amount must be positive, got {value}", param="amount"
            )


@attrs.frozen
class Chargeback:
    """The costs and usage of ``[start, end)`` (Unix seconds, ``start`` at UTC midnight).

    ``days`` are the UTC days the costs cover (the midnight of each); ``costs`` the cells
    of every project, line item and day; ``project_labels`` how each project is named (its
    name; its ID where the name is unknown; ``name (ID)`` where two projects share a name).
    The days from ``provisional_from`` (a UTC midnight) on may still be revised by the API:
    those that ended less than two days before ``server_time``, the server's clock when it
    answered (the sync's settle window). ``users`` and ``api_keys`` rank costs by user and
    by API key (``None``: not read); ``api_keys_from`` is where the keys' costs start (the
    API groups costs by key only from 2025-12-06), ``None`` when the period has no such day.
    ``warnings`` say what could not be read (parts of the directory).
    """

    start: int
    end: int
    server_time: int
    provisional_from: int
    days: tuple[int, ...]
    costs: tuple[CostCell, ...]
    project_labels: Mapping[str | None, str]
    usage: Mapping[str, EndpointUsage]
    users: tuple[RankedCost, ...] | None = None
    api_keys: tuple[RankedCost, ...] | None = None
    api_keys_from: int | None = None
    organization: str | None = None
    warnings: tuple[str, ...] = ()

    def currencies(self) -> list[str]:
        """The currencies of the costs, in the order they first appear."""
        return list(dict.fromkeys(cell.currency for cell in self.costs))

    def totals(self) -> dict[str, Decimal]:
        """The exact total cost per currency."""
        return {
            currency: exact_sum(c.amount for c in self.costs if c.currency == currency)
            for currency in self.currencies()
        }

    def project_label(self, project_id: str | None) -> str:
        """How the report names ``project_id``."""
        label = self.project_labels.get(project_id)
        if label is not None:
            return label
        return "(no project)" if project_id is None else project_id

    def projects(self, currency: str) -> list[ProjectCharge]:
        """Every project's charge in ``currency``, the largest first; their totals add up to
        ``totals()[currency]`` exactly, and each one's lines to its total."""
        cells: dict[str | None, dict[str | None, list[Decimal]]] = {}
        for cell in self.costs:
            if cell.currency == currency:
                lines = cells.setdefault(cell.project_id, {})
                lines.setdefault(cell.line_item, []).append(cell.amount)
        charges = []
        for project_id, lines in cells.items():
            items = sorted(
                (LineItemCost(item, exact_sum(amounts)) for item, amounts in lines.items()),
                key=lambda line: line.amount,
                reverse=True,
            )
            total = exact_sum(line.amount for line in items)
            label = self.project_label(project_id)
            charges.append(ProjectCharge(project_id, label, currency, tuple(items), total))
        return sorted(charges, key=lambda charge: charge.total, reverse=True)

    def line_items(self, currency: str) -> dict[str | None, Decimal]:
        """The exact cost of each line item in ``currency``, the largest first."""
        amounts: dict[str | None, list[Decimal]] = {}
        for cell in self.costs:
            if cell.currency == currency:
                amounts.setdefault(cell.line_item, []).append(cell.amount)
        sums = {item: exact_sum(values) for item, values in amounts.items()}
        return dict(sorted(sums.items(), key=lambda item: item[1], reverse=True))

    def cost_per_day(self, currency: str) -> list[tuple[int, dict[str | None, Decimal]]]:
        """Each day of ``days`` with the exact cost of each project on it in ``currency``
        (days without costs included, with no projects)."""
        amounts: dict[int, dict[str | None, list[Decimal]]] = {day: {} for day in self.days}
        for cell in self.costs:
            if cell.currency == currency:
                day = amounts.setdefault(cell.day, {})
                day.setdefault(cell.project_id, []).append(cell.amount)
        return [
            (day, {project: exact_sum(values) for project, values in by_project.items()})
            for day, by_project in sorted(amounts.items())
        ]

    def cost_before(self, moment: int, currency: str) -> Decimal:
        """The exact cost in ``currency`` of the days that start before ``moment``."""
        return exact_sum(c.amount for c in self.costs if c.currency == currency and c.day < moment)

    def is_provisional(self, day: int) -> bool:
        """Whether the API may still revise the costs of the day starting at ``day``."""
        return day >= self.provisional_from
