"""FinOps export: OpenAI costs as FOCUS 1.2 rows and files.

    import usage_async as ua

    async with ua.UsageClient() as client:
        costs = client.costs(start_time=..., group_by=["line_item", "project_id"])
        rows = ua.focus_rows(costs, directory=await client.directory())
        await ua.write_focus(rows, "focus/", format="parquet", partitioned=True)
        print(rows.summary.gaps, rows.summary.unknown)

``FOCUS_COLUMNS`` is the one table of the mapping (FOCUS column, how it is computed, type,
nullability); its source expressions (``Field``, ``Coalesce``, ``UtcTime``, ...) are exported
here so that a database view can be generated from the same table. The command line's
``usage-async focus`` lives in ``usage_async.cli``.

Layer: a library over the core; never cli, sync or emulator.
"""

from ._columns import (
    FOCUS_COLUMNS,
    FOCUS_VERSION,
    UNIT_NAMES,
    Coalesce,
    Expr,
    Field,
    FocusColumn,
    Literal,
    MonthStart,
    NextMonthStart,
    OnlyWith,
    ProjectName,
    Setting,
    UnitName,
    Upper,
    UtcTime,
    focus_number,
    focus_unit,
)
from ._rows import BilledKey, FocusRows, FocusSummary, ProjectDirectory, focus_rows
from ._writers import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    FORMATS,
    FocusExportError,
    parquet_schema,
    write_focus,
)

__all__ = [
    "DECIMAL_PRECISION",
    "DECIMAL_SCALE",
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "FORMATS",
    "UNIT_NAMES",
    "BilledKey",
    "Coalesce",
    "Expr",
    "Field",
    "FocusColumn",
    "FocusExportError",
    "FocusRows",
    "FocusSummary",
    "Literal",
    "MonthStart",
    "NextMonthStart",
    "OnlyWith",
    "ProjectDirectory",
    "ProjectName",
    "Setting",
    "UnitName",
    "Upper",
    "UtcTime",
    "focus_number",
    "focus_rows",
    "focus_unit",
    "parquet_schema",
    "write_focus",
]
