"""FOCUS files: Parquet with typed columns, one file per billing month, never half a file."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import usage_async as ua
from usage_async.emulator import serve
from usage_async.focus import DECIMAL_SCALE, focus_number, parquet_schema
from usage_async.focus._writers import partial_months

from .conftest import (
    ACCOUNT,
    END,
    GROUP_BY,
    JAN_30,
    NOW,
    START,
    CostsServer,
    Export,
    Names,
    cost,
    read_csv,
)

Start = Callable[[Sequence[Sequence[dict[str, Any]]]], Any]


def files(directory: Path) -> list[str]:
    """Every file under ``directory`` (hidden ones too), relative, sorted."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


async def _emulator_export(output: Path, **options: Any) -> list[Path]:
    async with (
        serve(port=0, now=lambda: NOW) as emulator,
        ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client,
    ):
        costs = client.costs(start_time=START, end_time=END, group_by=GROUP_BY, concurrency=4)
        rows = ua.focus_rows(costs, directory=Names(), billing_account_id=ACCOUNT)
        return await ua.write_focus(rows, output, **options)


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "focus.parquet"
    assert asyncio.run(_emulator_export(path, format="parquet")) == [path]
    return path


def test_parquet_columns_are_typed_decimal_utc_timestamp_and_string(parquet_file: Path) -> None:
    schema = pq.read_schema(parquet_file)
    assert schema.names == list(ua.FocusRows.columns)
    assert schema.field("BilledCost").type == pa.decimal128(38, DECIMAL_SCALE)
    assert not schema.field("BilledCost").nullable
    assert schema.field("ConsumedQuantity").type == pa.decimal128(38, DECIMAL_SCALE)
    assert schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
    assert schema.field("SubAccountName").type == pa.string()
    assert schema.field("SubAccountName").nullable
    assert schema.metadata[b"FocusVersion"] == b"1.2"
    assert schema.metadata[b"DataGenerator"] == f"usage-async {ua.__version__}".encode()
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", schema.metadata[b"CreationDate"])


