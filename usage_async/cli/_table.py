"""The ``table`` format: which columns fit a terminal, and cells written for reading.

``plan_table`` is a pure function from rows and a width to the columns shown, so the rules
are tested without a terminal (``plan_listing`` is its simpler twin for the directory
commands); ``render_table`` draws a plan with rich. The rules:

- Times in UTC, as short as the buckets allow: the date alone when every bucket starts at
  midnight, minutes otherwise. The bucket still in progress is marked ``*``. No ``end_time``
  unless asked for: each bucket ends where the next begins.
- Identifiers and model names (the ``--group-by`` columns) are never cut. When the terminal
  is too narrow for every metric, metrics are left out, the least telling first (those that
  are zero throughout), and a note names them and how to ask for them (``--columns``).
- Names stand in for the IDs they name (``project_name`` for ``project_id``, ``user_email``,
  ``api_key_name``) when the rows carry them: a 29-character ``proj_...`` beside its name
  would leave an 80-column terminal room for one metric. Where a name is unknown the ID is
  shown, and where more than one ID carries a name it is followed by the ID, so rows stay
  distinguishable; a note says when either happened.
- Numbers with thousands separators; money rounded to cents, in its currency; quantities
  aligned on a common number of decimals. csv, jsonl and json stay exact.
- A table of more than one row ends with a total row (a line per currency): the exact sum
  of each column that adds up. Money adds up within its currency, a quantity only where its
  rows share one unit, a level (``usage_bytes``) never. csv, jsonl and json carry the rows
  only: a program sums them itself.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._protocol import Query
from .._row_columns import row_fields
from .._time import DAY, MINUTE, utc_day, utc_minute, utc_second
from ..report._money import exact_sum
from ._names import ID_OF, NAME_COLUMNS, NONE, label

__all__ = [
    "Column",
    "TablePlan",
    "plan_listing",
    "plan_table",
    "render_table",
    "text_column",
    "time_cells",
]

Row = Mapping[str, Any]

# What a column costs besides its cells: one space, the box's (blank) rule, one space.
SEPARATOR = 3
IN_PROGRESS = "*"
_TIMES = ("start_time", "end_time")
_WIDTH_WORDS = {"1d": "daily", "1h": "hourly", "1m": "per-minute"}
_CENT = Decimal("0.01")
_MAX_DECIMALS = 4
_NAMED = 3  # columns named in the note about those left out
# Shown, left out and restored together: a quantity means nothing without its unit.
_TOGETHER = {"quantity": ("quantity", "quantity_unit")}


@attrs.frozen
class Column:
    """One column as shown: the field it comes from, its header lines and its cells."""

    field: str
    header: tuple[str, ...]
    cells: tuple[str, ...]
    numeric: bool
    total: tuple[str, ...] = ()  # the total row's cell, one line per currency; () for none

    @property
    def width(self) -> int:
        return max((len(text) for text in (*self.header, *self.cells, *self.total)), default=0)


@attrs.frozen
class TablePlan:
    """The columns of a table and what a reader is told beneath it."""

    title: str
    columns: tuple[Column, ...]
    rows: int
    hidden: tuple[str, ...] = ()  # left out, some row not zero: named first
    hidden_zero: int = 0  # left out, zero in every row: only counted
    in_progress: bool = False
    fit: int | None = None
    example: str = ""
    unknown_names: bool = False  # an ID stands where its name is unknown
    shared_names: bool = False  # a name more than one ID carries is followed by the ID
    remedy: str = ""  # how to see what was left out, where --columns is not the way

    @property
    def width(self) -> int:
        """Characters per line of the table."""
        return sum(c.width for c in self.columns) + SEPARATOR * (len(self.columns) - 1)

    @property
    def notes(self) -> list[str]:
        """The lines beneath the table: the in-progress mark, and what was left out."""
        notes = []
        if self.in_progress:
            notes.append(f"{IN_PROGRESS} in progress")
        said = []
        if self.unknown_names:
            said.append("An ID is shown where its name is unknown.")
        if self.shared_names:
            said.append("A name that more than one ID carries is followed by the ID.")
        if said:
            notes.append(" ".join(said))
        if self.hidden or self.hidden_zero:
            # A few names and a count: fifteen names would bury the table they annotate.
            named = list(self.hidden[:_NAMED])
            more = len(self.hidden) - len(named) + self.hidden_zero
            if more:
                named.append(f"{more} more")
            how = (
                f" ({self.remedy})"
                if self.remedy
                else f" (--help lists them). Add any with --columns, e.g. --columns {self.example}"
            )
            notes.append(f"Not shown, to fit {self.fit} columns: {', '.join(named)}{how}")
        # Said even with columns left out: those that stay may still be too wide.
        if self.fit is not None and self.width > self.fit:
            notes.append(
                f"Wider than {self.fit} columns, since identifiers are never cut: pick "
                "columns with --columns, or group by fewer fields."
            )
        return notes


def _seconds(iso: str) -> int:
    return int(_dt.datetime.fromisoformat(iso).timestamp())


def _text(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _money(value: Any) -> str:
    if value is None:
        return ""
    amount = Decimal(value)
    if amount and abs(amount) < _CENT / 2:
        return "<0.01" if amount > 0 else ">-0.01"
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_EVEN):,}"


def _decimals(value: Any) -> int:
    if isinstance(value, int):
        return 0
    exponent = Decimal(value).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _number_cells(values: Sequence[Any]) -> list[str]:
    """Right-aligned numbers with separators, on a common number of decimals."""
    places = min(max((_decimals(v) for v in values if v is not None), default=0), _MAX_DECIMALS)
    cells = []
    for value in values:
        if value is None:
            cells.append("")
        elif isinstance(value, int) and not places:
            cells.append(f"{value:,}")
        else:
            cells.append(f"{Decimal(value):,.{places}f}")
    return cells


def _header(name: str, cell_width: int) -> tuple[str, ...]:
    """The name, split after an underscore onto two lines when its cells are narrower."""
    if len(name) <= cell_width or "_" not in name:
        return (name,)
    cuts = [i + 1 for i, char in enumerate(name) if char == "_"]
    cut = min(cuts, key=lambda i: max(i, len(name) - i))
    return (name[:cut], name[cut:])


def time_cells(values: Sequence[str | None], *, seconds: bool = True) -> list[str]:
    """ISO-8601 UTC times for reading, all in the shortest layout that shows each exactly:
    the date alone when every one is a UTC midnight, else to the minute, else to the second.
    ``seconds=False`` stops at the minute (a directory's times have seconds nobody reads in
    a listing). ``None`` is an empty cell."""
    moments = [_seconds(v) if v is not None else None for v in values]
    known = [m for m in moments if m is not None]
    if all(m % DAY == 0 for m in known):
        shown = utc_day
    elif not seconds or all(m % MINUTE == 0 for m in known):
        shown = utc_minute
    else:
        shown = utc_second
    return [shown(m) if m is not None else "" for m in moments]


def text_column(field: str, cells: Sequence[str]) -> Column:
    """A left-aligned column of ``cells`` under ``field``'s name (on two lines if wider)."""
    widest = max((len(c) for c in cells), default=0)
    return Column(field, _header(field, widest), tuple(cells), False)


