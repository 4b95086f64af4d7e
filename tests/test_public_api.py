"""The package root is the contract: its export list and its exception tree."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

import usage_async as ua
import usage_async.sync


def test_the_export_list_is_sorted_complete_and_importable() -> None:
    assert ua.__all__ == sorted(ua.__all__, key=lambda n: (not n.isupper(), n))
    for name in ua.__all__:
        assert hasattr(ua, name), name
    for name in (
        "UsageClient",
        "BucketStream",
        "Bucket",
        "Page",
        "Amount",
        "UnknownResult",
        "fan_out",
        "rows",
        "totals",
        "CompletionsResult",
        "DecisionsResult",
        "EmbeddingsResult",
        "ModerationsResult",
        "ImagesResult",
        "AudioSpeechesResult",
        "AudioTranscriptionsResult",
        "VectorStoresResult",
        "CodeInterpreterSessionsResult",
        "FileSearchesResult",
        "WebSearchesResult",
        "CostsResult",
        "focus_rows",
        "write_focus",
        "FocusRows",
        "FocusSummary",
        "FocusColumn",
        "FOCUS_COLUMNS",
        "ProjectDirectory",
        "FocusExportError",
        "Directory",
        "ListStream",
        "Project",
        "User",
        "ProjectApiKey",
        "KeyOwner",
        "ServiceAccount",
        "LIST_ENDPOINTS",
        "FanOut",
        "ListEndpoint",
        "Names",
        "row_dicts",
        "row_fields",
        "SyncError",
        "SyncReport",
        "sync",
    ):
        assert name in ua.__all__, name
    # Every name the README uses as ua.<name> is exported.
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert set(re.findall(r"\bua\.(\w+)", readme)) <= set(ua.__all__)


def test_the_exception_tree_is_the_documented_one() -> None:
    expected = {
        ua.InvalidParameterError: (ua.UsageError, ValueError),
        ua.APIError: (ua.UsageError,),
        ua.APIStatusError: (ua.APIError,),
        ua.BadRequestError: (ua.APIStatusError,),
        ua.AuthenticationError: (ua.APIStatusError,),
        ua.PermissionDeniedError: (ua.APIStatusError,),
        ua.NotFoundError: (ua.APIStatusError,),
        ua.RateLimitError: (ua.APIStatusError,),
        ua.InternalServerError: (ua.APIStatusError,),
        ua.APIConnectionError: (ua.APIError,),
        ua.APITimeoutError: (ua.APIConnectionError,),
        ua.DecodeError: (ua.APIError,),
        ua.PaginationError: (ua.APIError,),
        ua.ClientClosedError: (ua.UsageError,),
        ua.FanOutError: (ua.UsageError,),
    }
    for cls, parents in expected.items():
        for parent in parents:
            assert issubclass(cls, parent), (cls, parent)
    doc = ua._exceptions.__doc__ or ""
    for cls in expected:
        assert cls.__name__ in doc, f"{cls.__name__} missing from the drawn tree"


def test_every_api_error_carries_a_request_id() -> None:
    err = ua.RateLimitError("slow", status_code=429, request_id="req_1", retry_after=2.0)
    assert (err.request_id, err.retry_after, err.status_code) == ("req_1", 2.0, 429)
    assert ua.DecodeError("bad", request_id="req_2").request_id == "req_2"
    assert "req_2" in str(ua.DecodeError("bad", request_id="req_2"))


def type_checking_imports(package: ModuleType) -> dict[str, str]:
    """Name -> defining module, as a type checker reads the package's TYPE_CHECKING block."""
    tree = ast.parse(Path(package.__file__ or "").read_text())
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n)
    )
    found = {}
    for line in block.body:
        assert isinstance(line, ast.ImportFrom), ast.unparse(line)
        module = importlib.util.resolve_name(
            "." * line.level + (line.module or ""), package.__name__
        )
        for alias in line.names:
            assert alias.asname == alias.name, f"{alias.name} is not re-exported to type checkers"
            found[alias.name] = module
    return found


@pytest.mark.parametrize("package", [ua, usage_async.sync], ids=lambda p: p.__name__)
def test_the_typed_imports_are_the_one_export_list(package: ModuleType) -> None:
    declared = type_checking_imports(package)
    assert sorted(package.__all__) == sorted(declared)
    assert package.__all__ == sorted(package.__all__, key=lambda n: (not n.isupper(), n))
    for name, module in declared.items():
        value = getattr(package, name)
        if package is ua and name == "sync":
            # Importing usage_async.sync rebinds ua.sync to the package, which calls the
            # function (see the test below); either way ua.sync(...) is the sync.
            assert callable(value)
            continue
        assert value is getattr(importlib.import_module(module), name), name
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        getattr(package, "NoSuchName")  # noqa: B009


def test_the_sync_package_is_also_the_sync_function() -> None:
    assert callable(usage_async.sync)
    assert usage_async.sync.sync.__module__ == "usage_async.sync._run"


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    loaded = loaded_after("import usage_async")
    assert not {"aiohttp", "cattrs", "tenacity", "orjson", "attrs"} & loaded
    assert not {m for m in loaded if m.startswith("usage_async.")} - {"usage_async._lazy"}


def test_importing_the_sync_package_loads_no_database_library() -> None:
    loaded = loaded_after("import usage_async.sync")
    assert not {"sqlalchemy", "aiosqlite", "asyncpg", "aiohttp"} & loaded


def test_a_package_whose_export_is_not_written_as_a_re_export_fails_to_import(
    tmp_path: Path,
) -> None:
    package = tmp_path / "lazy_example"
    package.mkdir()
    (package / "_impl.py").write_text("VALUE = 1\nOTHER = 2\n")
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from ._impl import VALUE as VALUE
                from ._impl import OTHER
            else:
                from usage_async._lazy import lazy_exports
                __all__, __getattr__, __dir__ = lazy_exports(__name__)
            """
        )
    )
    code = "import lazy_example"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode != 0
    assert "from ._impl import OTHER as OTHER" in run.stderr