def _as_text(value: Any) -> str:
    """A Parquet cell as the CSV writes it: FOCUS numbers and dates, empty for null."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return focus_number(value)
    if isinstance(value, dt.datetime):
        assert value.utcoffset() == dt.timedelta(0)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert isinstance(value, str)
    return value


def test_parquet_holds_exactly_the_csv_values(parquet_file: Path, emulator_export: Export) -> None:
    table = pq.read_table(parquet_file).to_pylist()
    assert len(table) == len(emulator_export.rows)
    for typed, text in zip(table, emulator_export.rows, strict=True):
        # Every column, cell for cell.
        assert {name: _as_text(value) for name, value in typed.items()} == text
        assert typed["ChargeClass"] is None


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_a_directory_gets_one_hive_partition_per_billing_month(
    tmp_path: Path, fmt: str, emulator_export: Export
) -> None:
    written = await _emulator_export(tmp_path, format=fmt, partitioned=True)
    months = ["2025-12-01", "2026-01-01", "2026-02-01"]
    assert written == [tmp_path / f"BillingPeriodStart={m}" / f"focus.{fmt}" for m in months]
    assert files(tmp_path) == [f"BillingPeriodStart={m}/focus.{fmt}" for m in months]
    total = 0
    for month, path in zip(months, written, strict=True):
        if fmt == "csv":
            _, rows = read_csv(path.read_text())
            starts = {row["BillingPeriodStart"] for row in rows}
        else:
            rows = pq.read_table(path).to_pylist()
            starts = {row["BillingPeriodStart"].strftime("%Y-%m-%d") + "T00:00:00Z" for row in rows}
        assert starts == {f"{month}T00:00:00Z"}
        total += len(rows)
    assert total == len(emulator_export.rows)


async def test_a_partitioned_export_replaces_whole_months(
    tmp_path: Path, emulator_export: Export
) -> None:
    month = tmp_path / "BillingPeriodStart=2026-01-01" / "focus.csv"
    month.parent.mkdir()
    month.write_text("stale\n")
    await _emulator_export(tmp_path, partitioned=True)  # 2025-12-31 to 2026-03-01
    _, rows = read_csv(month.read_text())
    expected = [row for row in emulator_export.rows if row["BillingPeriodStart"][:7] == "2026-01"]
    assert rows == expected


async def test_a_month_file_is_not_replaced_by_part_of_the_month_unless_asked(
    tmp_path: Path, costs_server: Start
) -> None:
    month = tmp_path / "BillingPeriodStart=2026-01-01" / "focus.csv"
    month.parent.mkdir()
    month.write_text("the whole of January\n")
    server = await costs_server([[cost("1", line_item="a")], [cost("2", line_item="a")]])
    # From January 30th: the January file would lose the 1st to the 29th.
    with pytest.raises(ua.InvalidParameterError, match="2026-01-30 to the month's end") as refused:
        await _server_export(server, tmp_path, partitioned=True)
    assert refused.value.param == "partial"
    assert "partial=True" in str(refused.value)
    assert month.read_text() == "the whole of January\n"
    assert server.requests == 0
    await _server_export(server, tmp_path, partitioned=True, partial=True)
    _, rows = read_csv(month.read_text())
    assert [row["BilledCost"] for row in rows] == ["1", "2"]


async def test_a_resumed_stream_is_the_part_of_the_month_it_has_left(tmp_path: Path) -> None:
    """A stream resumed from a checkpoint yields from where it stood, not from its start:
    an export interrupted on January 21st and resumed would write January from the 21st."""
    jan_1 = START + 86400
    async with (
        serve(port=0, now=lambda: NOW) as emulator,
        ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client,
    ):
        params: dict[str, Any] = {"start_time": jan_1, "end_time": END, "group_by": GROUP_BY}
        whole = ua.focus_rows(client.costs(**params), billing_account_id=ACCOUNT)
        await ua.write_focus(whole, tmp_path, partitioned=True)
        january = tmp_path / "BillingPeriodStart=2026-01-01" / "focus.csv"
        kept = january.read_text()
        interrupted = client.costs(**params, limit=7)
        async for bucket in interrupted:
            if bucket.end_time == jan_1 + 20 * 86400:
                break
        resumed = ua.focus_rows(client.resume(interrupted.checkpoint()), billing_account_id=ACCOUNT)
        with pytest.raises(ua.InvalidParameterError, match="2026-01-21 to the month's end"):
            await ua.write_focus(resumed, tmp_path, partitioned=True)
    assert january.read_text() == kept


@pytest.mark.parametrize(("existing", "written"), [("parquet", "csv"), ("csv", "parquet")])
async def test_part_of_a_month_is_not_written_beside_the_months_file_of_the_other_format(
    tmp_path: Path, costs_server: Start, existing: str, written: str
) -> None:
    month = tmp_path / "BillingPeriodStart=2026-01-01"
    month.mkdir()
    (month / f"focus.{existing}").write_text("the whole of January\n")
    server = await costs_server([[cost("1", line_item="a")], [cost("2", line_item="a")]])
    with pytest.raises(ua.InvalidParameterError, match="2026-01-30 to the month's end") as refused:
        await _server_export(server, tmp_path, partitioned=True, format=written)
    assert refused.value.param == "partial"
    assert f"focus.{written} would hold 2026-01-30 to the month's end only, beside " in str(
        refused.value
    )
    assert str(month / f"focus.{existing}") in str(refused.value)
    assert sorted(p.name for p in month.iterdir()) == [f"focus.{existing}"]
    assert server.requests == 0


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        ("2026-01-01", "2026-03-01", []),
        ("2026-01-01", None, []),  # the month so far
        (
            "2026-01-30",
            "2026-02-03",
            [("2026-01", "2026-01-30", None), ("2026-02", "2026-02-01", "2026-02-03")],
        ),
        ("2026-01-05T13:00", "2026-01-20", [("2026-01", "2026-01-05", "2026-01-20")]),
        ("2025-12-31", "2026-01-01", [("2025-12", "2025-12-31", None)]),
    ],
)
def test_partial_months_are_the_ends_of_a_range_off_a_months_first_day(
    start: str, end: str | None, parts: list[tuple[str, str, str | None]]
) -> None:
    def seconds(day: str) -> int:
        return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())

    found = partial_months(seconds(start), None if end is None else seconds(end))
    assert [(m.month[:7], m.start[:10], m.end and m.end[:10]) for m in found] == parts


async def _server_export(server: CostsServer, output: Any, **options: Any) -> list[Path]:
    async with ua.UsageClient(server.key, base_url=server.base_url) as client:
        rows = ua.focus_rows(client.costs(start_time=JAN_30), billing_account_id="org-1")
        return await ua.write_focus(rows, output, **options)


async def test_a_failed_export_leaves_no_file_behind(tmp_path: Path, costs_server: Start) -> None:
    # The pull fails after the first day was written.
    server = await costs_server([[cost("1", line_item="a")], [cost("2", line_item="a")]])
    target = tmp_path / "focus.csv"
    async with ua.UsageClient(server.key, base_url=server.base_url) as client:

        async def first_day_then_a_failure() -> AsyncIterator[ua.Bucket[ua.CostsResult]]:
            async for bucket in client.costs(start_time=JAN_30):
                yield bucket
                raise ua.APIConnectionError("the network went away")

        rows = ua.focus_rows(first_day_then_a_failure(), billing_account_id="org-1")
        with pytest.raises(ua.APIConnectionError):
            await ua.write_focus(rows, target)
    assert files(tmp_path) == []


async def test_a_value_parquet_cannot_hold_exactly_stops_the_export_with_a_clear_error(
    tmp_path: Path, costs_server: Start
) -> None:
    server = await costs_server([[cost("1E-30", line_item="a")]])
    with pytest.raises(ua.FocusExportError, match=r"BilledCost .*export CSV"):
        await _server_export(server, tmp_path / "focus.parquet", format="parquet")
    assert files(tmp_path) == []
    await _server_export(server, tmp_path / "focus.csv")
    _, rows = read_csv((tmp_path / "focus.csv").read_text())
    assert rows[0]["BilledCost"] == "0." + "0" * 29 + "1"


async def test_an_empty_range_gives_a_header_only_file(tmp_path: Path, costs_server: Start) -> None:
    server = await costs_server([[]])
    assert await _server_export(server, tmp_path / "focus.csv") == [tmp_path / "focus.csv"]
    assert next(csv.reader(io.StringIO((tmp_path / "focus.csv").read_text()))) == list(
        ua.FocusRows.columns
    )
    assert await _server_export(server, tmp_path / "parts", partitioned=True) == []


async def test_parquet_without_pyarrow_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, costs_server: Start, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    server = await costs_server([[cost("1", line_item="a")]])
    with pytest.raises(ModuleNotFoundError, match=r"usage-async\[parquet\]"):
        await _server_export(server, tmp_path / "focus.parquet", format="parquet")
    assert server.requests == 0
    with pytest.raises(ModuleNotFoundError, match=r"usage-async\[parquet\]"):
        parquet_schema()


async def test_bad_writer_arguments_are_refused_before_fetching(costs_server: Start) -> None:
    server = await costs_server([[cost("1", line_item="a")]])
    with pytest.raises(ua.InvalidParameterError, match="format"):
        await _server_export(server, io.StringIO(), format="xlsx")
    with pytest.raises(ua.InvalidParameterError, match="directory"):
        await _server_export(server, io.StringIO(), partitioned=True)
    assert server.requests == 0


async def test_parquet_streams_to_an_open_binary_file_like_a_pipe(costs_server: Start) -> None:
    server = await costs_server([[cost("1.5", line_item="a")], [cost("2", line_item="b")]])
    pipe = io.BytesIO()
    assert await _server_export(server, pipe, format="parquet") == []
    table = pq.read_table(io.BytesIO(pipe.getvalue())).to_pylist()
    assert [(row["SkuId"], row["BilledCost"]) for row in table] == [
        ("a", Decimal("1.5")),
        ("b", Decimal(2)),
    ]
