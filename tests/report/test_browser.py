"""The report in a real browser: what it shows, that it fetches nothing, and that it prints.

Headless Chromium (``browser.py``) opens the report files from disk, as finance would open
an e-mailed attachment. One browser serves the module. These tests are never skipped: a
machine without Chromium fails them with how to install it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

import usage_async as ua
from usage_async.emulator import serve
from usage_async.report import BudgetStatus, Chargeback, CostCell, collect, render_html

from . import browser as browser_module
from .browser import Chromium, chromium_path, pdf_pages
from .conftest import EMULATOR_NOW
from .ledger import END, KEY, MULLER_NAME, NOW, SCRIPT_NAME, START, Ledger, serve_ledger, utc

# One browser and one set of report files for the module, on the module's event loop.
on_module_loop = pytest.mark.asyncio(loop_scope="module")

DAY = 86400
SCREEN_WIDTH = 1100
# The width a page lays out in when printed: the paper less the report's 12 mm side margins,
# in CSS pixels (96 per inch).
PRINTED_WIDTH = {
    "A4": round(8.27 * 96 - 2 * 12 / 25.4 * 96),
    "Letter": round(8.5 * 96 - 2 * 12 / 25.4 * 96),
}
SECTIONS = "document.querySelectorAll('body > section').length"
# Each chart's box, and whether everything drawn in it lies inside it (not cut off).
CHARTS = """[...document.querySelectorAll('svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    const inside = [...svg.querySelectorAll('rect, text, line')].every(part => {
        const drawn = part.getBoundingClientRect();
        return drawn.left >= box.left - 1 && drawn.right <= box.right + 1
            && drawn.top >= box.top - 1 && drawn.bottom <= box.bottom + 1;
    });
    return {label: svg.getAttribute('aria-label'), left: box.left, right: box.right,
            width: box.width, height: box.height, inside: inside};
})"""
DATES_ON_ONE_LINE = """[...document.querySelectorAll('table.days tbody th')].every(th => {
    const text = document.createRange();
    text.selectNodeContents(th.firstChild);
    return text.getClientRects().length === 1;
})"""
# Budgets to show in the report, as ua.budgets will give them.
BUDGETS = [
    BudgetStatus("Research", "750", "1000", "usd", "1200", utc("2025-12-08")),
    BudgetStatus("Operations", "420.5", "2000", "usd", "800"),
]


def crowded() -> Chargeback:
    """Two months of nine projects with long names that have no space to break at, and
    seven-figure days: the most a page has to fit across."""
    start = utc("2026-01-01")
    cells = [
        CostCell(start + day * DAY, f"proj_{i}", "gpt-4o, input", "usd", Decimal(1_234_567 + i))
        for day in range(62)
        for i in range(9)
    ]
    labels = {f"proj_{i}": f"platform-team-{i}-production-inference-cluster" for i in range(9)}
    return Chargeback(
        start=start,
        end=start + 62 * DAY,
        server_time=start + 62 * DAY,
        provisional_from=start + 60 * DAY,
        days=tuple(start + day * DAY for day in range(62)),
        costs=tuple(cells),
        project_labels=labels,
        usage={},
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Chromium]:
    async with Chromium.launch() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The ledger's report (with budgets) and a month of the emulator's, as files."""
    folder = tmp_path_factory.mktemp("reports")
    async with serve_ledger(Ledger()) as url, ua.UsageClient(KEY, base_url=url) as client:
        ledger = await collect(client, START, END)
    async with (
        serve(port=0, now=lambda: float(EMULATOR_NOW)) as emulator,
        ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client,
    ):
        month = await collect(client, EMULATOR_NOW - 30 * DAY, EMULATOR_NOW)
    files = {
        "ledger": render_html(ledger, generated_at=NOW, budgets=BUDGETS),
        "emulator": render_html(month, generated_at=EMULATOR_NOW),
        "crowded": render_html(crowded(), generated_at=NOW),
    }
    for name, html in files.items():
        (folder / f"{name}.html").write_text(html, encoding="utf-8")
    return {name: folder / f"{name}.html" for name in files}


@on_module_loop
@pytest.mark.parametrize("report", ["ledger", "emulator"])
async def test_the_report_opens_from_disk_and_requests_nothing_but_itself(
    browser: Chromium, reports: dict[str, Path], report: str
) -> None:
    tab = await browser.new_tab()
    url = await tab.open(reports[report])
    assert tab.requests() == [url]
    assert await tab.evaluate("document.scripts.length") == 0


