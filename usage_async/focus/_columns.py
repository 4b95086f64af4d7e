"""The FOCUS 1.2 column table: every exported column, how it is computed, its type and nulls.

This table is the single description of the mapping. ``focus_rows`` evaluates it in Python,
the README's table is written from it, and a database can generate a view from it (a
``SELECT`` over a ``costs`` table joined with ``projects``): each ``source`` is a small
expression tree over a closed vocabulary, so a generator walks it and emits SQL instead.

The vocabulary, and what each node means in SQL terms:

* ``Field(name)``: a field of a costs row, named and valued as in ``ua.rows`` (``amount``,
  ``currency``, ``line_item``, ``project_id``, ``quantity``, ``start_time`` and ``end_time``
  as ISO-8601 UTC text, ...); also the live API's ``organization_id``,
  ``organization_name`` and ``project_name`` (``row_fields(..., extras=True)``). An empty
  string is null. A column of ``costs``.
* ``Literal(value)``: a constant (``None`` is SQL ``NULL``).
* ``Setting(name)``: an export-wide value given by the caller (``billing_account_id``,
  ``billing_account_name``). A bind parameter.
* ``ProjectName(expr)``: the name of the project with that id, from the directory. A
  ``LEFT JOIN projects``.
* ``Coalesce(a, b, ...)``: the first non-null. ``COALESCE``.
* ``Upper(expr)``: upper case. ``UPPER``.
* ``UtcTime(expr)``: a time as FOCUS writes it, ``YYYY-MM-DDTHH:MM:SSZ`` (a timestamp in
  typed stores).
* ``MonthStart(expr)`` / ``NextMonthStart(expr)``: 00:00:00 UTC on the first day of the month
  holding the time ``expr`` / of the month after. ``date_trunc('month', ...)``.
* ``UnitName(expr)``: the FOCUS unit for an API ``quantity_unit`` (``UNIT_NAMES``, else the
  unit's words capitalised). A ``CASE``.
* ``OnlyWith(expr, *others)``: ``expr``, or null unless every one of ``others`` has a value.
  ``CASE WHEN ... IS NOT NULL``.

Layer: part of focus, a library over the core; never cli, sync or emulator.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal as TypingLiteral

import attrs

__all__ = [
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "UNIT_NAMES",
    "Coalesce",
    "Expr",
    "Field",
    "FocusColumn",
    "Literal",
    "MonthStart",
    "NextMonthStart",
    "OnlyWith",
    "ProjectName",
    "Setting",
    "UnitName",
    "Upper",
    "UtcTime",
    "exact_decimal",
    "exact_sum",
    "focus_number",
    "focus_unit",
]

FOCUS_VERSION = "1.2"


@attrs.frozen
class Field:
    """A field of the costs row, as ``ua.rows`` gives it (times as ISO-8601 UTC text)."""

    name: str


@attrs.frozen
class Literal:
    """A constant; ``None`` is null."""

    value: str | None


@attrs.frozen
class Setting:
    """An export-wide value the caller gives (``billing_account_id``, ...)."""

    name: str


@attrs.frozen
class ProjectName:
    """The directory's name for the project id ``project_id`` evaluates to."""

    project_id: Expr


@attrs.frozen
class Coalesce:
    """The first of ``items`` that has a value."""

    items: tuple[Expr, ...]


@attrs.frozen
class Upper:
    item: Expr


@attrs.frozen
class UtcTime:
    """A time as FOCUS date/time text, ``YYYY-MM-DDTHH:MM:SSZ``."""

    seconds: Expr


@attrs.frozen
class MonthStart:
    """The start of the UTC calendar month holding the time ``seconds``."""

    seconds: Expr


@attrs.frozen
class NextMonthStart:
    """The start of the UTC calendar month after the one holding the time ``seconds``."""

    seconds: Expr


@attrs.frozen
class UnitName:
    """The FOCUS unit name of an API ``quantity_unit`` (see ``focus_unit``)."""

    unit: Expr


@attrs.frozen
class OnlyWith:
    """``item``, or null when any of ``others`` is null (a quantity needs its unit)."""

    item: Expr
    others: tuple[Expr, ...]


Expr = (
    Field
    | Literal
    | Setting
    | ProjectName
    | Coalesce
    | Upper
    | UtcTime
    | MonthStart
    | NextMonthStart
    | UnitName
    | OnlyWith
)

FocusType = TypingLiteral["String", "Decimal", "DateTime"]
FocusLevel = TypingLiteral["Mandatory", "Recommended", "Conditional", "Custom"]


