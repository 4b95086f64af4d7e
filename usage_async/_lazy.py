"""Lazy exports for a package's ``__init__``: its ``if TYPE_CHECKING:`` block is the one list.

Core layer: imports only the standard library, so a package's ``__init__`` can use it before
anything else of the package is loaded. A package writes each public name once, as an
explicit re-export that type checkers read with its real type, and hands the rest to this
module::

    if TYPE_CHECKING:
        from ._client import UsageClient as UsageClient
        ...
    else:
        __all__, __getattr__, __dir__ = lazy_exports(__name__)

At run time ``lazy_exports`` reads that block from the package's own source with ``ast``
(once, at import: about a millisecond, ``ast``'s own import included) and gives ``__all__``
and the PEP 562 hooks that import a name's module on first use. So ``import usage_async``
loads none of aiohttp, cattrs or tenacity, which matters because the pytest plugin loads in
every test run.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["declared_exports", "export_order", "lazy_exports"]


def export_order(name: str) -> tuple[bool, str]:
    """The sort key of an ``__all__``: constants (``ENDPOINTS``) first, then by name."""
    return (not name.isupper(), name)


def declared_exports(package: str) -> dict[str, tuple[str, str]]:
    """Each name ``package`` exports, mapped to the module that defines it and its name
    there, as the package's ``if TYPE_CHECKING:`` block imports them.

    ``package`` must be imported (or being imported). Raises ``ImportError`` when its source
    cannot be read, or when the block holds anything but ``from module import Name as Name``
    lines (a plain ``from module import Name`` is not a re-export to type checkers) and
    ``from . import subpackage as subpackage`` (which exports the subpackage), or a name
    twice.
    """
    exports: dict[str, tuple[str, str]] = {}
    for statement in _type_checking_block(package):
        if (
            isinstance(statement, ast.ImportFrom)
            and statement.module is None
            and statement.level == 1
        ):  # from . import budgets as budgets: a subpackage, exported as itself
            for alias in statement.names:
                _check_reexport(package, statement, alias)
                exports[alias.name] = (f"{package}.{alias.name}", "")
            continue
        if not isinstance(statement, ast.ImportFrom) or statement.module is None:
            raise ImportError(
                f"{package}: its TYPE_CHECKING block may hold only "
                f"'from .module import Name as Name' lines, not {ast.unparse(statement)!r}"
            )
        module = _absolute(package, statement.level, statement.module)
        for alias in statement.names:
            _check_reexport(package, statement, alias)
            if alias.name in exports:
                raise ImportError(f"{package}: {alias.name} is exported twice")
            exports[alias.name] = (module, alias.name)
    return exports


def _check_reexport(package: str, statement: ast.ImportFrom, alias: ast.alias) -> None:
    if alias.asname != alias.name:
        source = f"{'.' * statement.level}{statement.module or ''}"
        raise ImportError(
            f"{package}: write 'from {source} import {alias.name} as {alias.name}', so that "
            f"type checkers see it re-exported"
        )


def lazy_exports(
    package: str,
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``, from its
    ``declared_exports``.

    The ``__getattr__`` imports the defining module of a name on first use and keeps the
    value in the package's namespace, so later lookups do not reach it; for any other name it
    raises ``AttributeError``. Raises ``ImportError`` as ``declared_exports`` does.
    """
    where = declared_exports(package)
    namespace = vars(sys.modules[package])
    names = sorted(where, key=export_order)

    def __getattr__(name: str) -> Any:
        found = where.get(name)
        if found is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = found
        imported = importlib.import_module(module)
        value = getattr(imported, attribute) if attribute else imported
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return names, __getattr__, __dir__


def _type_checking_block(package: str) -> list[ast.stmt]:
    """The statements of the top-level ``if TYPE_CHECKING:`` of ``package``'s source."""
    source = _source_of(package)
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            return node.body
    raise ImportError(f"{package}: no 'if TYPE_CHECKING:' block lists its exports")


def _source_of(package: str) -> str:
    """The text of ``package``'s ``__init__``: from its file, else from its loader (a zip)."""
    spec = sys.modules[package].__spec__
    if spec is not None and spec.has_location and spec.origin is not None:
        # Source files are UTF-8 (PEP 3120); decoding by hand spares importing tokenize.
        with contextlib.suppress(OSError), open(spec.origin, encoding="utf-8") as file:
            return file.read()
    # Not every loader is the file's own: pytest's assertion rewriter loads this package
    # when its plugin is an entry point, and has no get_source.
    get_source = getattr(getattr(spec, "loader", None), "get_source", None)
    source = get_source(package) if get_source is not None else None
    if source is None:
        raise ImportError(f"{package}: its exports are read from its source, which is missing")
    return str(source)


def _absolute(package: str, level: int, module: str) -> str:
    """The absolute name of ``from <level dots><module> import ...`` in ``package``'s
    ``__init__`` (one dot is the package itself)."""
    if level == 0:
        return module
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{module}"
