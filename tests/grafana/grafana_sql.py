"""What Grafana does to a panel's SQL before PostgreSQL sees it, and what it asks of the result.

Written from Grafana's documentation of its PostgreSQL data source and the behaviour its
source shows (grafana/grafana: ``public/app/features/templating/template_srv.ts`` and
``packages/grafana-sql``'s ``interpolateVariable`` in the browser; ``pkg/tsdb/
grafana-postgresql-datasource``'s ``sqleng.Interpolate`` and ``macros.go`` on the server),
in three steps, in Grafana's order:

1. **Template variables** (the browser). ``$name``, ``${name}``, ``${name:format}`` and
   ``[[name]]`` of a known variable are replaced; anything else (``$__timeFilter``) is left.
   A variable's "All" with a custom all value is that value *as it is*; otherwise the
   values. Formats: none (the data source's own: a multi-value or include-all variable's
   values quoted, ``'`` doubled, comma-separated; a single-value variable's value with
   ``'`` doubled and no quotes), ``sqlstring`` (each value quoted, comma-separated),
   ``csv`` and ``raw`` (comma-separated as they are). Others raise.
2. **Global macros** (the server): ``$__interval_ms``, ``$__interval`` (in its largest
   whole unit: ``10m``), ``$__unixEpochFrom()``, ``$__unixEpochTo()``. (Grafana 12.2 and
   later first strip SQL comments; the dashboards' SQL has none, which a test checks.)
3. **PostgreSQL macros** (the server), ``$__name(arguments)``, arguments split at commas
   and trimmed: ``$__time``, ``$__timeEpoch``, ``$__timeFilter`` (``col BETWEEN 'from' AND
   'to'``, RFC 3339 UTC with nanoseconds and no trailing zeros), ``$__timeFrom()``,
   ``$__timeTo()``, ``$__timeGroup(col, 'interval')`` (``floor(extract(epoch from
   col)/N)*N``; written ``AS "time"`` too when a comma follows it, Grafana's pre-5.3
   reading), ``$__timeGroupAlias``, ``$__unixEpochFilter``, ``$__unixEpochGroup``,
   ``$__unixEpochGroupAlias``. Intervals: whole ``s``, ``m``, ``h``, ``d``, ``w`` under
   a million seconds (Go prints larger ones as ``1e+06``); a fill value (third argument)
   and TimescaleDB's ``time_bucket`` are not covered.

``check_frame`` states what Grafana asks of a time series result: a ``time`` column of a
time or number type with no null, rows in time order, every other column text (a label,
``metric`` naming the series) or numeric, at least one numeric, and one row per series and
time (Grafana turns the long rows into one series per label set).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALL = "$__all"


@dataclass(frozen=True)
class Selection:
    """A template variable as a dashboard has it set: its picked ``values`` (``[ALL]`` for
    "All"), whether it is multi-value / has "All", its custom all value and its options."""

    values: Sequence[str]
    multi: bool = True
    include_all: bool = True
    all_value: str | None = None
    options: Sequence[str] = field(default_factory=tuple)

    @classmethod
    def of(cls, variable: Mapping[str, Any], values: Sequence[str] = (ALL,)) -> Selection:
        """The dashboard JSON's ``variable`` with ``values`` picked (default "All")."""
        return cls(
            tuple(values),
            multi=bool(variable.get("multi")),
            include_all=bool(variable.get("includeAll")),
            all_value=variable.get("allValue") or None,
        )


@dataclass(frozen=True)
class TimeRange:
    start: dt.datetime
    end: dt.datetime


