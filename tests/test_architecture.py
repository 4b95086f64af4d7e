"""The house's import rules, checked on the package's own source.

* No import cycle between two modules, counting imports inside functions and under
  ``TYPE_CHECKING`` (grimp, the graph import-linter checks its contracts on, counts both).
* No module imports another module's ``_private`` name, nor reaches into one
  (``other._name``); what modules share is a plain name in a private module.
* Nothing inside the package imports the package root: import from the defining module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

PACKAGE = "usage_async"
SOURCE = Path(__file__).resolve().parents[1] / PACKAGE

# Parts that other branches of issue 17 are reworking. Once they are merged, set this to ()
# and every check covers the whole package.
NOT_YET_CHECKED: tuple[str, ...] = ("usage_async.cli", "usage_async.sync", "usage_async.focus._cli")


def checked(module: str) -> bool:
    return not any(module == part or module.startswith(part + ".") for part in NOT_YET_CHECKED)


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def checked_sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        module = module_name(path)
        if checked(module):
            yield module, ast.parse(path.read_text(), filename=str(path))


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_no_module_is_part_of_an_import_cycle(graph: grimp.ImportGraph) -> None:
    cycles = []
    for module in sorted(filter(checked, graph.modules)):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join((module, *chain)))
    assert cycles == []


def test_no_module_uses_another_modules_private_names() -> None:
    found = []
    for module, tree in checked_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found += [
                    f"{module}:{node.lineno} imports {alias.name}"
                    for alias in node.names
                    if _private(alias.name)
                ]
            elif (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.append(f"{module}:{node.lineno} reads {ast.unparse(node)}")
    assert found == []


def test_nothing_inside_the_package_imports_its_root(graph: grimp.ImportGraph) -> None:
    importers = graph.find_modules_that_directly_import(PACKAGE)
    assert sorted(filter(checked, importers)) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")
