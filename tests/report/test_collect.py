"""``collect``: the report's numbers, exact, from a hand-made server and from the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

import usage_async as ua
from usage_async.cli._report import report_queries
from usage_async.emulator import Emulator
from usage_async.report import API_KEYS, USERS, Chargeback, collect

from .conftest import EMULATOR_NOW
from .ledger import (
    END,
    KEY,
    KEYS_GROUPING_SINCE,
    MULLER_NAME,
    ORGANIZATION,
    SCRIPT_NAME,
    START,
    Ledger,
    serve_ledger,
    utc,
)

DAY = 86400

# Worked out by hand from ledger.CHARGES.
TOTAL = Decimal("1310.8745")
PROJECTS = {
    "proj_muller": Decimal("1007.505"),  # 1000.005 + 7.5
    "proj_web": Decimal("201.11"),  # 100.004 + 50.003 + 20.001 + 30.002 + 1.1
    None: Decimal("99.99"),
    "proj_evil": Decimal("2.2545"),  # 0.0045 + 2.25
    "proj_tiny": Decimal("0.015"),  # three half cents
}
LINE_ITEMS = {
    "images": Decimal("1002.255"),
    "gpt-4o, input": Decimal("151.1115"),
    "support plan": Decimal("99.99"),
    "gpt-4o, output": Decimal("57.503"),
    "file search": Decimal("0.005"),
    "vector storage": Decimal("0.005"),
    "web search": Decimal("0.005"),
}
PER_DAY = {
    "2025-12-01": Decimal("150.007"),
    "2025-12-02": Decimal("0.0045"),
    "2025-12-03": Decimal("1000.005"),
    "2025-12-04": Decimal("0.015"),
    "2025-12-05": Decimal("20.001"),
    "2025-12-06": Decimal("129.992"),
    "2025-12-07": Decimal("7.5"),
    "2025-12-08": Decimal(0),
    "2025-12-09": Decimal("2.25"),
    "2025-12-10": Decimal("1.1"),
}


async def test_the_total_is_the_exact_sum_of_the_hand_made_charges(chargeback: Chargeback) -> None:
    assert chargeback.totals() == {"usd": TOTAL}


async def test_projects_add_up_exactly_to_the_total_and_lines_to_each_project(
    chargeback: Chargeback,
) -> None:
    projects = chargeback.projects("usd")
    assert {p.project_id: p.total for p in projects} == PROJECTS
    assert [p.project_id for p in projects] == list(PROJECTS)  # the largest first
    assert sum((p.total for p in projects), Decimal(0)) == TOTAL
    for project in projects:
        assert sum((line.amount for line in project.lines), Decimal(0)) == project.total
    web = next(p for p in projects if p.project_id == "proj_web")
    assert {line.line_item: line.amount for line in web.lines} == {
        "gpt-4o, input": Decimal("151.107"),
        "gpt-4o, output": Decimal("50.003"),
    }


async def test_line_items_and_days_hold_the_hand_made_sums(chargeback: Chargeback) -> None:
    assert chargeback.line_items("usd") == LINE_ITEMS
    per_day = {
        ua_day: sum(by_project.values(), Decimal(0))
        for ua_day, by_project in chargeback.cost_per_day("usd")
    }
    assert per_day == {utc(day): amount for day, amount in PER_DAY.items()}
    assert chargeback.days == tuple(utc(day) for day in PER_DAY)


async def test_the_last_two_days_before_the_servers_clock_are_provisional(
    chargeback: Chargeback,
) -> None:
    # The ledger's clock reads 2025-12-10 12:00: days that ended less than two days before.
    assert chargeback.server_time == utc("2025-12-10T12:00:00")
    assert chargeback.provisional_from == utc("2025-12-08")
    provisional = [day for day in chargeback.days if chargeback.is_provisional(day)]
    assert provisional == [utc("2025-12-08"), utc("2025-12-09"), utc("2025-12-10")]


async def test_users_and_keys_are_ranked_by_cost_with_their_names(chargeback: Chargeback) -> None:
    assert [(u.label, u.amount) for u in chargeback.users] == [
        ("bob@example.com", Decimal("1002.2595")),
        ("ann@example.com", Decimal("201.125")),
        ("(no user)", Decimal("107.49")),
    ]
    assert [(k.label, k.amount) for k in chargeback.api_keys] == [
        ("(no API key)", Decimal("102.24")),
        ("checkout key", Decimal("31.102")),
        ("batch key", Decimal("7.5")),
    ]


async def test_costs_by_key_are_read_only_from_the_day_the_api_groups_them(
    chargeback: Chargeback, ledger: Ledger
) -> None:
    # The ledger refuses key grouping before 2025-12-06 as the API does: collect never asks.
    key_queries = [q for path, q in ledger.queries if "api_key_id" in q.get("group_by", [])]
    assert [int(q["start_time"]) for q in key_queries] == [KEYS_GROUPING_SINCE]
    assert chargeback.api_keys_from == KEYS_GROUPING_SINCE
    before = chargeback.cost_before(KEYS_GROUPING_SINCE, "usd")
    assert before == Decimal("1170.0325")
    assert before + sum((k.amount for k in chargeback.api_keys), Decimal(0)) == TOTAL


async def test_a_period_before_key_grouping_asks_for_no_costs_by_key(
    ledger: Ledger, ledger_client: ua.UsageClient
) -> None:
    early = await collect(ledger_client, START, KEYS_GROUPING_SINCE)
    assert early.api_keys_from is None
    assert early.api_keys is None
    assert not [q for _, q in ledger.queries if "api_key_id" in q.get("group_by", [])]
    assert early.totals() == {"usd": Decimal("1170.0325")}


async def test_without_attribution_no_costs_by_user_or_key_are_read(
    ledger: Ledger, ledger_client: ua.UsageClient
) -> None:
    plain = await collect(ledger_client, START, END, attribution=False)
    groupings = [q["group_by"] for path, q in ledger.queries if path.endswith("/costs")]
    assert groupings == [["project_id", "line_item"]]
    assert plain.users is None
    assert plain.api_keys is None
    assert plain.totals() == {"usd": TOTAL}


async def test_every_page_is_handed_to_on_page_as_it_arrives(
    ledger_client: ua.UsageClient,
) -> None:
    seen: dict[str, int] = {}

    def count(key: str, page: ua.Page[object]) -> None:
        seen[key] = seen.get(key, 0) + len(page.data)

    chargeback = await collect(ledger_client, START, END, on_page=count)
    assert set(seen) == {*ua.ENDPOINTS, USERS, API_KEYS}
    assert seen["costs"] == len(chargeback.days) == 10
    assert seen[API_KEYS] == 5  # 2025-12-06 to 2025-12-10


async def test_projects_are_named_from_the_directory_and_the_organization_from_the_costs(
    chargeback: Chargeback,
) -> None:
    assert chargeback.project_label("proj_evil") == SCRIPT_NAME
    assert chargeback.project_label("proj_muller") == MULLER_NAME
    assert chargeback.project_label(None) == "(no project)"
    assert chargeback.organization == ORGANIZATION
    assert chargeback.warnings == ()


async def test_without_names_no_directory_is_read_and_ids_are_shown(
    ledger: Ledger, ledger_client: ua.UsageClient
) -> None:
    plain = await collect(ledger_client, START, END, names=False)
    assert not [path for path, _ in ledger.queries if "/projects" in path or "/users" in path]
    assert plain.project_label("proj_muller") == "proj_muller"
    assert {u.label for u in plain.users} == {"user_ann", "user_bob", "(no user)"}


async def test_names_can_be_read_from_the_projects_list_alone(
    ledger: Ledger, ledger_client: ua.UsageClient
) -> None:
    cheap = await collect(ledger_client, START, END, names=("projects",))
    read = {path for path, _ in ledger.queries if not path.startswith("/v1/organization/usage")}
    assert read == {"/v1/organization/projects", "/v1/organization/costs"}
    assert cheap.project_label("proj_web") == "Web shop"
    assert {k.label for k in cheap.api_keys} == {"key_a", "key_b", "(no API key)"}


async def test_a_project_the_directory_lacks_is_named_as_its_costs_name_it() -> None:
    ledger = Ledger(unlisted=frozenset({"proj_tiny"}), row_names={"proj_tiny": "Tiny (removed)"})
    async with serve_ledger(ledger) as url, ua.UsageClient(KEY, base_url=url) as client:
        named = await collect(client, START, END)
        plain = await collect(client, START, END, names=False)
    assert named.project_label("proj_tiny") == "Tiny (removed)"
    assert named.project_label("proj_web") == "Web shop"
    assert plain.project_label("proj_tiny") == "proj_tiny"


async def test_a_directory_that_cannot_be_read_leaves_ids_and_says_why() -> None:
    ledger = Ledger(missing=frozenset({"/v1/organization/projects"}))
    async with serve_ledger(ledger) as url, ua.UsageClient(KEY, base_url=url) as client:
        chargeback = await collect(client, START, END)
    assert chargeback.totals() == {"usd": TOTAL}
    assert chargeback.project_label("proj_web") == "proj_web"
    assert len(chargeback.warnings) == 1
    assert "cannot read names from the directory" in chargeback.warnings[0]


async def test_a_part_of_the_directory_the_key_may_not_read_is_a_warning() -> None:
    ledger = Ledger(forbidden=frozenset({"/v1/organization/users"}))
    async with serve_ledger(ledger) as url, ua.UsageClient(KEY, base_url=url) as client:
        chargeback = await collect(client, START, END)
    assert chargeback.project_label("proj_web") == "Web shop"
    assert "user_bob" in {u.label for u in chargeback.users}
    assert any("users" in warning for warning in chargeback.warnings)


async def test_bad_input_is_refused_before_any_request(
    ledger: Ledger, ledger_client: ua.UsageClient
) -> None:
    with pytest.raises(ua.InvalidParameterError):
        await collect(ledger_client, END, START)
    with pytest.raises(ua.InvalidParameterError, match="names"):
        await collect(ledger_client, START, END, names="projects")
    assert ledger.queries == []


async def test_a_failing_query_names_itself_and_the_client_stays_open() -> None:
    ledger = Ledger(refuse_key_grouping=False, broken=frozenset({"api_key_id"}))
    async with serve_ledger(ledger) as url, ua.UsageClient(KEY, base_url=url) as client:
        with pytest.raises(ua.FanOutError) as failure:
            await collect(client, START, END)
        assert failure.value.key == API_KEYS
        assert isinstance(failure.value.error, ua.BadRequestError)
        assert not client.closed  # borrowed: the caller closes it


async def test_collect_sends_the_queries_the_text_report_checks_so_both_reports_agree(
    ledger: Ledger, ledger_client: ua.UsageClient
) -> None:
    start = utc("2025-12-01T15:00:00")  # the report's days start at its UTC midnight
    await collect(ledger_client, start, END, names=False, attribution=False)
    first_pages: dict[str, dict[str, object]] = {}
    for path, query in ledger.queries:
        first_pages.setdefault(path, query)
    expected = {}
    for query in report_queries(start, END).values():
        pairs = query.params()
        wire: dict[str, object] = {k: v for k, v in pairs if k != "group_by[]"}
        wire["group_by"] = [v for k, v in pairs if k == "group_by[]"]
        expected[f"/v1{query.endpoint.path}"] = wire
    assert first_pages == expected
    assert expected["/v1/organization/costs"]["start_time"] == str(START)


async def test_on_the_emulator_every_number_is_what_the_library_totals_say(
    emulator_client: ua.UsageClient, emulator: Emulator
) -> None:
    start, end = EMULATOR_NOW - 30 * DAY, EMULATOR_NOW
    chargeback = await collect(emulator_client, start, end)
    period = {"start_time": start - start % DAY, "end_time": end, "bucket_width": "1d"}
    costs = emulator_client.costs(**period, group_by=["project_id"], limit=180)
    by_project = await ua.totals(costs, ["project_id"])
    assert {(p.project_id, "usd"): p.total for p in chargeback.projects("usd")} == {
        key: sums["amount"] for key, sums in by_project.items()
    }
    assert sum((u.amount for u in chargeback.users), Decimal(0)) == chargeback.totals()["usd"]
    completions = emulator_client.completions(**period, group_by=["model"], limit=31)
    by_model = await ua.totals(completions, ["model"])
    assert chargeback.usage["completions"].by_model == {key[0]: s for key, s in by_model.items()}
    assert len(chargeback.days) == 31
    # The emulator's directory names every project that has costs.
    assert all(not p.label.startswith("proj_") for p in chargeback.projects("usd"))
