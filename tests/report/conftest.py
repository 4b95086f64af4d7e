"""Fixtures for the chargeback report: the hand-made ledger server and the emulator.

``ledger`` / ``ledger_client`` serve ``tests/report/ledger.py``'s charges, whose totals the
tests work out by hand; ``chargeback`` is what ``collect`` reads from it for the ledger's
period. ``emulator_client`` is a client of the embedded emulator with its clock pinned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import usage_async as ua
from usage_async.emulator import Emulator, serve
from usage_async.report import Chargeback, collect

from .ledger import END, KEY, START, Ledger, serve_ledger

EMULATOR_NOW = 1_772_368_496  # 2026-03-01T12:34:56Z


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
async def ledger_client(ledger: Ledger) -> AsyncIterator[ua.UsageClient]:
    async with serve_ledger(ledger) as url, ua.UsageClient(KEY, base_url=url) as client:
        yield client


@pytest.fixture
async def chargeback(ledger_client: ua.UsageClient) -> Chargeback:
    return await collect(ledger_client, START, END)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with serve(port=0, now=lambda: float(EMULATOR_NOW)) as running:
        yield running


@pytest.fixture
async def emulator_client(emulator: Emulator) -> AsyncIterator[ua.UsageClient]:
    async with ua.UsageClient(emulator.api_key, base_url=emulator.base_url) as client:
        yield client
