"""The report's charts as inline SVG: costs per day stacked by project, and budget bars.

Plain markup, no script and no reference to anything outside the element (no ``xmlns``,
which inline SVG in HTML does not need, no ``url(...)``, no ``href``): the chart is drawn
by the page that holds it, offline. Every chart is an ``img`` with an ``aria-label`` and a
``<title>``, and every bar segment carries a ``<title>`` with its day, name and amount; the
page puts a table beside each chart with the same numbers. Sizes come from a ``viewBox``,
so a chart scales to the width of the screen or the printed page.

Colours are the Okabe-Ito palette (Okabe and Ito, "Color Universal Design", 2008), told
apart with any of the common colour-vision deficiencies; grey stands for "other". Geometry
is computed in floats; the amounts shown in titles are exact.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from ._money import cents, money_text

__all__ = ["OKABE_ITO", "OTHER_COLOUR", "Bar", "Series", "budget_bar", "stacked_bars"]

# Okabe-Ito without black, the strongest first: the biggest project gets the darkest blue.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
OTHER_COLOUR = "#9E9E9E"
INK = "#1A1A1A"
MUTED = "#5F5F5F"
GRID = "#D9D9D9"

WIDTH = 760
HEIGHT = 300
RIGHT, TOP, BOTTOM = 12, 26, 44
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 12


def esc(text: str) -> str:
    """``text`` safe inside an element or a quoted attribute."""
    return html.escape(text, quote=True)


@attrs.frozen
class Series:
    """One colour of a stacked chart: what it stands for and how it is drawn."""

    label: str
    colour: str


@attrs.frozen
class Bar:
    """One bar: its axis label, its full name (for titles), one amount per series (in the
    series' order) and whether its numbers are provisional."""

    label: str
    name: str
    amounts: tuple[Decimal, ...]
    provisional: bool = False


_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


def _nice_scale(largest: Decimal) -> tuple[Decimal, Decimal]:
    """(top of the axis, step between ticks): 1, 2, 2.5 or 5 times a power of ten, about
    four ticks above zero."""
    if largest <= 0:
        return Decimal(1), Decimal("0.25")
    rough = largest / 4
    power = Decimal(1).scaleb(rough.adjusted())
    step = next(power * m for m in _STEPS if power * m >= rough)
    return step * math.ceil(largest / step), step


def _tick_text(value: Decimal, step: Decimal) -> str:
    return f"{value:,.2f}" if step != step.to_integral_value() else f"{value:,.0f}"


@attrs.frozen
class _Plot:
    """Where a chart draws: its left edge (after the y labels), its scale and its slots."""

    left: float
    top: Decimal
    bars: int

    @property
    def width(self) -> float:
        return WIDTH - self.left - RIGHT

    @property
    def slot(self) -> float:
        return self.width / max(self.bars, 1)

    def y(self, value: Decimal) -> float:
        return TOP + PLOT_HEIGHT - float(value / self.top) * PLOT_HEIGHT


def stacked_bars(bars: Sequence[Bar], series: Sequence[Series], *, unit: str, title: str) -> str:
    """An SVG chart of ``bars``, each stacked from its series' amounts (bottom first).

    Negative amounts (credits) are left out of the drawing (the table beside shows them);
    provisional bars lie on a shaded band labelled "provisional". The y axis is in
    ``unit``; ``title`` is the chart's accessible name.
    """
    heights = [sum((a for a in bar.amounts if a > 0), Decimal(0)) for bar in bars]
    top, step = _nice_scale(max(heights, default=Decimal(0)))
    ticks = [step * i for i in range(int(top / step) + 1)]
    labels = [_tick_text(tick, step) for tick in ticks]
    # Room for the longest y label: about 7 units a character at font size 12.
    left = max(48.0, 14 + 7.0 * max(len(text) for text in [*labels, unit]))
    plot = _Plot(left, top, len(bars))
    out = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}" '
        f'class="chart" preserveAspectRatio="xMidYMid meet">',
        f"<title>{esc(title)}</title>",
    ]
    out += _provisional_band(bars, plot)
    out += _y_axis(plot, zip(ticks, labels, strict=True), unit)
    for i, bar in enumerate(bars):
        out += _stack(bar, series, plot, i, unit)
    out += _x_labels(bars, plot)
    out.append(
        f'<line x1="{left:.1f}" y1="{TOP + PLOT_HEIGHT}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + PLOT_HEIGHT}" stroke="{INK}" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "\n".join(out)


def _provisional_band(bars: Sequence[Bar], plot: _Plot) -> list[str]:
    first = next((i for i, bar in enumerate(bars) if bar.provisional), None)
    if first is None:
        return []
    x = plot.left + first * plot.slot
    width = (len(bars) - first) * plot.slot
    # The label sits over the band, or ends at the right edge when the band is narrow.
    label_x, anchor = (x + width / 2, "middle") if width >= 80 else (WIDTH - RIGHT, "end")
    return [
        f'<rect x="{x:.1f}" y="{TOP}" width="{width:.1f}" height="{PLOT_HEIGHT}" '
        f'fill="{INK}" fill-opacity="0.07"><title>provisional: the API may still revise these '
        "days</title></rect>",
        f'<text x="{label_x:.1f}" y="{TOP - 8}" text-anchor="{anchor}" font-size="12" '
        f'fill="{MUTED}">provisional</text>',
    ]


def _y_axis(plot: _Plot, ticks: Iterable[tuple[Decimal, str]], unit: str) -> list[str]:
    out = []
    for tick, text in ticks:
        at = plot.y(tick)
        out.append(
            f'<line x1="{plot.left:.1f}" y1="{at:.1f}" x2="{WIDTH - RIGHT}" y2="{at:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{plot.left - 6:.1f}" y="{at + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{esc(text)}</text>'
        )
    out.append(
        f'<text x="{plot.left - 6:.1f}" y="{TOP - 8}" text-anchor="end" font-size="12" '
        f'fill="{MUTED}">{esc(unit)}</text>'
    )
    return out


def _stack(bar: Bar, series: Sequence[Series], plot: _Plot, index: int, unit: str) -> list[str]:
    width = max(plot.slot * 0.72, 1.0)
    left = plot.left + index * plot.slot + (plot.slot - width) / 2
    out = []
    base = Decimal(0)
    for one, amount in zip(series, bar.amounts, strict=True):
        if amount <= 0:
            continue
        low, high = plot.y(base), plot.y(base + amount)
        base += amount
        note = " (provisional)" if bar.provisional else ""
        out.append(
            f'<rect x="{left:.1f}" y="{high:.1f}" width="{width:.1f}" '
            f'height="{max(low - high, 0.5):.1f}" fill="{one.colour}" stroke="#FFFFFF" '
            f'stroke-width="0.5"><title>{esc(bar.name)} · {esc(one.label)}: '
            f"{money_text(cents(amount))} {esc(unit)}{note}</title></rect>"
        )
    return out


def _x_labels(bars: Sequence[Bar], plot: _Plot) -> list[str]:
    every = math.ceil(len(bars) / MAX_X_LABELS) if bars else 1
    baseline = TOP + PLOT_HEIGHT + 18
    return [
        f'<text x="{plot.left + (i + 0.5) * plot.slot:.1f}" y="{baseline}" '
        f'text-anchor="middle" font-size="12" fill="{INK}">{esc(bar.label)}</text>'
        for i, bar in enumerate(bars)
        if i % every == 0
    ]


BUDGET_HEIGHT = 34


def budget_bar(
    spent: Decimal,
    amount: Decimal,
    forecast: Decimal | None,
    *,
    title: str,
    spent_over: bool,
    forecast_over: bool,
) -> str:
    """An SVG bar of ``spent`` against ``amount`` (a black mark), the ``forecast`` as a
    dashed outline; each in vermilion instead of blue when it is over the budget."""
    scale = max(amount, spent, forecast or Decimal(0)) * Decimal("1.05")
    plot_w = WIDTH - 2

    def x(value: Decimal) -> float:
        return 1 + float(max(value, Decimal(0)) / scale) * plot_w

    def colour(over: bool) -> str:
        return OKABE_ITO[3] if over else OKABE_ITO[0]

    out = [
        f'<svg viewBox="0 0 {WIDTH} {BUDGET_HEIGHT}" role="img" aria-label="{esc(title)}" '
        'class="budget-bar">',
        f"<title>{esc(title)}</title>",
        f'<rect x="1" y="8" width="{plot_w}" height="18" fill="#EEEEEE"/>',
    ]
    if forecast is not None:
        out.append(
            f'<rect x="1" y="8" width="{x(forecast) - 1:.1f}" height="18" fill="none" '
            f'stroke="{colour(forecast_over)}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    out.append(
        f'<rect x="1" y="8" width="{x(spent) - 1:.1f}" height="18" fill="{colour(spent_over)}"/>'
    )
    mark = x(amount)
    out.append(
        f'<line x1="{mark:.1f}" y1="2" x2="{mark:.1f}" y2="32" stroke="{INK}" stroke-width="2"/>'
    )
    out.append("</svg>")
    return "\n".join(out)