def _name_column(
    field: str, rows: Sequence[Row], shared: Collection[str]
) -> tuple[Column, bool, bool]:
    """A name column standing in for its ID column, and whether an ID had to stand for an
    unknown name, or follow a shared one. Names are shared in the directory (``shared``) or
    among these rows."""
    ident = ID_OF[field]
    ids_of: dict[str, set[str]] = {}
    for row in rows:
        if row.get(field) is not None and row.get(ident) is not None:
            ids_of.setdefault(row[field], set()).add(row[ident])
    shared = {*shared, *(name for name, ids in ids_of.items() if len(ids) > 1)}
    cells = [label(row.get(field), row.get(ident), shared) for row in rows]
    unknown = any(row.get(field) is None and row.get(ident) is not None for row in rows)
    repeated = any(row.get(field) in shared for row in rows)
    return text_column(field, cells), unknown, repeated


def _named_or_id(group: str, rows: Sequence[Row]) -> str:
    """The column that shows a grouping field: its name column when some row has a name."""
    name = NAME_COLUMNS.get(group)
    if name is not None and any(row.get(name) is not None for row in rows):
        return name
    return group


def _column(field: str, rows: Sequence[Row], *, groups: Sequence[str], money_with: str) -> Column:
    values = [row.get(field) for row in rows]
    if field in _TIMES:
        cells, numeric = time_cells(values), False
    elif field == "amount":
        cells = [
            f"{_money(v)} {str(row.get('currency', '')).upper()}".rstrip()
            if money_with
            else _money(v)
            for v, row in zip(values, rows, strict=True)
        ]
        numeric = True
    elif field in groups or not any(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values
    ):
        cells, numeric = (
            [_text(v) if v is not None or field in groups else "" for v in values],
            False,
        )
    else:
        cells, numeric = _number_cells(values), True
    widest = max((len(c) for c in cells), default=0)
    return Column(field, _header(field, widest), tuple(cells), numeric)


