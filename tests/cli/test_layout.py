"""The command line's layout: what it loads to parse, where its words come from, and the
rules that keep it a leaf (no cycles, one ``register`` per command module)."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import usage_async as ua
from usage_async.cli import _commands
from usage_async.cli._commands.focus import FOCUS_FORMATS
from usage_async.cli._main import REGISTRARS

from .conftest import Result, user_environment

Cli = Callable[..., Result]

PACKAGE = Path(ua.__file__).parent

# What parsing must never load: the network, the databases, the terminal drawing and Parquet,
# and the parts of the library that bring them or take long to import.
HEAVY = (
    "aiohttp",
    "sqlalchemy",
    "rich",
    "pyarrow",
    "tenacity",
    "cattrs",
    "usage_async._client",
    "usage_async._transport",
    "usage_async._streams",
    "usage_async._convert",
    "asyncio",  # 20 ms, and nothing to run yet
)


# The console script's own code (`usage_async.cli:main`), then what it left in sys.modules:
# every module imported, however (`-X importtime` misses those `importlib` loads lazily).
SCRIPT = """
import json, sys
from usage_async.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""


def imported_by(
    argv: list[str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``usage-async ARGV`` in a child process; what it did and every module it imported."""
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(listing), *argv],
        env={**user_environment(), "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules: list[str] = json.loads(listing.read_text())
    return done, set(modules)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        pytest.param(["--help"], 0, id="help"),
        pytest.param(["costs", "--help"], 0, id="costs-help"),
        pytest.param(["sync", "--help"], 0, id="sync-help"),
        pytest.param(["focus", "--help"], 0, id="focus-help"),
        pytest.param(["--version"], 0, id="version"),
        pytest.param(["costs", "--start", "7d", "--bogus"], 2, id="unknown-flag"),
        pytest.param(["completions", "--start", "last tuesday"], 2, id="bad-when"),
        pytest.param(["sync", "--every", "0s"], 2, id="bad-duration"),
        pytest.param(["completion", "bash"], 0, id="completion"),
        pytest.param(["-V"], 0, id="dash-v"),
        pytest.param(["costs", "--start", "7d", "--groupby", "model"], 2, id="did-you-mean"),
    ],
)
def test_help_version_and_argument_errors_load_no_network_database_or_terminal_library(
    argv: list[str], code: int, tmp_path: Path
) -> None:
    done, modules = imported_by(argv, tmp_path)
    assert done.returncode == code, done.stderr[-2000:]
    assert "usage_async.cli._main" in modules  # the report is read as meant
    assert sorted(modules & set(HEAVY)) == []
    assert not any(module.startswith(tuple(f"{h}." for h in HEAVY)) for module in modules)


def test_the_installed_version_is_looked_up_only_for_version(tmp_path: Path) -> None:
    _, for_help = imported_by(["--help"], tmp_path)
    done, for_version = imported_by(["--version"], tmp_path)
    assert "importlib.metadata" not in for_help
    assert "importlib.metadata" in for_version
    assert done.stdout == f"usage-async {importlib.metadata.version('usage-async')}\n"


@pytest.mark.parametrize("endpoint", list(ua.ENDPOINTS.values()), ids=lambda e: e.name)
def test_each_endpoint_summary_is_the_first_line_of_its_client_method(
    endpoint: ua.Endpoint,
) -> None:
    # The command's help shows the table's summary, the library's reference the method's
    # docstring: a summary changed in one place only would tell two stories.
    method_doc = getattr(ua.UsageClient, endpoint.name).__doc__ or ""
    assert method_doc.splitlines()[0] == endpoint.summary


def test_an_endpoint_command_help_shows_its_summary_without_markup(cli: Cli) -> None:
    result = cli("costs", "--help")
    assert result.code == 0
    assert "Costs per daily bucket (amount as an exact Decimal)." in result.out


def test_focus_offers_exactly_the_formats_the_focus_library_writes() -> None:
    from usage_async.focus import FORMATS

    assert FOCUS_FORMATS == FORMATS


def test_every_command_module_is_registered_once() -> None:
    # A command module left out of REGISTRARS is a command nobody can run.
    modules = [
        importlib.import_module(f"{_commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(_commands.__path__)
    ]
    assert modules
    assert sorted(REGISTRARS, key=id) == sorted((m.register for m in modules), key=id)


# --- The rules of the house, read from the source ----------------------------------------------


def modules_under(folder: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text(), str(path))


def imports_of(name: str, tree: ast.Module) -> set[str]:
    """Every module ``tree`` imports, at any depth (inside functions, under TYPE_CHECKING),
    as absolute names; ``from X import y`` counts ``X.y`` too, in case ``y`` is a module."""
    package = name if tree_is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def tree_is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def test_the_libraries_never_import_the_command_line_argparse_or_rich() -> None:
    for library in ("sync", "focus", "emulator"):
        for name, tree in modules_under(PACKAGE / library):
            imported = imports_of(name, tree)
            assert not {m for m in imported if m.split(".")[0] in ("argparse", "rich")}, name
            assert not {m for m in imported if m.startswith("usage_async.cli")}, name


def test_no_two_command_line_modules_import_each_other_even_indirectly() -> None:
    graph = {name: imports_of(name, tree) for name, tree in modules_under(PACKAGE / "cli")}
    graph = {name: {m for m in imported if m in graph} for name, imported in graph.items()}

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        return seen

    assert [name for name in graph if name in reachable(name)] == []


def test_no_command_line_module_imports_a_private_name() -> None:
    private = [
        f"{name}: {alias.name}"
        for name, tree in modules_under(PACKAGE / "cli")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert private == []


def test_the_sync_configuration_loads_without_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "sync.toml"
    config.write_text('[sources.acme]\napi_key_env = "ACME_KEY"\n')
    check = (
        "import sys; from usage_async.sync import load_config; "
        f"config = load_config({str(config)!r}); "
        "assert config.sources[0].name == 'acme'; "
        "print(sorted(m for m in sys.modules if m.startswith(('usage_async.cli', 'argparse'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        env={**os.environ, "ACME_KEY": "sk-admin-test"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
