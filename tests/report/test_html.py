"""``render_html``: what a reader of the page sees, parsed as a browser's tokenizer reads it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

import usage_async as ua
from usage_async.report import (
    BudgetStatus,
    Chargeback,
    CostCell,
    EndpointUsage,
    RankedCost,
    collect,
    render_html,
)

from .conftest import EMULATOR_NOW
from .ledger import MULLER_NAME, NOW, ORGANIZATION, SCRIPT_NAME, utc
from .page import Page, Table, cents_of

DAY = 86400
GENERATED = NOW + 300
OKABE_ITO = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442"}


def rendered(chargeback: Chargeback, **options: object) -> tuple[str, Page]:
    html = render_html(chargeback, generated_at=GENERATED, **options)  # type: ignore[arg-type]
    return html, Page.of(html)


def made(
    cells: list[CostCell], days: int, start: str = "2026-01-01", **fields: object
) -> Chargeback:
    """A chargeback of hand-made cells over ``days`` days from ``start``."""
    first = utc(start)
    defaults: dict[str, object] = {
        "start": first,
        "end": first + days * DAY,
        "server_time": first + (days + 10) * DAY,
        "provisional_from": first + (days + 8) * DAY,
        "days": tuple(first + i * DAY for i in range(days)),
        "costs": tuple(cells),
        "project_labels": {},
        "usage": {},
    }
    return Chargeback(**{**defaults, **fields})  # type: ignore[arg-type]


def money_column(table: Table, part: str = "tbody", column: int = 1) -> list[int]:
    return [cents_of(row.cells[column]) for row in table.part(part)]


def assert_every_table_adds_up(page: Page) -> None:
    """Each money table's rows add up to its total row, in the cents it shows."""
    for table in page.tables_of("chargeback"):
        total = money_column(table, "tfoot")[0]
        projects = [row for row in table.part("tbody") if "project" in row.classes]
        assert sum(cents_of(row.cells[1]) for row in projects) == total
        current: list[int] = []
        shown = 0
        for row in table.part("tbody"):
            if "project" in row.classes:
                assert sum(current) == shown
                current, shown = [], cents_of(row.cells[1])
            else:
                current.append(cents_of(row.cells[1]))
        assert sum(current) == shown
    for kind in ("line-items", "ranking"):
        for table in page.tables_of(kind):
            assert sum(money_column(table)) == money_column(table, "tfoot")[0]
    for table in page.tables_of("days"):
        totals = money_column(table, column=-1)
        for row, total in zip(table.part("tbody"), totals, strict=True):
            assert sum(cents_of(cell) for cell in row.cells[1:-1]) == total
        assert sum(totals) == money_column(table, "tfoot", column=-1)[0]


async def test_every_table_adds_up_exactly_in_the_cents_it_shows(chargeback: Chargeback) -> None:
    html, page = rendered(chargeback)
    assert_every_table_adds_up(page)
    (table,) = page.tables_of("chargeback")
    assert money_column(table, "tfoot") == [131087]  # 1310.8745 to the cent
    assert '<span class="amount">1,310.87</span>' in html


async def test_three_half_cents_show_as_the_cent_and_a_half_they_add_up_to(
    chargeback: Chargeback,
) -> None:
    _, page = rendered(chargeback)
    (table,) = page.tables_of("chargeback")
    rows = [row.cells[:2] for row in table.part("tbody")]
    tiny = rows.index(["Tiny", "0.01"])
    # Each rounded alone would show 0.01 three times (0.03) under a total of 0.01.
    assert [cells[1] for cells in rows[tiny + 1 : tiny + 4]] == ["0.01", "0.00", "0.00"]


async def test_every_amount_shown_is_within_a_cent_of_its_exact_amount(
    chargeback: Chargeback,
) -> None:
    _, page = rendered(chargeback)
    (table,) = page.tables_of("chargeback")
    shown = {
        row.cells[0]: cents_of(row.cells[1])
        for row in table.part("tbody")
        if "project" in row.classes
    }
    for project in chargeback.projects("usd"):
        assert abs(shown[project.label] - project.total * 100) < 1