@on_module_loop
async def test_the_report_requests_nothing_even_without_its_content_security_policy(
    browser: Chromium, reports: dict[str, Path], tmp_path: Path
) -> None:
    html = reports["ledger"].read_text(encoding="utf-8")
    unguarded = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert unguarded != html
    path = tmp_path / "unguarded.html"
    path.write_text(unguarded, encoding="utf-8")
    tab = await browser.new_tab()
    url = await tab.open(path)
    assert tab.requests() == [url]


@on_module_loop
async def test_a_page_that_fetches_something_is_caught_by_the_driver(
    browser: Chromium, tmp_path: Path
) -> None:
    # The check above is only as good as the driver's ears: a page that does fetch is heard.
    path = tmp_path / "leaky.html"
    path.write_text(
        '<style>body { background: url("http://127.0.0.1:9/bg.png"); }</style>'
        '<img src="http://127.0.0.1:9/logo.png" alt="">',
        encoding="utf-8",
    )
    tab = await browser.new_tab()
    url = await tab.open(path)
    requests = tab.requests()
    assert requests[0] == url
    assert "http://127.0.0.1:9/logo.png" in requests


@on_module_loop
async def test_the_rendered_page_shows_totals_and_names_as_plain_text(
    browser: Chromium, reports: dict[str, Path]
) -> None:
    tab = await browser.new_tab()
    await tab.open(reports["ledger"])
    text = await tab.evaluate("document.body.innerText")
    assert "1,310.87 USD" in text
    for name in (SCRIPT_NAME, MULLER_NAME, "Web shop", "bob@example.com", "checkout key"):
        assert name in text
    assert await tab.evaluate("document.title") == (
        'Chargeback report — Ledger & Co "<b>", 2025-12-01 to 2025-12-11'
    )
    total = await tab.evaluate("document.querySelector('table.chargeback tfoot td.num').innerText")
    assert total == "1,310.87"


@on_module_loop
@pytest.mark.parametrize("report", ["ledger", "emulator", "crowded"])
async def test_every_chart_has_a_size_and_fits_the_screen_and_the_paper(
    browser: Chromium, reports: dict[str, Path], report: str
) -> None:
    tab = await browser.new_tab(width=SCREEN_WIDTH)
    await tab.open(reports[report])
    layouts = [("screen", SCREEN_WIDTH), *(("print", w) for w in PRINTED_WIDTH.values())]
    for media, width in layouts:
        await tab.media(media)
        await tab.resize(width, 900)
        charts = await tab.evaluate(CHARTS)
        assert charts
        for chart in charts:
            assert chart["label"]
            assert chart["width"] > 0.5 * width - 100, (media, width, chart)
            assert chart["height"] > 20, (media, width, chart)
            assert chart["left"] >= 0
            assert chart["right"] <= width, (media, width, chart)
            assert chart["inside"], (media, width, chart)
        # A date is never broken across lines.
        assert await tab.evaluate(DATES_ON_ONE_LINE), (media, width)
        # Nothing sticks out sideways, where a printer would cut it off.
        assert await tab.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@on_module_loop
@pytest.mark.parametrize("report", ["ledger", "emulator", "crowded"])
async def test_the_report_prints_on_a4_and_letter_a_section_per_page(
    browser: Chromium, reports: dict[str, Path], report: str, paper: str
) -> None:
    tab = await browser.new_tab()
    await tab.open(reports[report])
    sections = await tab.evaluate(SECTIONS)
    pdf = await tab.pdf(paper)
    assert pdf.startswith(b"%PDF-")
    pages = pdf_pages(pdf)
    # Each section starts a page; none runs to more than a few.
    assert sections <= pages <= 3 * sections, (sections, pages)


@on_module_loop
async def test_a_screenshot_is_a_png_of_the_page(
    browser: Chromium, reports: dict[str, Path]
) -> None:
    tab = await browser.new_tab(width=SCREEN_WIDTH)
    await tab.open(reports["emulator"])
    png = await tab.screenshot(height=1200)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (SCREEN_WIDTH, 1200)


@pytest.mark.parametrize("ci", ["true", None])
def test_without_chromium_the_tests_fail_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(browser_module, "INSTALLED", ())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium") as failed:
        chromium_path()
    assert ("CI must provide chromium" in str(failed.value)) == (ci == "true")
