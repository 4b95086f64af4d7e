"""``FOCUS_COLUMNS`` is enough to generate a database view that gives the same rows.

The sync keeps costs in a database and will keep a FOCUS view current there. This test is
that generator in miniature, for SQLite: it walks each column's source expression (failing on
any node it does not know, so a new kind of expression cannot slip past a generator) and the
resulting view, over a ``costs`` table joined with ``projects``, must give the very rows
``focus_rows`` wrote for the same costs.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import assert_never

from usage_async.emulator import ORGANIZATION
from usage_async.focus import (
    FOCUS_COLUMNS,
    UNIT_NAMES,
    Coalesce,
    Expr,
    Field,
    Literal,
    MonthStart,
    NextMonthStart,
    OnlyWith,
    ProjectName,
    Setting,
    UnitName,
    Upper,
    UtcTime,
)

from .conftest import ACCOUNT, ACCOUNT_NAME, Export

SETTINGS = {"billing_account_id": ACCOUNT, "billing_account_name": ACCOUNT_NAME}
COSTS_FIELDS = [
    "start_time",
    "end_time",
    "amount",
    "currency",
    "line_item",
    "project_id",
    "user_id",
    "api_key_id",
    "api_source",
    "quantity",
    "quantity_unit",
    "organization_id",
    "organization_name",
    "project_name",
]


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql(expr: Expr) -> str:
    match expr:
        case Field(name):
            return f"c.{name}"
        case Literal(value):
            return "NULL" if value is None else quote(value)
        case Setting(name):
            value = SETTINGS.get(name)
            return "NULL" if value is None else quote(value)
        case ProjectName(project_id):
            assert project_id == Field("project_id")
            return "p.name"
        case Coalesce(items):
            return f"COALESCE({', '.join(sql(item) for item in items)})"
        case Upper(item):
            return f"UPPER({sql(item)})"
        case UtcTime(seconds):
            return f"strftime('%Y-%m-%dT%H:%M:%SZ', {sql(seconds)}, 'unixepoch')"
        case MonthStart(seconds):
            return f"CAST(strftime('%s', {sql(seconds)}, 'unixepoch', 'start of month') AS INTEGER)"
        case NextMonthStart(seconds):
            return (
                f"CAST(strftime('%s', {sql(seconds)}, 'unixepoch', 'start of month', '+1 month')"
                " AS INTEGER)"
            )
        case UnitName(unit):
            cases = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in UNIT_NAMES.items())
            return f"CASE {sql(unit)} {cases} ELSE {sql(unit)} END"
        case OnlyWith(item, others):
            present = " AND ".join(f"{sql(other)} IS NOT NULL" for other in others)
            return f"CASE WHEN {present} THEN {sql(item)} END"
        case _:
            assert_never(expr)


def test_a_view_generated_from_the_column_table_gives_the_exported_rows(
    emulator_export: Export,
) -> None:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE costs ({', '.join(COSTS_FIELDS)})")
    db.execute("CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT)")
    db.executemany(
        "INSERT INTO projects VALUES (?, ?)", [(p.id, p.name) for p in ORGANIZATION.projects]
    )
    for bucket in emulator_export.buckets:
        for r in bucket.results:
            values = {
                "start_time": bucket.start_time,
                "end_time": bucket.end_time,
                "amount": str(r.amount.value),  # money as exact text: SQLite has no decimal
                "currency": r.amount.currency,
                "quantity": None if r.quantity is None else str(r.quantity),
                **{
                    name: getattr(r, name)
                    for name in COSTS_FIELDS
                    if name not in ("start_time", "end_time", "amount", "currency", "quantity")
                },
            }
            db.execute(
                f"INSERT INTO costs VALUES ({', '.join('?' * len(COSTS_FIELDS))})",
                [values[name] for name in COSTS_FIELDS],
            )
    select = ",\n  ".join(f'{sql(column.source)} AS "{column.name}"' for column in FOCUS_COLUMNS)
    db.execute(
        f"CREATE VIEW focus AS SELECT\n  {select}\n"
        "FROM costs AS c LEFT JOIN projects AS p ON p.id = c.project_id"
    )
    cursor = db.execute("SELECT * FROM focus ORDER BY rowid")
    names = [d[0] for d in cursor.description]
    assert names == [column.name for column in FOCUS_COLUMNS]
    viewed = cursor.fetchall()
    assert len(viewed) == len(emulator_export.rows)
    decimals = {column.name for column in FOCUS_COLUMNS if column.type == "Decimal"}
    for from_view, written in zip(viewed, emulator_export.rows, strict=True):
        for name, value in zip(names, from_view, strict=True):
            if value is None:
                assert written[name] == "", name
            elif name in decimals:
                assert Decimal(value) == Decimal(written[name]), name
            else:
                assert value == written[name], name