def _mark_in_progress(column: Column, flags: Sequence[bool]) -> Column:
    if not any(flags):
        return column
    cells = tuple(c + IN_PROGRESS if f else c for c, f in zip(column.cells, flags, strict=True))
    return attrs.evolve(column, cells=cells)


@attrs.frozen
class _Unit:
    """Metric columns shown or left out together, and whether any row has a non-zero one."""

    fields: tuple[str, ...]
    telling: bool


def _metric_units(metrics: Sequence[str], rows: Sequence[Row]) -> list[_Unit]:
    """Metrics in the order they are kept: those with a non-zero value before those that are
    zero throughout, each group in field order; ones no row carries are not offered at all."""
    units: list[_Unit] = []
    placed: set[str] = set()
    for field in metrics:
        if field in placed:
            continue
        fields = tuple(f for f in _TOGETHER.get(field, (field,)) if f in metrics)
        placed.update(fields)
        values = [row.get(f) for row in rows for f in fields]
        if any(v is not None for v in values):
            units.append(_Unit(fields, any(v not in (None, 0) for v in values)))
    return sorted(units, key=lambda unit: not unit.telling)


@attrs.define
class _ColumnMaker:
    """Makes the columns of one table, noting whether a name was unknown or shared; with
    ``totals``, each metric column gets its cells of the total row (``_Totals``)."""

    rows: Sequence[Row]
    groups: list[str]
    named: list[str]
    shown: list[str]
    shared: Mapping[str, Collection[str]]
    money_with: str
    totals: _Totals | None = None
    unknown_names: bool = False
    repeated_names: bool = False

    def column(self, field: str) -> Column:
        if field in self.named and ID_OF[field] not in self.shown:
            column, unknown, repeated = _name_column(field, self.rows, self.shared.get(field, ()))
            self.unknown_names |= unknown
            self.repeated_names |= repeated
            return column
        column = _column(field, self.rows, groups=self.groups, money_with=self.money_with)
        if self.totals is None or field in self.groups:
            return column
        return attrs.evolve(column, total=self.totals.cells(field, self.money_with))


