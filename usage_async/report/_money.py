"""Exact money for the report: sums that never round, and cents that add up.

The API sends amounts with up to forty decimals (``"0.000004500000000000000000000000000000000"``);
people read cents. ``exact_sum`` adds amounts without rounding (it raises rather than round),
and ``apportion`` turns exact amounts into whole cents that add up to a given total exactly:
every amount becomes its cents rounded down or up (so never a cent or more away from its
exact value), and the cents left over go to the amounts that lost the most by rounding down
(largest-remainder rounding, as budget tables and election seat counts use it). A table whose
rows are apportioned from its total therefore adds up in the cents it shows.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Sequence
from decimal import Decimal

__all__ = ["apportion", "cents", "exact_sum", "money_text"]

# Addition needs as many digits as the amounts have; Inexact is trapped, so a sum that would
# round raises instead (it cannot, with this precision: a guard, not a limit).
_EXACT = decimal.Context(prec=decimal.MAX_PREC, traps=[decimal.Inexact, decimal.Overflow])
# Rounding to the cent is inexact by design: only there.
_ROUNDING = decimal.Context(prec=decimal.MAX_PREC, rounding=decimal.ROUND_HALF_UP)
_CENT = Decimal("0.01")


def exact_sum(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of ``amounts``, exactly (``Decimal(0)`` for none)."""
    total = Decimal(0)
    for amount in amounts:
        total = _EXACT.add(total, amount)
    return total


def cents(amount: Decimal) -> int:
    """``amount`` (in currency units) in whole cents, half a cent rounded away from zero."""
    return int(_EXACT.multiply(amount.quantize(_CENT, context=_ROUNDING), Decimal(100)))


def apportion(amounts: Sequence[Decimal], total_cents: int) -> list[int]:
    """Whole cents for each of ``amounts`` that add up to ``total_cents`` exactly.

    Each amount gets its cents rounded down, and the cents still missing go one each to the
    amounts with the largest remainders (the first of equal ones first). With
    ``total_cents = cents(exact_sum(amounts))`` every result is its amount rounded down or
    up. Raises ``ValueError`` when no such rounding reaches ``total_cents``.
    """
    floors: list[int] = []
    remainders: list[Decimal] = []
    for amount in amounts:
        scaled = _EXACT.multiply(amount, Decimal(100))
        floor = int(scaled.to_integral_value(rounding=decimal.ROUND_FLOOR, context=_EXACT))
        floors.append(floor)
        remainders.append(_EXACT.subtract(scaled, Decimal(floor)))
    missing = total_cents - sum(floors)
    if not 0 <= missing <= len(floors):
        raise ValueError(
            f"{len(floors)} amounts rounded to the cent cannot add up to {total_cents} cents"
        )
    # Stable sort: among equal remainders the earlier amount gets the cent.
    by_loss = sorted(range(len(floors)), key=lambda i: remainders[i], reverse=True)
    for i in by_loss[:missing]:
        floors[i] += 1
    return floors


def money_text(amount_cents: int) -> str:
    """Cents as people read an amount: ``-1,234.50`` (thousands separated, two decimals)."""
    sign = "-" if amount_cents < 0 else ""
    units, rest = divmod(abs(amount_cents), 100)
    return f"{sign}{units:,}.{rest:02d}"