@attrs.frozen
class FocusColumn:
    """One exported column.

    ``type`` is the FOCUS data type. ``nullable`` is whether this export may leave the column
    null at all: a null in a column that is not nullable is an error, never written.
    ``expected`` marks a nullable column FOCUS wants filled (the API did not give the value):
    such nulls are counted and reported, never replaced by a stand-in. ``expected_with``
    narrows that to rows where the named column has a value (a name for an id).
    """

    name: str
    type: FocusType
    level: FocusLevel
    nullable: bool
    source: Expr
    description: str
    expected: bool = False
    expected_with: str | None = None


# How the Costs API names units, and the FOCUS unit for each (FOCUS "Unit Format": plural
# units, "<count> <Units>", "<Unit>-<Time-Units>"). Units not listed get their words
# capitalised, and the raw unit always stays in x_QuantityUnit.
UNIT_NAMES: Mapping[str, str] = {
    "tokens": "Tokens",
    "1000_tokens": "1000 Tokens",
    "duration_seconds": "Seconds",
    "duration_minutes": "Minutes",
    "duration_hours": "Hours",
    "gibibyte_hours": "GiB-Hours",
    "images": "Images",
    "characters": "Characters",
    "requests": "Requests",
    "calls": "Calls",
    "sessions": "Sessions",
}


def focus_unit(unit: str) -> str:
    """The FOCUS unit name for an API ``quantity_unit`` (``"1000_tokens"`` -> ``"1000 Tokens"``)."""
    known = UNIT_NAMES.get(unit)
    if known is not None:
        return known
    return " ".join(word[:1].upper() + word[1:] for word in unit.replace("_", " ").split())


# A context that cannot round: ``Decimal``'s default one keeps 28 significant digits, and its
# ``normalize()`` and ``+`` round to them. The API's amounts are decimal strings of any length.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def exact_decimal(value: Decimal | int) -> Decimal:
    """``value`` with no trailing zeros and every significant digit (``0E-6176`` -> ``0``).

    What the sync binds for PostgreSQL's ``NUMERIC``. Raises ``ValueError`` for an infinity
    or a NaN, which no amount can be.
    """
    if isinstance(value, int):
        return Decimal(value)
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    return Decimal(0) if value.is_zero() else value.normalize(_EXACT)


def focus_number(value: Decimal | int) -> str:
    """A number as FOCUS number text: plain digits, no exponent, no trailing zeros.

    ``Decimal("0E-6176")`` gives ``"0"`` and ``Decimal("1E+1")`` gives ``"10"``; every
    significant digit is kept (no rounding to a context precision). The one formatter of
    exact numbers: FOCUS files, the sync's money text on SQLite, and so the ``focus`` view.
    """
    return format(exact_decimal(value), "f")


def exact_sum(total: Decimal, value: Decimal | int) -> Decimal:
    """``total + value`` with every digit (``+`` rounds to 28 significant digits), as
    ``exact_decimal`` gives it (``0E-6176`` adds no six thousand zeros)."""
    return exact_decimal(_EXACT.add(total, value))


_START = Field("start_time")
_AMOUNT = Field("amount")
_QUANTITY = OnlyWith(Field("quantity"), (Field("quantity_unit"),))
_UNIT = OnlyWith(UnitName(Field("quantity_unit")), (Field("quantity"),))
_LINE_ITEM = Field("line_item")
_OPENAI = Literal("OpenAI")