@attrs.frozen
class _Totals:
    """The total row of a table: per currency (a line each), the exact sum of every column
    that adds up. Money adds up within its currency, a quantity only where every row of the
    currency has the same unit, and a level (``Endpoint.level_metrics``: bytes stored) never.
    """

    levels: Collection[str]
    # The rows of each currency, and the one unit they all share (``None``: none, or several),
    # found once for every column's cell.
    by_currency: Mapping[Any, Sequence[Row]]
    units: Mapping[Any, Any]

    @classmethod
    def of(cls, rows: Sequence[Row], levels: Collection[str]) -> _Totals:
        by_currency: dict[Any, list[Row]] = {}
        for row in rows:
            by_currency.setdefault(row.get("currency"), []).append(row)
        units = {}
        for currency, group in by_currency.items():
            found = {row.get("quantity_unit") for row in group}
            units[currency] = found.pop() if len(found) == 1 else None
        return cls(levels, by_currency, units)

    def cells(self, field: str, money_with: str) -> tuple[str, ...]:
        """The total row's cell of ``field``, a line per currency; ``()`` if it has none."""
        if field in (*_TIMES, *self.levels):
            return ()
        lines = [self._cell(field, currency, money_with) for currency in self.by_currency]
        return tuple(lines) if any(lines) else ()

    def _cell(self, field: str, currency: Any, money_with: str) -> str:
        unit = self.units[currency]
        if field == "currency":
            return _text(currency)
        if field == "quantity_unit":
            return "" if unit is None else _text(unit)
        if field == "quantity" and unit is None:
            return ""  # tokens and characters do not add up
        values = [row.get(field) for row in self.by_currency[currency]]
        numbers = [_exact(v) for v in values if v is not None]
        if not numbers or None in numbers:
            return ""
        total = exact_sum(n for n in numbers if n is not None)
        if field == "amount":
            return f"{_money(total)} {_text(currency).upper()}" if money_with else _money(total)
        whole = all(isinstance(v, int) for v in values if v is not None)
        return _number_cells([*values, int(total) if whole else total])[-1]