async def test_names_from_the_api_are_text_never_markup(chargeback: Chargeback) -> None:
    html, page = rendered(chargeback)
    assert "<script" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Müller &amp; &quot;Sons&quot;" in html
    assert {tag for tag, _ in page.tags}.isdisjoint({"script", "b"})
    for name in (SCRIPT_NAME, MULLER_NAME, ORGANIZATION):
        assert name in page.text


# Tags and attributes that make a browser fetch something, or run something.
FETCHING_TAGS = {
    "script",
    "link",
    "img",
    "iframe",
    "object",
    "embed",
    "base",
    "form",
    "audio",
    "video",
    "source",
    "image",
    "use",
    "frame",
    "picture",
    "track",
}
FETCHING_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "srcset",
    "action",
    "data",
    "poster",
    "background",
    "xmlns",
    "formaction",
    "ping",
}


async def test_the_page_refers_to_nothing_outside_itself(chargeback: Chargeback) -> None:
    budget = BudgetStatus("Team", "10", "20", "usd", forecast="30")
    html, page = rendered(chargeback, budgets=[budget])
    for tag, attributes in page.tags:
        assert tag not in FETCHING_TAGS, tag
        assert not FETCHING_ATTRIBUTES & set(attributes), (tag, attributes)
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
    assert "url(" not in html
    assert "@import" not in html
    # The ledger's data holds no address, so none may appear at all.
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE)
    policy = [a for tag, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy
    assert policy[0]["content"] == "default-src 'none'; style-src 'unsafe-inline'"


async def test_every_chart_has_a_title_a_label_and_a_table_of_its_numbers(
    chargeback: Chargeback,
) -> None:
    budget = BudgetStatus("Team", "10", "20", "usd")
    html, page = rendered(chargeback, budgets=[budget])
    charts = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert len(charts) == 2  # the days, the budget
    for chart in charts:
        assert re.match(r'<svg[^>]* role="img" aria-label="[^"]+"', chart)
        assert "<title>" in chart
    assert len(page.tables_of("days")) == 1
    # Each bar segment says its day, its project and its amount.
    assert "<title>2025-12-03 · Müller &amp; &quot;Sons&quot;: 1,000.01 USD</title>" in html


async def test_the_chart_uses_the_okabe_ito_palette(chargeback: Chargeback) -> None:
    html, _ = rendered(chargeback)
    (chart,) = re.findall(r'<svg[^>]*class="chart".*?</svg>', html, re.DOTALL)
    fills = set(re.findall(r'<rect [^>]*fill="(#[0-9A-F]{6})"', chart)) - {"#1A1A1A"}
    assert fills
    assert fills <= OKABE_ITO


async def test_provisional_days_are_shaded_in_the_chart_and_marked_in_the_table(
    chargeback: Chargeback,
) -> None:
    html, page = rendered(chargeback)
    (days,) = page.tables_of("days")
    marked = [row.cells[0] for row in days.part("tbody") if "provisional" in row.classes]
    assert marked == [f"2025-12-{d} provisional" for d in ("08", "09", "10")]
    assert ">provisional</text>" in html
    assert "Costs from 2025-12-08 on are provisional" in page.text


async def test_a_day_without_costs_shows_a_dash_and_a_tiny_cost_shows_zero_cents(
    chargeback: Chargeback,
) -> None:
    _, page = rendered(chargeback)
    (days,) = page.tables_of("days")
    rows = {row.cells[0]: row.cells for row in days.part("tbody")}
    assert rows["2025-12-08 provisional"][-1] == "0.00"  # a day, no cost: its total is 0.00
    assert set(rows["2025-12-08 provisional"][1:-1]) == {"\u2013"}
    header = days.part("thead")[0].cells
    evil = header.index(SCRIPT_NAME)
    assert rows["2025-12-02"][evil] == "0.00"  # 0.0045: a cost, under half a cent


async def test_the_header_says_whose_report_which_period_and_when(
    chargeback: Chargeback,
) -> None:
    _, page = rendered(chargeback)
    assert f"Chargeback report — {ORGANIZATION}" in page.text
    assert "2025-12-01 00:00 UTC to 2025-12-11 00:00 UTC" in page.text
    assert "Generated 2025-12-10 12:05 UTC" in page.text
    _, named = rendered(chargeback, organization="Finance view")
    assert "Chargeback report — Finance view" in named.text


async def test_users_and_keys_are_ranked_and_days_before_key_grouping_are_shown_apart(
    chargeback: Chargeback,
) -> None:
    _, page = rendered(chargeback)
    users, keys = page.tables_of("ranking")
    assert [row.cells[:2] for row in users.part("tbody")] == [
        ["bob@example.com", "1,002.26"],
        ["ann@example.com", "201.12"],  # 201.125, a half cent given to bob's .2595
        ["(no user)", "107.49"],
    ]
    assert [row.cells[0] for row in keys.part("tbody")] == [
        "(no API key)",
        "checkout key",
        "batch key",
        "before 2025-12-06 (the API attributes no costs to keys then)",
    ]
    assert money_column(keys, "tfoot") == [131087]


def test_a_period_wholly_before_key_grouping_says_why_there_are_no_keys() -> None:
    cell = CostCell(utc("2025-11-02"), "p", "x", "usd", Decimal(5))
    _, page = rendered(made([cell], 3, "2025-11-01", users=()))
    assert "only from 2025-12-06 on; this period ends before that day" in page.text


def test_rankings_list_ten_and_sum_the_rest_on_one_row() -> None:
    cell = CostCell(utc("2026-01-01"), "p", "x", "usd", Decimal("91"))
    users = tuple(
        RankedCost(f"user_{i}", f"u{i}@example.com", "usd", Decimal(13 - i)) for i in range(13)
    )
    _, page = rendered(made([cell], 1, users=users, api_keys_from=utc("2026-01-01")))
    users_table = page.tables_of("ranking")[0]
    labels = [row.cells[0] for row in users_table.part("tbody")]
    assert labels == [f"u{i}@example.com" for i in range(10)] + ["3 more"]
    assert users_table.part("tbody")[-1].cells[1] == "6.00"  # 3 + 2 + 1
    assert "The costs of this period are not attributed to API keys." in page.text


def test_costs_without_any_user_leave_the_users_table_out() -> None:
    cell = CostCell(utc("2026-01-01"), "p", "x", "usd", Decimal(4))
    nobody = (RankedCost(None, "(no user)", "usd", Decimal(4)),)
    _, page = rendered(made([cell], 1, users=nobody))
    assert "The costs of this period are not attributed to users." in page.text
    assert not any("User" in row.cells for t in page.tables_of("ranking") for row in t.rows)


def test_without_users_and_keys_read_the_report_leaves_their_section_out() -> None:
    cell = CostCell(utc("2026-01-01"), "p", "x", "usd", Decimal(4))
    _, page = rendered(made([cell], 1))
    assert "Who spent it" not in page.text
    assert not page.tables_of("ranking")


def test_a_period_without_costs_says_so_and_draws_no_chart() -> None:
    html, page = rendered(made([], 7))
    assert "No costs in this period." in page.text
    assert "<svg" not in html
    assert not page.tables_of("chargeback")


def test_each_currency_has_its_own_total_chart_and_chargeback() -> None:
    day = utc("2026-01-01")
    cells = [
        CostCell(day, "p1", "x", "usd", Decimal("1234.5")),
        CostCell(day, "p1", "x", "eur", Decimal("99.999")),
    ]
    html, page = rendered(made(cells, 2))
    assert re.findall(
        r'<span class="amount">([^<]+)</span> <span class="currency">(\w+)<', html
    ) == [
        ("1,234.50", "USD"),
        ("100.00", "EUR"),
    ]
    assert [t.part("tfoot")[0].cells[1] for t in page.tables_of("chargeback")] == [
        "1,234.50",
        "100.00",
    ]
    assert len(re.findall(r'class="chart"', html)) == 2
    assert_every_table_adds_up(page)


def test_long_periods_are_drawn_a_few_days_per_bar_and_still_add_up() -> None:
    start = utc("2026-01-01")
    cells = [CostCell(start + i * DAY, "p", "x", "usd", Decimal("1.005")) for i in range(120)]
    _, page = rendered(made(cells, 120))
    assert "Cost per 2 days, USD" in page.text
    (days,) = page.tables_of("days")
    assert len(days.part("tbody")) == 60
    assert days.part("tbody")[0].cells[0] == "2026-01-01 to 2026-01-02"
    assert_every_table_adds_up(page)


@pytest.mark.parametrize(("projects", "apart"), [(6, 6), (7, 5), (9, 5)])
def test_beyond_six_projects_the_smallest_share_one_grey_series(projects: int, apart: int) -> None:
    day = utc("2026-01-01")
    cells = [CostCell(day, f"p{i}", "x", "usd", Decimal(20 - i)) for i in range(projects)]
    html, page = rendered(made(cells, 1))
    (days,) = page.tables_of("days")
    header = days.part("thead")[0].cells
    others = [f"Other projects ({projects - apart})"] if apart < projects else []
    assert header[1:-1] == [f"p{i}" for i in range(apart)] + others
    if others:
        rest = sum(20 - i for i in range(apart, projects))
        assert days.part("tbody")[0].cells[-2] == f"{rest}.00"
        assert 'fill="#9E9E9E"' in html


async def test_usage_lists_tokens_by_model_and_names_idle_endpoints(
    chargeback: Chargeback,
) -> None:
    _, page = rendered(chargeback)
    (tokens,) = page.tables_of("tokens")
    assert [row.cells for row in tokens.part("tbody")] == [
        ["gpt-4o-mini", "completions", "200", "2,000,000", "—", "30,000"],
        ["gpt-4o", "completions", "43", "1,235,567", "—", "8,154"],
    ]
    assert "No usage of audio_speeches, audio_transcriptions" in page.text


def test_other_usage_is_described_with_its_headline_metrics() -> None:
    stores = EndpointUsage(
        "vector_stores", ("usage_bytes",), ("usage_bytes",), {"usage_bytes": 2048}, {}, {}
    )
    images = EndpointUsage(
        "images",
        ("images", "num_model_requests"),
        (),
        {"images": 12, "num_model_requests": 7},
        {"dall-e-3": {"images": 12, "num_model_requests": 7}},
        {},
    )
    _, page = rendered(made([], 1, usage={"images": images, "vector_stores": stores}))
    (other,) = page.tables_of("other-usage")
    assert [row.cells for row in other.part("tbody")] == [
        ["images", "12 images · 7 requests"],
        ["vector_stores", "2,048 bytes stored (latest day)"],
    ]


async def test_budgets_show_spending_the_forecast_and_when_it_settled(
    chargeback: Chargeback,
) -> None:
    budgets = [
        BudgetStatus("Research <lab>", "750", 1000, "usd", "1200.5", utc("2025-12-08")),
        BudgetStatus("Ops", Decimal("1100"), "1000", "usd"),
        BudgetStatus("Sales", 100, 1000, "usd", 200),
    ]
    html, page = rendered(chargeback, budgets=budgets)
    assert "Research &lt;lab&gt;" in html
    assert (
        "Spent 750.00 of 1,000.00 USD (75.0 %). Forecast 1,200.50 USD (120.1 %). "
        "Forecast over budget. Settled through 2025-12-08 00:00 UTC." in page.text
    )
    assert "Spent 1,100.00 of 1,000.00 USD (110.0 %). Over budget." in page.text
    assert "Spent 100.00 of 1,000.00 USD (10.0 %). Forecast 200.00 USD (20.0 %)." in page.text
    assert len(re.findall(r'class="budget-bar"', html)) == 3
    _, without = rendered(chargeback)
    assert "Budgets" not in without.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("spent", 1.5),
        ("amount", 0),
        ("amount", "-3"),
        ("forecast", 2.0),
        ("spent", "ten"),
        ("spent", "NaN"),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("forecast", Decimal("-Infinity")),
    ],
)
def test_a_budget_refuses_floats_non_numbers_and_amounts_that_are_not_positive(
    field: str, value: object
) -> None:
    given: dict[str, object] = {"name": "b", "spent": 1, "amount": 10, "currency": "usd"}
    with pytest.raises(ua.InvalidParameterError) as refused:
        BudgetStatus(**{**given, field: value})  # type: ignore[arg-type]
    assert refused.value.param == field


async def test_on_the_emulator_every_table_adds_up_too(emulator_client: ua.UsageClient) -> None:
    chargeback = await collect(emulator_client, EMULATOR_NOW - 30 * DAY, EMULATOR_NOW)
    _, page = rendered(chargeback)
    assert_every_table_adds_up(page)
    total = chargeback.totals()["usd"]
    assert f"{total:,.2f}" in page.text
