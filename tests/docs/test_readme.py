"""The README starts where people start: short, the two commands first, links that lead
somewhere. And what the README and the docs call ``ua.<name>`` is exported."""

from __future__ import annotations

import re
from pathlib import Path

import usage_async as ua

from .examples import README, ROOT, documents

ADMIN_KEYS = "https://platform.openai.com/settings/organization/admin-keys"


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```\w*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_readme_is_under_250_lines() -> None:
    assert len(README.read_text().splitlines()) < 250


def test_the_readme_opens_with_the_two_commands_try_it_and_test_it() -> None:
    text = README.read_text()
    first_section = text.split("\n## ", 2)[1]
    assert first_section.startswith("Quick start\n")
    try_it, test_it = code_blocks(text)[:2]
    assert try_it.strip() == "python -m pip install -e '.[cli]' && usage-async demo"
    # .ci/run runs this line verbatim: it must stay exactly this.
    assert test_it.strip() == "python -m pip install -e '.[test]' && python -m pytest"
    assert code_blocks(first_section)[:2] == [try_it, test_it]


def test_the_readme_says_where_an_admin_key_is_made() -> None:
    link = f"]({ADMIN_KEYS})"
    assert link in README.read_text()
    assert link in (ROOT / "docs" / "index.md").read_text()


def slug(heading: str) -> str:
    """The anchor GitHub and MkDocs give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.*)$", path.read_text(), flags=re.MULTILINE)}


def test_every_link_of_the_readme_leads_to_a_file_and_heading_that_exist() -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text())
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) >= 15
    for link in local:
        target, _, anchor = link.partition("#")
        path = ROOT / target if target else README
        assert path.exists(), link
        if anchor:
            assert anchor in anchors(path), link


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = set(re.findall(r"\]\((docs/[\w/]+\.md)\)", README.read_text()))
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")}
    assert pages - {"docs/changelog.md"} <= linked  # the changelog: CHANGELOG.md itself


def test_every_ua_name_the_readme_and_the_docs_use_is_exported() -> None:
    used = {name for path in documents() for name in re.findall(r"\bua\.(\w+)", path.read_text())}
    assert {"UsageClient", "totals", "sync", "focus_rows"} <= used
    assert used <= set(ua.__all__), used - set(ua.__all__)


def test_the_license_is_the_mit_license_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 usage-async developers" in text
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
