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
from collections.abc import Callable, Sequence
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
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 26, 44
MAX_X_LABELS = 12

Scale = Callable[[Decimal], float]


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


def stacked_bars(bars: Sequence[Bar], series: Sequence[Series], *, unit: str, title: str) -> str:
    """An SVG chart of ``bars``, each stacked from its series' amounts (bottom first).

    Negative amounts (credits) are left out of the drawing (the table beside shows them);
    provisional bars lie on a shaded band labelled "provisional". The y axis is in
    ``unit``; ``title`` is the chart's accessible name.
    """
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    heights = [sum((a for a in bar.amounts if a > 0), Decimal(0)) for bar in bars]
    top, step = _nice_scale(max(heights, default=Decimal(0)))
    slot = plot_w / max(len(bars), 1)

    def y(value: Decimal) -> float:
        return TOP + plot_h - float(value / top) * plot_h

    out = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}" '
        f'class="chart" preserveAspectRatio="xMidYMid meet">',
        f"<title>{esc(title)}</title>",
    ]
    out += _provisional_band(bars, slot, plot_h)
    out += _y_axis(top, step, unit, y)
    for i, bar in enumerate(bars):
        out += _stack(bar, series, LEFT + i * slot, slot, y, unit)
    out += _x_labels(bars, slot)
    out.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "\n".join(out)


def _provisional_band(bars: Sequence[Bar], slot: float, plot_h: float) -> list[str]:
    first = next((i for i, bar in enumerate(bars) if bar.provisional), None)
    if first is None:
        return []
    x = LEFT + first * slot
    width = (len(bars) - first) * slot
    # The label sits over the band, or ends at the right edge when the band is narrow.
    label_x, anchor = (x + width / 2, "middle") if width >= 80 else (WIDTH - RIGHT, "end")
    return [
        f'<rect x="{x:.1f}" y="{TOP}" width="{width:.1f}" height="{plot_h:.1f}" '
        f'fill="{INK}" fill-opacity="0.07"><title>provisional: the API may still revise these '
        "days</title></rect>",
        f'<text x="{label_x:.1f}" y="{TOP - 8}" text-anchor="{anchor}" font-size="12" '
        f'fill="{MUTED}">provisional</text>',
    ]


def _y_axis(top: Decimal, step: Decimal, unit: str, y: Scale) -> list[str]:
    out = []
    tick = Decimal(0)
    while tick <= top:
        at = y(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{at:.1f}" x2="{WIDTH - RIGHT}" y2="{at:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{esc(_tick_text(tick, step))}</text>'
        )
        tick += step
    out.append(
        f'<text x="{LEFT - 6}" y="{TOP - 8}" text-anchor="end" font-size="12" '
        f'fill="{MUTED}">{esc(unit)}</text>'
    )
    return out


def _stack(
    bar: Bar, series: Sequence[Series], x: float, slot: float, y: Scale, unit: str
) -> list[str]:
    width = max(slot * 0.72, 1.0)
    left = x + (slot - width) / 2
    out = []
    base = Decimal(0)
    for one, amount in zip(series, bar.amounts, strict=True):
        if amount <= 0:
            continue
        low, high = y(base), y(base + amount)
        base += amount
        note = " (provisional)" if bar.provisional else ""
        out.append(
            f'<rect x="{left:.1f}" y="{high:.1f}" width="{width:.1f}" '
            f'height="{max(low - high, 0.5):.1f}" fill="{one.colour}" stroke="#FFFFFF" '
            f'stroke-width="0.5"><title>{esc(bar.name)} · {esc(one.label)}: '
            f"{money_text(cents(amount))} {esc(unit)}{note}</title></rect>"
        )
    return out


def _x_labels(bars: Sequence[Bar], slot: float) -> list[str]:
    every = math.ceil(len(bars) / MAX_X_LABELS) if bars else 1
    baseline = HEIGHT - BOTTOM + 18
    return [
        f'<text x="{LEFT + (i + 0.5) * slot:.1f}" y="{baseline}" text-anchor="middle" '
        f'font-size="12" fill="{INK}">{esc(bar.label)}</text>'
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
