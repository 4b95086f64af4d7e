"""The reference parts of the docs are generated from the code, whole: the FOCUS mapping, the
database schema and the API reference (``docs/hooks.py``, run by MkDocs at build time)."""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from sqlalchemy.dialects import postgresql, sqlite

import usage_async as ua
from usage_async.sync._views import REPORT_VIEWS

from .conftest import DOCS


def page(name: str, hooks: ModuleType) -> str:
    """A page as MkDocs renders it: its generated parts filled in."""
    return str(hooks.generate((DOCS / name).read_text()))


def test_the_focus_page_lists_every_exported_column_in_order(hooks: ModuleType) -> None:
    source = (DOCS / "focus.md").read_text()
    assert "<!-- generate: focus-mapping -->" in source
    assert "| `BilledCost` |" not in source  # generated, never copied by hand
    listed = re.findall(r"^\| `(\w+)` \| (\w+) \| (\w+) \|", page("focus.md", hooks), re.M)
    expected = []
    for column in ua.FOCUS_COLUMNS:
        null = "yes"
        if not column.nullable:
            null = "never"
        elif column.expected or column.expected_with:
            null = "counted"
        expected.append((column.name, column.type, null))
    assert listed == expected


def test_the_focus_page_names_every_unit_it_translates(hooks: ModuleType) -> None:
    from usage_async.focus import UNIT_NAMES

    rendered = page("focus.md", hooks)
    for api, focus in UNIT_NAMES.items():
        assert f"| `{api}` | `{focus}` |" in rendered


def test_the_schema_reference_has_every_table_column_and_type_a_sync_creates(
    hooks: ModuleType,
) -> None:
    from usage_async.sync import Schema

    rendered = page("schema.md", hooks)
    schema = Schema()
    for endpoint in ua.ENDPOINTS.values():
        schema.usage_table(endpoint, endpoint.group_by)
    assert len(schema.metadata.tables) == 5 + len(ua.ENDPOINTS)
    for table in schema.metadata.tables.values():
        section = rendered.split(f"### `{table.name}`\n", 1)[1].split("\n### ", 1)[0]
        listed = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|", section, re.M)
        assert listed == [
            (
                c.name,
                str(c.type.compile(dialect=sqlite.dialect())),
                str(c.type.compile(dialect=postgresql.dialect())),
            )
            for c in table.columns
        ], table.name
    view = rendered.split("### `focus` (a view)\n", 1)[1].split("\n### ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", view, re.M) == [c.name for c in ua.FOCUS_COLUMNS]
    for daily in REPORT_VIEWS:
        view = rendered.split(f"### `{daily.name}` (a view)\n", 1)[1].split("\n### ", 1)[0]
        listed = re.findall(r"^\| `(\w+)` \|", view, re.M)
        assert listed == [c.name for c in daily.columns], daily.name


def test_every_column_of_the_schema_reference_says_what_it_means(hooks: ModuleType) -> None:
    rendered = page("schema.md", hooks)
    rows = re.findall(r"^\| `(\w+)` \|.*\| ([^|]*) \|$", rendered, re.M)
    assert len(rows) > 200
    assert [name for name, meaning in rows if not meaning.strip()] == []


@pytest.mark.parametrize(
    "package", ["usage_async", "usage_async.sync", "usage_async.focus", "usage_async.emulator"]
)
def test_the_api_reference_documents_every_exported_name(hooks: ModuleType, package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    file = hooks.API_PAGES[package]
    source = (DOCS / "api" / file).read_text()
    assert f"<!-- generate: api {package} -->" in source
    rendered = page(f"api/{file}", hooks)
    for name in module.__all__:
        documented = f"::: {package}.{name}\n" in rendered
        at_root = f"[`{name}`][usage_async.{name}]" in rendered
        linked = f"[`{name}`](" in rendered  # a subpackage: its own page
        assert documented or at_root or linked, f"{package}.{name} is not in the reference"
        if at_root:
            assert getattr(ua, name) is getattr(module, name)


def test_a_page_asking_for_an_unknown_part_fails_the_build(hooks: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown generated part"):
        hooks.generate("<!-- generate: budgets-table -->\n")


def test_every_page_is_in_the_navigation_and_every_entry_exists() -> None:
    config = (DOCS.parent / "mkdocs.yml").read_text()
    nav = config.split("\nnav:\n", 1)[1]
    entries = re.findall(r"(?:: |- )([\w/.-]+\.md)$", nav, re.M)
    assert entries[0] == "index.md"
    assert len(entries) == len(set(entries))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert set(entries) == pages


def test_nothing_in_the_site_configuration_fetches_from_the_network() -> None:
    """Nothing in the configuration fetches from the network at build time (CI has none)."""
    config = (DOCS.parent / "mkdocs.yml").read_text()
    assert re.search(r"^  font: false$", config, re.M)  # no Google fonts
    plugins = config.split("\nplugins:\n", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^  - (\w+)", plugins, re.M) == ["search", "mkdocstrings"]
    assert "import:" not in config  # no object inventories from other sites
