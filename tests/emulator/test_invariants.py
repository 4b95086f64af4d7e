"""The data is consistent the way the real API's is, for any query (hypothesis properties):
grouping never changes a total, widths add up for any start, filters narrow consistently,
page size never changes the data, and costs are priced from usage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import usage_async as ua

from .conftest import DAY, MIDNIGHT, NOW, LiveEmulator, Query

USAGE = sorted(name for name, e in ua.ENDPOINTS.items() if not e.whole_days)
FLOWS = [name for name in USAGE if name != "vector_stores"]  # vector store bytes are a level
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any second in the two months before the pinned "now".
starts = st.integers(min_value=NOW - 60 * DAY, max_value=NOW - 2 * DAY)


FILTERED_FIELD = {
    "project_ids": "project_id",
    "user_ids": "user_id",
    "api_key_ids": "api_key_id",
    "models": "model",
    "sources": "source",
    "sizes": "size",
    "context_levels": "context_level",
    "vector_store_ids": "vector_store_id",
    "line_items": "line_item",
}


def metric_totals(rows: Iterable[dict[str, Any]], endpoint: str) -> dict[str, Decimal]:
    """Per numeric field, the sum over rows (costs: the amount)."""
    spec = ua.ENDPOINTS[endpoint]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if spec.whole_days:
            totals["amount"] += Decimal(repr(row["amount"]["value"]))
            continue
        for name, value in row.items():
            if name not in spec.group_by and name != "object":
                totals[name] += value
    return dict(totals)


def per_bucket(buckets: list[dict[str, Any]], endpoint: str) -> list[dict[str, Decimal]]:
    return [metric_totals(b["results"], endpoint) for b in buckets]


def window(start: int, width: str, count: int) -> Query:
    seconds = {"1m": 60, "1h": 3600, "1d": DAY}[width]
    return [
        ("start_time", str(start)),
        ("end_time", str(start + count * seconds)),
        ("bucket_width", width),
        ("limit", str(count)),
    ]


@given(
    endpoint=st.sampled_from([*USAGE, "costs"]),
    start=starts,
    width=st.sampled_from(["1h", "1d"]),
    data=st.data(),
)
@PROPERTY
def test_grouping_never_changes_a_bucket_total(
    live: LiveEmulator, endpoint: str, start: int, width: str, data: st.DataObject
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    width = "1d" if spec.whole_days else width
    group_by = data.draw(st.lists(st.sampled_from(spec.group_by), min_size=1, unique=True))
    query = window(start, width, 3)
    plain = live.buckets(endpoint, query)
    grouped = live.buckets(endpoint, [*query, *(("group_by[]", g) for g in group_by)])
    assert per_bucket(grouped, endpoint) == per_bucket(plain, endpoint)
    for bucket in grouped:
        keys = [tuple(row[g] for g in group_by) for row in bucket["results"]]
        assert len(keys) == len(set(keys)), "one row per combination of grouped values"


@given(endpoint=st.sampled_from(FLOWS), start=starts, fine=st.sampled_from(["1m", "1h"]))
@PROPERTY
def test_fine_buckets_add_up_to_the_coarse_bucket_for_any_start(
    live: LiveEmulator, endpoint: str, start: int, fine: str
) -> None:
    coarse, per = ("1h", 60) if fine == "1m" else ("1d", 24)
    whole = per_bucket(live.buckets(endpoint, window(start, coarse, 1)), endpoint)[0]
    parts = per_bucket(live.buckets(endpoint, window(start, fine, per)), endpoint)
    summed: dict[str, Decimal] = defaultdict(Decimal)
    for part in parts:
        for name, value in part.items():
            summed[name] += value
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in whole.items() if v}


@given(start=starts)
@PROPERTY
def test_vector_store_bytes_of_a_day_are_the_level_at_its_last_hour(
    live: LiveEmulator, start: int
) -> None:
    day = live.buckets("vector_stores", window(start, "1d", 1))
    hours = live.buckets("vector_stores", window(start, "1h", 24))
    assert day[0]["results"] == hours[-1]["results"]


@given(endpoint=st.sampled_from([*USAGE, "costs"]), start=starts, data=st.data())
@PROPERTY
def test_a_filter_keeps_exactly_the_rows_of_its_values(
    live: LiveEmulator, endpoint: str, start: int, data: st.DataObject
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    spec_filter = data.draw(st.sampled_from([f for f in spec.filters if f.kind == "strings"]))
    dimension = FILTERED_FIELD[spec_filter.name]
    query = window(start - start % DAY, "1d", 2)
    grouped = live.buckets(endpoint, [*query, ("group_by", dimension)])
    seen = sorted({row[dimension] for b in grouped for row in b["results"]} - {None})
    # Enumerated filters only take their choices; free ones any string, even an unknown ID.
    candidates = list(spec_filter.choices) or [*seen, "does-not-exist"]
    chosen = data.draw(st.lists(st.sampled_from(candidates), min_size=1, unique=True))
    filtered = live.buckets(
        endpoint, [*query, ("group_by", dimension), *((f"{spec_filter.name}[]", v) for v in chosen)]
    )
    for before, after in zip(grouped, filtered, strict=True):
        assert after["results"] == [r for r in before["results"] if r[dimension] in chosen]


@given(
    endpoint=st.sampled_from([*USAGE, "costs"]),
    start=st.integers(min_value=NOW - 60 * DAY, max_value=NOW - 11 * DAY),
    limits=st.tuples(st.integers(1, 7), st.integers(1, 7)),
)
@PROPERTY
def test_page_size_never_changes_the_buckets(
    live: LiveEmulator, endpoint: str, start: int, limits: tuple[int, int]
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    width = "1d" if spec.whole_days else "1h"
    base = [
        ("start_time", str(start)),
        ("end_time", str(start + 9 * (DAY if spec.whole_days else 3600))),
        ("bucket_width", width),
        ("group_by", spec.group_by[0]),
    ]
    first, second = (live.buckets(endpoint, [*base, ("limit", str(n))]) for n in limits)
    assert first == second
    assert len(first) in (9, 10)  # costs: one more day when start is not midnight


def test_same_seed_same_bytes_other_seed_other_numbers() -> None:
    from .conftest import pinned_clock, serve_in_thread

    query = [("start_time", str(MIDNIGHT - 5 * DAY)), ("group_by", "model")]
    bodies = []
    for seed in (0, 0, 1):
        server = serve_in_thread(seed=seed, api_key="sk-admin-seeds", now=pinned_clock)
        live = next(server)
        try:
            reply = live.get("completions", query, key="sk-admin-seeds")
            assert reply.status == 200
            bodies.append(reply.json())
        finally:
            server.close()
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]
    models = [{r["model"] for b in body["data"] for r in b["results"]} for body in bodies]
    assert models[0] == models[2], "the seed changes the numbers, not the organization"


# --- Costs are usage times prices ---------------------------------------------------------------

GPT_4O_MINI = "gpt-4o-mini-2024-07-18"
# The list price of gpt-4o-mini in dollars per token, which the emulator's line items use.
MINI_PRICES = {"input": Decimal("0.15") / 10**6, "output": Decimal("0.60") / 10**6}


@given(day=st.integers(min_value=2, max_value=60))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_costs_bill_exactly_the_tokens_that_usage_reports(live: LiveEmulator, day: int) -> None:
    start = MIDNIGHT - day * DAY
    query = [("start_time", str(start)), ("end_time", str(start + DAY))]
    # Chat models are billed for completions and decisions alike, on the same line items.
    tokens: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for endpoint in ("completions", "decisions"):
        for row in live.buckets(endpoint, [*query, ("group_by", "model")])[0]["results"]:
            tokens[row["model"]]["input"] += row["input_tokens"]
            tokens[row["model"]]["output"] += row["output_tokens"]
    costs = live.buckets("costs", [*query, ("group_by", "line_item")])[0]["results"]
    total_cost = live.buckets("costs", query)[0]["results"]
    by_line = {row["line_item"]: row for row in costs}
    assert tokens
    for model, used in tokens.items():
        lines = {k: v for k, v in by_line.items() if k.startswith(f"{model}, ")}
        billed_in = sum(v["quantity"] for k, v in lines.items() if k.endswith("input"))
        billed_out = sum(v["quantity"] for k, v in lines.items() if k.endswith("output"))
        assert (billed_in, billed_out) == (used["input"], used["output"])
        assert all(v["quantity_unit"] == "tokens" for v in lines.values())
    for kind, price in MINI_PRICES.items():
        row = by_line[f"{GPT_4O_MINI}, {kind}"]
        assert Decimal(repr(row["amount"]["value"])) == row["quantity"] * price
    assert sum(Decimal(repr(r["amount"]["value"])) for r in costs) == Decimal(
        repr(total_cost[0]["amount"]["value"])
    )
    assert {r["amount"]["currency"] for r in costs} == {"usd"}


# --- No metric without requests ---------------------------------------------------------------

PACED = [
    name
    for name in FLOWS
    if "num_model_requests" in attrs.fields_dict(ua.ENDPOINTS[name].result_type)
]
WIDE = {"1m": 1440, "1h": 168, "1d": 31}  # a day, a week, a month: one page each


@given(
    endpoint=st.sampled_from(PACED),
    start=starts,
    width=st.sampled_from(sorted(WIDE)),
    data=st.data(),
)
@PROPERTY
def test_no_bucket_of_any_width_and_start_has_a_metric_without_a_request(
    live: LiveEmulator, endpoint: str, start: int, width: str, data: st.DataObject
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    group_by = data.draw(st.lists(st.sampled_from(spec.group_by), unique=True))
    query = [*window(start, width, WIDE[width]), *(("group_by[]", g) for g in group_by)]
    for bucket in live.buckets(endpoint, query):
        for row in bucket["results"]:
            # A row is only there when something was measured; it must count a request.
            assert row["num_model_requests"] > 0, (bucket["start_time"], bucket["end_time"], row)