def _exact(value: Any) -> Decimal | None:
    """A metric's value as an exact ``Decimal`` (a float as it prints), ``None`` if it is
    not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def plan_table(
    rows: Sequence[Row],
    query: Query,
    *,
    now: int,
    width: int | None,
    columns: Sequence[str] | None = None,
    shared: Mapping[str, Collection[str]] | None = None,
) -> TablePlan:
    """The table of ``rows`` (from ``bucket_rows``) of ``query``, for ``width`` characters.

    ``width=None`` (not a terminal) shows every column with data. ``columns`` (``--columns``)
    shows exactly those, in that order, however wide. A bucket whose grid end is after
    ``now`` is marked in progress. Rows that carry names show them for their IDs (a name
    column without its ID column stands in for it); ``shared`` gives, per name column, the
    names the directory gives to more than one ID.
    """
    endpoint = query.endpoint
    title = f"{endpoint.name}: {_WIDTH_WORDS.get(query.width, query.width)} buckets, UTC"
    groups = list(query.group_by)
    named = [NAME_COLUMNS[g] for g in groups if g in NAME_COLUMNS]
    fields = row_fields(endpoint.result_type, query.group_by, names=True)
    keys = [_named_or_id(g, rows) for g in groups]
    shown = list(columns) if columns is not None else ["start_time", *keys]
    money_with = "" if "currency" in shown else "currency"
    # A total of one row would repeat it.
    totals = _Totals.of(rows, endpoint.level_metrics) if len(rows) > 1 else None
    maker = _ColumnMaker(rows, groups, named, shown, shared or {}, money_with, totals)
    built = {field: maker.column(field) for field in shown}
    in_progress = [_seconds(row["start_time"]) + query.width_seconds > now for row in rows]
    if "start_time" in built:
        built["start_time"] = _mark_in_progress(built["start_time"], in_progress)
    plan = TablePlan(
        title,
        tuple(built.values()),
        len(rows),
        in_progress=any(in_progress),
        unknown_names=maker.unknown_names,
        shared_names=maker.repeated_names,
    )
    if columns is not None:
        return attrs.evolve(plan, columns=_labelled(plan.columns), fit=width)

    # The amount carries its currency, so a costs table needs no currency column.
    metrics = [f for f in fields if f not in (*_TIMES, *groups, *named, "currency")]
    left_out = _fit_metrics(built, _metric_units(metrics, rows), maker, plan.width, width)
    named_out = [f for unit in left_out if unit.telling for f in unit.fields]
    zero = sum(len(unit.fields) for unit in left_out if not unit.telling)
    first = next((f for unit in left_out for f in unit.fields), None)
    return attrs.evolve(
        plan,
        columns=_labelled(tuple(built[f] for f in fields if f in built)),
        hidden=tuple(f for f in metrics if f in named_out),
        hidden_zero=zero,
        fit=width,
        example=",".join(["start_time", *keys, *([first] if first else [])]),
    )


def _labelled(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """``columns`` with "total" in the first column's cell of the total row, when there is
    a total row and the first column is text (a start time, a name): beside a number it
    would read as a name for that number."""
    lines = max((len(column.total) for column in columns), default=0)
    if not lines or columns[0].numeric:
        return columns
    return (attrs.evolve(columns[0], total=("total",) * lines), *columns[1:])


def _fit_metrics(
    built: dict[str, Column],
    units: Sequence[_Unit],
    maker: _ColumnMaker,
    used: int,
    width: int | None,
) -> list[_Unit]:
    """Add to ``built`` the metric ``units`` that fit in ``width`` beside the ``used``
    characters, in their order; returns those left out. The first metric is always shown."""
    shown = len(built)
    left_out: list[_Unit] = []
    for unit in units:
        unit_columns = [maker.column(field) for field in unit.fields]
        cost = sum(c.width + SEPARATOR for c in unit_columns)
        some_metric_shown = len(built) > shown
        # Once one is left out, so are the rest: what is shown is a prefix of the order.
        if left_out or (width is not None and used + cost > width and some_metric_shown):
            left_out.append(unit)
            continue
        built.update({c.field: c for c in unit_columns})
        used += cost
    return left_out


def plan_listing(
    title: str,
    kept: Sequence[Column],
    optional: Sequence[Column],
    *,
    width: int | None,
    remedy: str,
) -> TablePlan:
    """A listing's table: the ``kept`` columns always (identifiers, never cut), then as many
    of the ``optional`` ones, in their order, as fit ``width`` (``None``: all of them).

    Columns with no cell filled are not offered; a note names those left out and says how
    to see them (``remedy``).
    """
    plan = TablePlan(title, tuple(kept), len(kept[0].cells) if kept else 0, remedy=remedy)
    shown = list(kept)
    left_out: list[str] = []
    used = plan.width
    for column in optional:
        if not any(column.cells):
            continue
        if left_out or (width is not None and used + SEPARATOR + column.width > width):
            left_out.append(column.field)
            continue
        shown.append(column)
        used += SEPARATOR + column.width
    return attrs.evolve(plan, columns=tuple(shown), hidden=tuple(left_out), fit=width)


def render_table(plan: TablePlan, console: Console) -> None:
    """Print ``plan`` and its notes on ``console``; lines are never cut at its width."""
    has_total = any(column.total for column in plan.columns)
    table = Table(
        # SIMPLE draws a rule above the footer (the total row) too; SIMPLE_HEAD only below
        # the header.
        box=box.SIMPLE if has_total else box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        show_footer=has_total,
    )
    lines = max((len(c.header) for c in plan.columns), default=1)
    for column in plan.columns:
        header = "\n" * (lines - len(column.header)) + "\n".join(column.header)
        table.add_column(
            Text(header),
            footer=Text("\n".join(column.total)),
            justify="right" if column.numeric else "left",
            no_wrap=True,
            min_width=column.width,
        )
    for index in range(plan.rows):
        # Text, not str: a value with brackets in it must not be read as rich markup.
        table.add_row(*(Text(column.cells[index]) for column in plan.columns))
    # Its own line, not the table's title, which rich would wrap at the table's width.
    console.print(Text(plan.title, style="bold"))
    terminal = console.width
    # Wider than the terminal only when identifiers need it: the terminal wraps those lines
    # (and joins them again on copy) where rich would cut cells.
    console.width = max(terminal, plan.width)
    try:
        console.print(table, crop=False)
    finally:
        console.width = terminal
    for note in plan.notes:
        console.print(Text(note, style="dim"))
