"""MkDocs hooks: the reference parts of the pages, generated from the code at build time.

A page asks for a generated part with a marker on a line of its own::

    <!-- generate: focus-mapping -->           the FOCUS column table, from ua.FOCUS_COLUMNS
    <!-- generate: focus-units -->             the API's units in FOCUS words
    <!-- generate: schema -->                  every table and view a sync creates
    <!-- generate: api usage_async.sync -->    the API reference of a package's __all__

The generators are plain functions of the code (they import ``usage_async``, never MkDocs),
so the tests in ``tests/docs/`` call them too.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

MARKER = re.compile(r"^<!-- generate: (?P<what>[\w-]+)(?: (?P<argument>\S+))? -->$", re.MULTILINE)

# The packages whose __all__ the API reference documents, each on its own page (docs/api/).
API_PAGES = {
    "usage_async": "index.md",
    "usage_async.sync": "sync.md",
    "usage_async.focus": "focus.md",
    "usage_async.emulator": "emulator.md",
    "usage_async.budgets": "budgets.md",
    "usage_async.report": "report.md",
    "usage_async.grafana": "grafana.md",
}


def cell(text: str) -> str:
    """``text`` made safe for a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def focus_null(column: Any) -> str:
    """When a FOCUS column is empty: never, counted (the API did not give it), or yes."""
    if not column.nullable:
        return "never"
    if column.expected or column.expected_with:
        return "counted"
    return "yes"


def focus_mapping() -> str:
    """The FOCUS mapping as a Markdown table, one row per column of ``ua.FOCUS_COLUMNS``."""
    from usage_async.focus import FOCUS_COLUMNS

    lines = ["| Column | Type | Null | Value |", "|---|---|---|---|"]
    lines.extend(
        f"| `{c.name}` | {c.type} | {focus_null(c)} | {cell(c.description)} |"
        for c in FOCUS_COLUMNS
    )
    return "\n".join(lines)


def focus_units() -> str:
    """The API's unit names and the FOCUS unit each becomes, from ``UNIT_NAMES``."""
    from usage_async.focus import UNIT_NAMES

    lines = ["| API unit | FOCUS unit |", "|---|---|"]
    lines.extend(f"| `{api}` | `{focus}` |" for api, focus in UNIT_NAMES.items())
    return "\n".join(lines)


def schema_sections() -> dict[str, list[tuple[Any, Any]]]:
    """Every table and view a sync creates (without a prefix), as ``describe()`` gives them
    for SQLite and for PostgreSQL side by side, by kind: the bookkeeping, the directory,
    one table per endpoint grouped by every field it offers (what a sync does without
    ``--group-by``), and the views."""
    from sqlalchemy.dialects import postgresql, sqlite

    from usage_async.sync import Schema, describe

    schema = Schema()
    kinds = {
        schema.state.name: "Bookkeeping",
        schema.sources.name: "Bookkeeping",
        **{table.name: "The directory" for table in schema.directory.values()},
    }
    sections: dict[str, list[tuple[Any, Any]]] = {
        "Bookkeeping": [],
        "The directory": [],
        "One table per endpoint": [],
        "Views": [],
    }
    pairs = zip(
        describe(dialect=sqlite.dialect()),  # type: ignore[no-untyped-call]
        describe(dialect=postgresql.dialect()),  # type: ignore[no-untyped-call]
        strict=True,
    )
    for lite, pg in pairs:
        kind = "Views" if lite.kind == "view" else kinds.get(lite.name, "One table per endpoint")
        sections[kind].append((lite, pg))
    return sections


