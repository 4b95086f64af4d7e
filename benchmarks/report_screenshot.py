"""The picture of the HTML chargeback report in the docs: ``docs/images/report.png``.

Run from the repository root (after ``pip install -e '.[dev]'``, with Chromium installed:
``apt-get install -y chromium``)::

    python benchmarks/report_screenshot.py              # rewrite docs/images/report.png
    python benchmarks/report_screenshot.py --html FILE  # also keep the report itself

The report is thirty days of the embedded emulator's sample data, its clock pinned (the same
picture on every run), with one budget, opened from disk in headless Chromium by the tests'
DevTools driver (``tests/report/browser.py``) and captured from the top of the page.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.report.browser

import usage_async as ua  # noqa: E402
from tests.report.browser import Chromium  # noqa: E402
from usage_async.emulator import serve  # noqa: E402
from usage_async.report import BudgetStatus, collect, render_html  # noqa: E402

NOW = 1_772_368_496  # 2026-03-01T12:34:56Z
DAY = 86400
WIDTH, HEIGHT = 1100, 1500
LIMIT = 300 * 1024
"""The picture is committed: keep it small."""
TARGET = ROOT / "docs" / "images" / "report.png"


async def report_html() -> str:
    """The report of the emulator's last thirty days, with a sample budget."""
    async with (
        serve(port=0, now=lambda: float(NOW)) as emulator,
        ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client,
    ):
        chargeback = await collect(client, NOW - 30 * DAY, NOW)
    spent = chargeback.totals()["usd"]
    budget = BudgetStatus(
        "Organization, monthly",
        spent=spent,
        amount=Decimal(20000),
        currency="usd",
        forecast=(spent * 31 / 30).quantize(Decimal("0.01")),
        settled_until=chargeback.provisional_from,
    )
    return render_html(chargeback, generated_at=NOW, budgets=[budget])


async def screenshot(page: Path) -> bytes:
    """The top of ``page`` as Chromium shows it, ``WIDTH`` CSS pixels wide."""
    async with Chromium.launch() as browser:
        tab = await browser.new_tab(width=WIDTH)
        await tab.open(page)
        return await tab.screenshot(height=HEIGHT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    html = asyncio.run(report_html())
    if args.html is not None:
        args.html.write_text(html, encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder, "report.html")
        page.write_text(html, encoding="utf-8")
        png = asyncio.run(screenshot(page))
    if len(png) > LIMIT:
        raise SystemExit(f"the screenshot is {len(png) // 1024} KB, over {LIMIT // 1024} KB")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(png)
    print(f"wrote {TARGET.relative_to(ROOT)}: {WIDTH}x{HEIGHT}, {len(png) // 1024} KB")


if __name__ == "__main__":
    main()