FOCUS_COLUMNS: tuple[FocusColumn, ...] = (
    FocusColumn("BilledCost", "Decimal", "Mandatory", False, _AMOUNT, "the cost's amount, exactly"),
    FocusColumn(
        "BillingAccountId",
        "String",
        "Mandatory",
        False,
        Coalesce((Field("organization_id"), Setting("billing_account_id"))),
        "the organization: the row's organization_id, else the one configured",
    ),
    FocusColumn(
        "BillingAccountName",
        "String",
        "Mandatory",
        True,
        Coalesce((Field("organization_name"), Setting("billing_account_name"))),
        "the organization's name: the row's organization_name, else the one given",
        expected=True,
    ),
    FocusColumn(
        "BillingCurrency",
        "String",
        "Mandatory",
        False,
        Upper(Field("currency")),
        "the amount's currency, upper-case ISO 4217",
    ),
    FocusColumn(
        "BillingPeriodEnd",
        "DateTime",
        "Mandatory",
        False,
        UtcTime(NextMonthStart(_START)),
        "start of the next UTC calendar month",
    ),
    FocusColumn(
        "BillingPeriodStart",
        "DateTime",
        "Mandatory",
        False,
        UtcTime(MonthStart(_START)),
        "start of the UTC calendar month holding the bucket",
    ),
    FocusColumn("ChargeCategory", "String", "Mandatory", False, Literal("Usage"), "`Usage`"),
    FocusColumn("ChargeClass", "String", "Mandatory", True, Literal(None), "null (no corrections)"),
    FocusColumn(
        "ChargeDescription",
        "String",
        "Mandatory",
        True,
        _LINE_ITEM,
        "the line item",
        expected=True,
    ),
    FocusColumn(
        "ChargeFrequency",
        "String",
        "Recommended",
        False,
        Literal("Usage-Based"),
        "`Usage-Based`",
    ),
    FocusColumn(
        "ChargePeriodEnd",
        "DateTime",
        "Mandatory",
        False,
        UtcTime(Field("end_time")),
        "the bucket's end",
    ),
    FocusColumn(
        "ChargePeriodStart", "DateTime", "Mandatory", False, UtcTime(_START), "the bucket's start"
    ),
    FocusColumn(
        "ConsumedQuantity",
        "Decimal",
        "Conditional",
        True,
        _QUANTITY,
        "the quantity (null without a unit)",
        expected=True,
    ),
    FocusColumn(
        "ConsumedUnit",
        "String",
        "Conditional",
        True,
        _UNIT,
        "the quantity's unit, FOCUS-named (null without a quantity)",
        expected=True,
    ),
    FocusColumn("ContractedCost", "Decimal", "Mandatory", False, _AMOUNT, "= BilledCost"),
    FocusColumn("EffectiveCost", "Decimal", "Mandatory", False, _AMOUNT, "= BilledCost"),
    FocusColumn(
        "InvoiceId",
        "String",
        "Recommended",
        True,
        Literal(None),
        "null: the Costs API names no invoice",
    ),
    FocusColumn("InvoiceIssuerName", "String", "Mandatory", False, _OPENAI, "`OpenAI`"),
    FocusColumn("ListCost", "Decimal", "Mandatory", False, _AMOUNT, "= BilledCost"),
    FocusColumn(
        "PricingQuantity",
        "Decimal",
        "Mandatory",
        True,
        _QUANTITY,
        "= ConsumedQuantity",
        expected=True,
    ),
    FocusColumn("PricingUnit", "String", "Mandatory", True, _UNIT, "= ConsumedUnit", expected=True),
    FocusColumn("ProviderName", "String", "Mandatory", False, _OPENAI, "`OpenAI`"),
    FocusColumn("PublisherName", "String", "Mandatory", False, _OPENAI, "`OpenAI`"),
    FocusColumn(
        "ServiceCategory",
        "String",
        "Mandatory",
        False,
        Literal("AI and Machine Learning"),
        "`AI and Machine Learning`",
    ),
    FocusColumn("ServiceName", "String", "Mandatory", False, Literal("OpenAI API"), "`OpenAI API`"),
    FocusColumn(
        "ServiceSubcategory",
        "String",
        "Recommended",
        False,
        Literal("Generative AI"),
        "`Generative AI`",
    ),
    FocusColumn("SkuId", "String", "Conditional", True, _LINE_ITEM, "the line item", expected=True),
    FocusColumn(
        "SkuMeter", "String", "Conditional", True, _LINE_ITEM, "the line item", expected=True
    ),
    FocusColumn(
        "SkuPriceId",
        "String",
        "Conditional",
        True,
        _LINE_ITEM,
        "the line item",
        expected=True,
    ),
    FocusColumn(
        "SubAccountId", "String", "Conditional", True, Field("project_id"), "the project id"
    ),
    FocusColumn(
        "SubAccountName",
        "String",
        "Conditional",
        True,
        Coalesce((Field("project_name"), ProjectName(Field("project_id")))),
        "the project's name: from the directory (an export also takes the API's own "
        "project_name where a row carries one)",
        expected_with="SubAccountId",
    ),
    FocusColumn("x_ApiKeyId", "String", "Custom", True, Field("api_key_id"), "the API key id"),
    FocusColumn("x_ApiSource", "String", "Custom", True, Field("api_source"), "the API source"),
    FocusColumn(
        "x_QuantityUnit",
        "String",
        "Custom",
        True,
        Field("quantity_unit"),
        "the API's own unit name",
    ),
    FocusColumn("x_UserId", "String", "Custom", True, Field("user_id"), "the user id"),
)