_VARIABLE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}"
)
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_INTERVAL = re.compile(r"(\d+)(s|m|h|d|w)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(selection: Selection, values: Sequence[str], fmt: str | None) -> str:
    if fmt is None:  # the PostgreSQL data source's interpolateVariable
        if len(values) == 1 and not selection.multi and not selection.include_all:
            return values[0].replace("'", "''")
        return ",".join(quote_literal(v) for v in values)
    if fmt == "sqlstring":
        return ",".join(quote_literal(v) for v in values)
    if fmt in ("csv", "raw"):
        return ",".join(values)
    raise NotImplementedError(f"variable format {fmt!r} is not expanded here")


def expand_variables(sql: str, variables: Mapping[str, Selection]) -> str:
    """Step 1: the template variables of ``sql`` replaced as the browser replaces them."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if match.group(5):
            raise NotImplementedError("a variable's field path (${name.field}) is not covered")
        selection = variables.get(name)
        if selection is None:
            return match.group(0)
        values = list(selection.values)
        if ALL in values:
            if selection.all_value is not None and fmt not in ("text", "percentencode"):
                return expand_variables(selection.all_value, variables)
            values = list(selection.options)
        return _format(selection, values, fmt)

    return _VARIABLE.sub(replace, sql)


def rfc3339(moment: dt.datetime) -> str:
    """Go's ``time.RFC3339Nano`` of a UTC instant: fraction without trailing zeros."""
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _interval_seconds(argument: str) -> int:
    match = _INTERVAL.fullmatch(argument.strip("'"))
    if match is None:
        raise NotImplementedError(f"interval {argument!r} is not expanded here")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds >= 1_000_000:
        raise NotImplementedError("Go prints an interval of a million seconds as 1e+06")
    return seconds


def format_interval(milliseconds: int) -> str:
    """Go's ``gtime.FormatInterval``: the interval in its largest whole unit, rounded down."""
    for unit, size in (("y", 365 * 86400_000), ("d", 86400_000), ("h", 3600_000),
                       ("m", 60_000), ("s", 1000), ("ms", 1)):  # fmt: skip
        if milliseconds >= size:
            return f"{milliseconds // size}{unit}"
    return "1ms"


def _unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _postgres_macro(name: str, args: list[str], window: TimeRange) -> str:
    start, end = rfc3339(window.start), rfc3339(window.end)
    if name in ("__timeFrom", "__timeTo"):
        return f"'{start if name == '__timeFrom' else end}'"
    if not args or not args[0]:
        raise ValueError(f"missing time column argument for macro {name}")
    column = args[0]
    if name == "__time":
        return f'{column} AS "time"'
    if name == "__timeEpoch":
        return f'extract(epoch from {column}) as "time"'
    if name == "__timeFilter":
        return f"{column} BETWEEN '{start}' AND '{end}'"
    if name == "__unixEpochFilter":
        low, high = _unix(window.start), _unix(window.end)
        return f"{column} >= {low} AND {column} <= {high}"
    if name in ("__timeGroup", "__timeGroupAlias", "__unixEpochGroup", "__unixEpochGroupAlias"):
        if len(args) == 3:
            raise NotImplementedError("a fill value is not covered")
        if len(args) < 2:
            raise ValueError(f"macro {name} needs time column and interval")
        n = _interval_seconds(args[1])
        if name.startswith("__unixEpoch"):
            grouped = f"floor(({column})/{n})*{n}"
        else:
            grouped = f"floor(extract(epoch from {column})/{n})*{n}"
        return grouped + (' AS "time"' if name.endswith("Alias") else "")
    raise ValueError(f"unknown macro {name!r}")


def expand_macros(sql: str, window: TimeRange, interval: dt.timedelta | None = None) -> str:
    """Steps 2 and 3: the global and the PostgreSQL macros of ``sql`` for ``window``."""
    if interval is not None:
        milliseconds = int(interval.total_seconds() * 1000)
        sql = sql.replace("$__interval_ms", str(milliseconds))
        sql = sql.replace("$__interval", format_interval(milliseconds))
    sql = sql.replace("$__unixEpochFrom()", str(_unix(window.start)))
    sql = sql.replace("$__unixEpochTo()", str(_unix(window.end)))

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        # $__timeGroup followed by a comma is read as $__timeGroupAlias (Grafana < 5.3).
        if name == "__timeGroup" and sql[match.end() : match.end() + 1] == ",":
            name = "__timeGroupAlias"
        args = [a.strip(" ") for a in match.group(2).split(",")]
        return _postgres_macro(name, args, window)

    return _MACRO.sub(replace, sql)


def expand(sql: str, window: TimeRange, variables: Mapping[str, Selection]) -> str:
    """``sql`` as Grafana sends it to PostgreSQL for ``window`` with ``variables`` set."""
    return expand_macros(expand_variables(sql, variables), window)


TIME_TYPES = ("timestamptz", "timestamp", "date")
NUMBER_TYPES = ("int2", "int4", "int8", "numeric", "float4", "float8")
TEXT_TYPES = ("text", "varchar", "bpchar", "name")


def check_frame(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    """Raise ``AssertionError`` unless a time series result (``columns`` as (name, type
    name)) is one Grafana's PostgreSQL data source turns into series."""
    names = [name for name, _ in columns]
    assert "time" in names, f"no time column in {names}"
    at = names.index("time")
    assert columns[at][1] in (*TIME_TYPES, *NUMBER_TYPES), f"time is {columns[at][1]}"
    for name, kind in columns:
        if name != "time":
            assert kind in (*NUMBER_TYPES, *TEXT_TYPES), f"{name} is {kind}"
    assert any(kind in NUMBER_TYPES for name, kind in columns if name != "time"), names
    times = [row[at] for row in rows]
    assert None not in times, "a null time"
    assert times == sorted(times), "rows are not in time order"
    # Long to wide: one value per series and time.
    labels = [i for i, (name, kind) in enumerate(columns) if kind in TEXT_TYPES]
    keys = [(row[at], *(row[i] for i in labels)) for row in rows]
    assert len(keys) == len(set(keys)), "a series has two rows at one time"


def variable_names(sql: str) -> set[str]:
    """The names Grafana's browser would look up as template variables in ``sql`` (its
    ``$__`` built-ins and macros left out)."""
    names = {m.group(1) or m.group(2) or m.group(4) for m in _VARIABLE.finditer(sql)}
    return {name for name in names if not name.startswith("__")}
