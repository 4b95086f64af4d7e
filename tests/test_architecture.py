"""The house's import rules, checked on the package's own source.

* No import cycle between two modules, counting imports inside functions and under
  ``TYPE_CHECKING`` (grimp, the graph import-linter checks its contracts on, counts both).
* No module imports another module's ``_private`` name, nor reaches into one
  (``other._name``); what modules share is a plain name in a private module.
* Nothing inside the package imports the package root: import from the defining module.
* Only the command line writes to the terminal (``print``, ``sys.stdout``, ``sys.stderr``).
* Every module of the core (the root's private modules) is in the layers contract of
  ``pyproject.toml``, so a new core module cannot slip past ``lint-imports``.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

PACKAGE = "usage_async"
SOURCE = Path(__file__).resolve().parents[1] / PACKAGE

CLI = "usage_async.cli"


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        yield module_name(path), ast.parse(path.read_text(), filename=str(path))


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_no_module_is_part_of_an_import_cycle(graph: grimp.ImportGraph) -> None:
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join((module, *chain)))
    assert cycles == []


def test_no_module_uses_another_modules_private_names() -> None:
    found = []
    for module, tree in sources():
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
    assert sorted(importers) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_only_the_command_line_writes_to_the_terminal() -> None:
    found = []
    for module, tree in sources():
        if module == CLI or module.startswith(CLI + "."):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "print":
                found.append(f"{module}:{node.lineno} calls print")
            elif isinstance(node, ast.Attribute) and ast.unparse(node) in (
                "sys.stdout",
                "sys.stderr",
            ):
                found.append(f"{module}:{node.lineno} uses {ast.unparse(node)}")
    assert found == []


def test_every_core_module_is_in_the_layers_contract() -> None:
    config = tomllib.loads((SOURCE.parent / "pyproject.toml").read_text())
    [layers] = [
        contract["layers"]
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["id"] == "layers"
    ]
    core_layer = {name.strip() for name in layers[-1].split(":")}
    core = {
        f"{PACKAGE}.{path.stem}" for path in SOURCE.glob("_*.py") if not path.stem.startswith("__")
    }
    assert core_layer == core