def relation_reference(lite: Any, pg: Any) -> Iterator[str]:
    """A table's or view's heading, one line, primary key and columns with their SQLite and
    PostgreSQL types and meanings (``describe()``'s, for the two databases)."""
    yield f"### `{lite.name}`" + (" (a view)" if lite.kind == "view" else "")
    yield ""
    if lite.meaning:
        yield lite.meaning
        yield ""
    if lite.primary_key:
        yield "Primary key: " + ", ".join(f"`{name}`" for name in lite.primary_key) + "."
        yield ""
    yield "| Column | SQLite | PostgreSQL | Null | Meaning |"
    yield "|---|---|---|---|---|"
    for on_sqlite, on_postgresql in zip(lite.columns, pg.columns, strict=True):
        null = "yes" if on_sqlite.nullable else "never"
        yield (
            f"| `{on_sqlite.name}` | {on_sqlite.type} | {on_postgresql.type} | {null} | "
            f"{cell(on_sqlite.meaning)} |"
        )
    yield ""


def schema_reference() -> str:
    """Every table and view a sync creates, with its columns, their types and meanings."""
    lines: list[str] = []
    for kind, relations in schema_sections().items():
        lines.extend([f"## {kind}", ""])
        for lite, pg in relations:
            lines.extend(relation_reference(lite, pg))
    return "\n".join(lines)


def group_title(module_name: str) -> str:
    """A short heading for the names a module defines: ``usage_async.focus._rows`` is
    "Focus rows", ``usage_async._client`` "Client"."""
    parts = [part.strip("_") for part in module_name.split(".")[1:]]
    return " ".join(parts).capitalize() if parts else module_name


def summary(module_name: str) -> str:
    """The first paragraph of a module's docstring, in Markdown."""
    doc = inspect.getdoc(importlib.import_module(module_name)) or ""
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "`")


def source_line(value: Any) -> int:
    try:
        return inspect.getsourcelines(value)[1]
    except (OSError, TypeError):
        return 0


def defining_module(value: Any) -> str | None:
    """The module that defines a class or function; None for data (constants, type aliases)."""
    if inspect.isclass(value) or inspect.isroutine(value):
        return str(value.__module__)
    return None


def api_reference(package: str) -> str:
    """The API reference of ``package``: every name of its ``__all__``, grouped by the module
    that defines it, as mkdocstrings directives.

    A name that is a package of its own links to its page; in a subpackage, a name the root
    exports too is documented once, at the root, and linked from here.
    """
    module = importlib.import_module(package)
    root = importlib.import_module("usage_async")
    groups: dict[str, list[str]] = {}
    links: list[str] = []
    at_root: list[str] = []
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            page = API_PAGES[value.__name__]
            links.append(f"- [`{name}`]({page}): the `{value.__name__}` package.")
            continue
        if package != "usage_async" and getattr(root, name, None) is value:
            at_root.append(name)
            continue
        home = defining_module(value)
        groups.setdefault(home or "", []).append(name)
    lines = [summary(package), ""]
    lines.extend(links)
    if at_root:
        documented = ", ".join(f"[`{n}`][usage_async.{n}]" for n in at_root)
        lines.append(f"Also exported here, and documented with `usage_async`: {documented}.")
    lines.append("")
    for home in sorted(groups, key=lambda m: (m == "", m)):
        lines.extend([f"## {group_title(home) if home else 'Constants and types'}", ""])
        if home and home != package:
            lines.extend([summary(home), ""])
        names = sorted(groups[home], key=lambda n: source_line(getattr(module, n)))
        for name in names:
            lines.extend([f"::: {package}.{name}", ""])
    return "\n".join(lines)


GENERATORS: dict[str, Callable[..., str]] = {
    "focus-mapping": focus_mapping,
    "focus-units": focus_units,
    "schema": schema_reference,
    "api": api_reference,
}


def generate(markdown: str) -> str:
    """``markdown`` with each generate marker replaced by what it asks for."""

    def replace(match: re.Match[str]) -> str:
        generator = GENERATORS.get(match["what"])
        if generator is None:
            raise ValueError(f"unknown generated part: {match[0]}")
        return generator(*filter(None, [match["argument"]]))

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs: fill in the generated parts of a page before it is rendered."""
    return generate(markdown)
