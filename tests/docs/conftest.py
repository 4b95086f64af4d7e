"""Fixtures for the documentation's tests: the docs' own scripts, and one emulator for all."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from usage_async.emulator import Emulator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def docs_module(name: str) -> ModuleType:
    """A Python file of ``docs/`` (``hooks``, ``gen_cli``), imported from its path."""
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def hooks() -> ModuleType:
    return docs_module("hooks")


@pytest.fixture(scope="session")
def gen_cli() -> ModuleType:
    return docs_module("gen_cli")


@pytest.fixture(scope="session")
def emulator(gen_cli: ModuleType) -> Iterator[Emulator]:
    """An emulator on the real clock, for the examples: seed 0, like ``usage-async emulator``."""
    with gen_cli.emulator(clock=None) as running:
        yield running
