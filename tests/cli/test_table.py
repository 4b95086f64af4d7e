"""The table format: columns chosen for the width, cells written for reading.

``plan_table`` is tested on made-up rows without a terminal; the installed script is then run
in a pseudo-terminal 80 columns wide, as a person would see it.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console

import usage_async as ua
from usage_async._protocol import Query, validate
from usage_async._time import iso_utc
from usage_async.cli._table import TablePlan, plan_table, render_table
from usage_async.emulator import Emulator

from .conftest import (
    END,
    END_TS,
    START,
    START_TS,
    console_script,
    in_terminal,
    library_rows,
    library_totals,
    user_environment,
)

DAY = 86400
NOW = 1_794_000_000  # 2026-11-06T21:20:00Z
LONG_MODEL = "gpt-4o-audio-preview-2024-12-17"


def iso(seconds: int) -> str:
    return iso_utc(seconds)


def query(endpoint: str, **params: Any) -> Query:
    return validate(ua.ENDPOINTS[endpoint], {"start_time": NOW - 3 * DAY, **params})


def completions_rows(models: Sequence[str], days: int = 2, **metrics: int) -> list[dict[str, Any]]:
    first = NOW - NOW % DAY - (days - 1) * DAY
    fields = ua.row_fields(ua.CompletionsResult, ["model"])
    rows = []
    for day in range(days):
        for n, model in enumerate(models):
            row: dict[str, Any] = dict.fromkeys(fields, 0)
            row.update(
                start_time=iso(first + day * DAY),
                end_time=iso(first + (day + 1) * DAY),
                model=model,
                input_tokens=123_456_789 + n,
                output_tokens=9_876_543,
                num_model_requests=45_678,
                input_cached_tokens=1_000_000,
                **metrics,
            )
            rows.append(row)
    return rows


def shown(plan: TablePlan) -> list[str]:
    return [column.field for column in plan.columns]


def rendered(plan: TablePlan, width: int = 80) -> str:
    out = io.StringIO()
    render_table(plan, Console(file=out, width=width, color_system=None))
    return out.getvalue()


def test_daily_buckets_show_the_date_alone_and_no_end_time() -> None:
    rows = completions_rows(["gpt-4o-mini"])
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=None)
    assert "end_time" not in shown(plan)
    assert plan.columns[0].cells[0] == "2026-11-05"


def test_hourly_buckets_show_hours_and_minutes() -> None:
    start = NOW - NOW % 3600 - 7200
    rows = [
        {"start_time": iso(start), "end_time": iso(start + 3600), "usage_bytes": 10},
        {"start_time": iso(start + 3600), "end_time": iso(start + 7200), "usage_bytes": 10},
    ]
    plan = plan_table(rows, query("vector_stores", bucket_width="1h"), now=NOW, width=None)
    assert plan.columns[0].cells == ("2026-11-06 19:00", "2026-11-06 20:00")


def test_buckets_that_start_off_the_minute_show_their_seconds() -> None:
    # --start 12:00:30 --bucket-width 1m: every bucket starts 30 s past a minute.
    start = NOW - 7200 + 30
    rows = [
        {
            "start_time": iso(start + n * 60),
            "end_time": iso(start + (n + 1) * 60),
            "input_tokens": 1,
        }
        for n in range(2)
    ]
    plan = plan_table(rows, query("completions", bucket_width="1m"), now=NOW, width=None)
    assert plan.columns[0].cells == ("2026-11-06 19:20:30", "2026-11-06 19:21:30")


def test_the_bucket_in_progress_is_starred_and_explained_beneath() -> None:
    rows = completions_rows(["gpt-4o-mini"], days=3)  # the last day is today, not over
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=None)
    assert [cell[-1] == "*" for cell in plan.columns[0].cells] == [False, False, True]
    assert "* in progress" in plan.notes


def test_at_80_columns_model_names_stay_whole_and_metrics_give_way() -> None:
    rows = completions_rows([LONG_MODEL, "gpt-4o-mini-2024-07-18"])
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=80)
    assert plan.width <= 80
    assert shown(plan)[:4] == ["start_time", "model", "input_tokens", "output_tokens"]
    assert LONG_MODEL in plan.columns[1].cells
    assert plan.hidden[:2] == ("num_model_requests", "input_cached_tokens")
    [note] = [n for n in plan.notes if n.startswith("Not shown")]
    assert "to fit 80 columns: num_model_requests, input_cached_tokens" in note
    assert "--columns start_time,model,num_model_requests" in note
    text = rendered(plan)
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert sum(f" {LONG_MODEL} " in line for line in text.splitlines()) == 2


def test_metrics_that_are_zero_in_every_row_give_way_first_and_are_only_counted() -> None:
    rows = completions_rows(["m1"])
    fields = ua.row_fields(ua.CompletionsResult, ["model"])
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=80)
    zero = [f for f in fields if all(row[f] == 0 for row in rows)]
    assert zero, "the made-up rows have all-zero metrics"
    assert not set(zero) & set(shown(plan))
    assert not set(zero) & set(plan.hidden)
    assert plan.hidden_zero == len(zero)


def test_every_metric_shows_when_there_is_no_terminal_to_fit() -> None:
    rows = completions_rows([LONG_MODEL])
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=None)
    assert plan.hidden == ()
    assert "num_model_requests" in shown(plan)
    assert "output_image_tokens" in shown(plan)  # zero, but there is room


def test_identifiers_that_alone_exceed_the_width_are_kept_whole_with_one_metric() -> None:
    ids = {
        "vector_store_id": "vs_" + "v" * 24,
        "project_id": "proj_" + "p" * 24,
        "user_id": "user-" + "u" * 24,
        "api_key_id": "key_" + "k" * 16,
    }
    rows = [{"start_time": iso(NOW - DAY), "end_time": iso(NOW), **ids, "num_requests": 12}]
    q = query("file_search_calls", group_by=list(ids))
    plan = plan_table(rows, q, now=NOW, width=80)
    assert shown(plan) == ["start_time", *ids, "num_requests"]
    assert plan.width > 80
    assert any(note.startswith("Wider than 80 columns") for note in plan.notes)
    text = rendered(plan)
    for value in ids.values():
        assert value in text


def test_columns_shows_exactly_those_in_that_order_however_wide() -> None:
    rows = completions_rows([LONG_MODEL])
    q = query("completions", group_by=["model"])
    wanted = ["output_image_tokens", "model", "end_time", "input_audio_tokens"]
    plan = plan_table(rows, q, now=NOW, width=20, columns=wanted)
    assert shown(plan) == wanted
    assert plan.hidden == ()


def cost_rows(amounts: Sequence[str], quantities: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "start_time": iso(NOW - NOW % DAY - DAY),
            "end_time": iso(NOW - NOW % DAY),
            "line_item": f"item {n}",
            "amount": Decimal(amount),
            "currency": "usd",
            "quantity": quantity,
            "quantity_unit": "tokens",
        }
        for n, (amount, quantity) in enumerate(zip(amounts, quantities, strict=True))
    ]


def test_money_is_rounded_to_cents_in_its_currency_and_aligned_on_the_point() -> None:
    rows = cost_rows(
        ["54.24040527", "539.2223614", "1234.005", "0.000004500000000000000000000000000000000"],
        [Decimal("1702952"), Decimal("0.5"), 3, None],
    )
    plan = plan_table(rows, query("costs", group_by=["line_item"]), now=NOW, width=None)
    amount = next(c for c in plan.columns if c.field == "amount")
    assert amount.cells == ("54.24 USD", "539.22 USD", "1,234.00 USD", "<0.01 USD")
    quantity = next(c for c in plan.columns if c.field == "quantity")
    assert quantity.cells == ("1,702,952.0", "0.5", "3.0", "")
    assert "currency" not in shown(plan)
    lines = [line for line in rendered(plan).splitlines() if "USD" in line]
    assert len({line.index(" USD") for line in lines}) == 1, "amounts are not aligned"


def test_a_quantity_is_never_shown_without_its_unit() -> None:
    rows = cost_rows(["1.5"], [Decimal("1702952")])
    q = query("costs", group_by=["line_item"])
    narrow = plan_table(rows, q, now=NOW, width=len("2026-11-05   item 0   1.50 USD   1,702,952"))
    assert "quantity" not in shown(narrow)
    assert "quantity_unit" not in shown(narrow)
    wide = plan_table(rows, q, now=NOW, width=None)
    assert {"quantity", "quantity_unit"} <= set(shown(wide))


# --- The total row --------------------------------------------------------------------------


def column(plan: TablePlan, field: str) -> Any:
    return next(c for c in plan.columns if c.field == field)


def test_money_totals_are_exact_and_said_per_currency() -> None:
    # Summed in Decimal's default 28 digits, the first two would round to 0.005000... and
    # then to 0.00: exactly, they are a hair over half a cent.
    rows = cost_rows(
        ["0.0049999999999999999999999999999", "0.0000000000000000000000000000002", "7"],
        [1, 2, 3],
    )
    rows[2]["currency"] = "eur"
    plan = plan_table(rows, query("costs", group_by=["line_item"]), now=NOW, width=None)
    assert column(plan, "amount").total == ("0.01 USD", "7.00 EUR")
    assert column(plan, "start_time").total == ("total", "total")
    text = rendered(plan)
    assert re.search(r"^total +0\.01 USD", text, re.MULTILINE)
    assert re.search(r"^total +7\.00 EUR", text, re.MULTILINE)


def test_a_quantity_adds_up_only_within_one_unit() -> None:
    same = cost_rows(["1", "2"], [Decimal("1.5"), 2])
    mixed = [*same, {**same[0], "line_item": "item 9", "quantity_unit": "characters"}]
    q = query("costs", group_by=["line_item"])
    together = plan_table(same, q, now=NOW, width=None)
    assert column(together, "quantity").total == ("3.5",)
    assert column(together, "quantity_unit").total == ("tokens",)
    apart = plan_table(mixed, q, now=NOW, width=None)
    assert column(apart, "quantity").total == ()
    assert column(apart, "amount").total == ("4.00 USD",)


def test_usage_metrics_add_up_and_levels_do_not() -> None:
    rows = completions_rows(["a", "b"])
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=None)
    assert column(plan, "input_tokens").total == (f"{sum(r['input_tokens'] for r in rows):,}",)
    assert column(plan, "model").total == ()
    start = NOW - NOW % DAY - DAY
    levels = [
        {"start_time": iso(start + n * DAY), "end_time": iso(start + (n + 1) * DAY),
         "usage_bytes": 10}
        for n in range(2)
    ]  # fmt: skip
    stored = plan_table(levels, query("vector_stores"), now=NOW, width=None)
    assert all(c.total == () for c in stored.columns)
    assert "total" not in rendered(stored)


def test_a_table_of_one_row_has_no_total_row() -> None:
    plan = plan_table(cost_rows(["1.5"], [1]), query("costs"), now=NOW, width=None)
    assert all(c.total == () for c in plan.columns)


def test_on_a_terminal_the_costs_total_is_the_librarys(emulator: Emulator) -> None:
    screen = in_terminal(
        emulator, "costs", "--start", START, "--end", END, "--group-by", "project_id"
    )
    [(_, sums)] = library_totals(
        emulator, "costs", start_time=START_TS, end_time=END_TS, bucket_width="1d"
    ).items()
    total = Decimal(sums["amount"]).quantize(Decimal("0.01"))
    [line] = [line for line in screen.splitlines() if line.startswith("total")]
    assert line.split()[1:] == [f"{total:,}", "USD"]


def test_machine_formats_carry_rows_only(emulator: Emulator) -> None:
    rows = library_rows(emulator, "costs", start_time=START_TS, end_time=END_TS)
    done = subprocess.run(
        [console_script(), "costs", "--start", START, "--end", END, "--format", "csv"],
        env=user_environment(emulator), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert len(done.stdout.splitlines()) == 1 + len(rows)
    assert "total" not in done.stdout


# --- The installed script in a terminal (in_terminal skips where there is no pty) ------------


def test_on_an_80_column_terminal_every_embedding_row_can_be_told_apart(
    emulator: Emulator,
) -> None:
    screen = in_terminal(
        emulator, "embeddings", "--start", START, "--end", END, "--group-by", "model"
    )
    lines = screen.splitlines()
    assert lines[0] == "embeddings: daily buckets, UTC"
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in screen
    rows = [line for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]
    keys = [tuple(line.split()[:2]) for line in rows]
    assert len(keys) == len(set(keys)) > 3
    assert {model for _, model in keys} >= {"text-embedding-3-small", "text-embedding-3-large"}


def test_on_an_80_column_terminal_completions_by_model_says_what_it_left_out(
    emulator: Emulator,
) -> None:
    screen = in_terminal(
        emulator, "completions", "--start", START, "--end", END, "--group-by", "model"
    )
    assert all(len(line) <= 80 for line in screen.splitlines())
    assert "…" not in screen
    assert "Not shown, to fit 80 columns: num_model_requests" in screen
    assert "--columns start_time,model,num_model_requests" in " ".join(screen.split())
    assert LONG_MODEL in screen


def test_on_a_terminal_costs_line_up_on_the_cent(emulator: Emulator) -> None:
    screen = in_terminal(
        emulator, "costs", "--start", START, "--end", END, "--group-by", "line_item"
    )
    lines = [line for line in screen.splitlines() if " USD" in line]
    assert len(lines) > 10
    assert len({line.index(" USD") for line in lines}) == 1
    assert all(re.search(r"\d\.\d\d USD", line) for line in lines)


def test_on_an_80_column_terminal_a_table_still_too_wide_says_so_beside_what_it_left_out(
    emulator: Emulator,
) -> None:
    # Project names and line items are never cut: with every metric but the amount left out,
    # the lines are still wider than 80 columns, and the reader must be told both.
    screen = in_terminal(
        emulator, "costs", "--start", "2026-11-01", "--end", "2026-12-01",
        "--group-by", "project_id,line_item",
    )  # fmt: skip
    lines = screen.splitlines()
    assert max(len(line) for line in lines) > 80
    notes = " ".join(" ".join(lines[-4:]).split())
    assert "Not shown, to fit 80 columns: quantity, quantity_unit" in notes
    assert "Wider than 80 columns, since identifiers are never cut" in notes


def test_a_note_says_when_lines_are_wider_than_the_terminal_whatever_else_it_says() -> None:
    rows = completions_rows([LONG_MODEL + "-with-a-very-long-fine-tuned-suffix-of-its-own"])
    plan = plan_table(rows, query("completions", group_by=["model"]), now=NOW, width=80)
    assert plan.hidden  # metrics were left out...
    assert plan.width > 80  # ...and the identifiers alone are still too wide
    assert any(note.startswith("Wider than 80 columns") for note in plan.notes)


# --- Names standing in for IDs ---------------------------------------------------------------

A, B, C = "proj_" + "a" * 24, "proj_" + "b" * 24, "proj_" + "c" * 24


def named_cost_rows(projects: Sequence[tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    return [
        {**cost_rows(["1.5"], [None])[0], "project_id": ident, "project_name": name}
        for ident, name in projects
    ]


def test_a_name_stands_in_for_its_id_and_the_id_is_shown_where_the_name_is_unknown() -> None:
    rows = named_cost_rows([(A, "Voice"), (B, None), (None, None)])
    plan = plan_table(rows, query("costs", group_by=["project_id"]), now=NOW, width=80)
    assert shown(plan)[:2] == ["start_time", "project_name"]
    assert plan.columns[1].cells == ("Voice", B, "(none)")
    assert "An ID is shown where its name is unknown." in plan.notes


def test_a_name_two_projects_share_is_followed_by_the_id_so_rows_stay_apart() -> None:
    rows = named_cost_rows([(A, "Voice"), (B, "Voice"), (C, "Docs")])
    plan = plan_table(rows, query("costs", group_by=["project_id"]), now=NOW, width=80)
    assert plan.columns[1].cells == (f"Voice ({A})", f"Voice ({B})", "Docs")
    assert "A name that more than one ID carries is followed by the ID." in plan.notes


def test_a_name_shared_in_the_directory_is_followed_by_its_id_even_on_one_row() -> None:
    rows = named_cost_rows([(A, "Voice")])
    q = query("costs", group_by=["project_id"])
    alone = plan_table(rows, q, now=NOW, width=80)
    shared = plan_table(rows, q, now=NOW, width=80, shared={"project_name": {"Voice"}})
    assert alone.columns[1].cells == ("Voice",)
    assert shared.columns[1].cells == (f"Voice ({A})",)


def test_rows_without_names_show_the_id_column() -> None:
    rows = named_cost_rows([(A, None), (B, None)])
    plan = plan_table(rows, query("costs", group_by=["project_id"]), now=NOW, width=80)
    assert shown(plan)[:2] == ["start_time", "project_id"]
    assert plan.columns[1].cells == (A, B)
    assert not any("name" in note for note in plan.notes)


def test_asked_for_beside_its_id_a_name_is_shown_as_it_is() -> None:
    rows = named_cost_rows([(A, "Voice"), (B, None)])
    q = query("costs", group_by=["project_id"])
    plan = plan_table(rows, q, now=NOW, width=80, columns=["project_id", "project_name"])
    assert [c.cells for c in plan.columns] == [(A, B), ("Voice", "")]
