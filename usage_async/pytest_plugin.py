"""pytest fixtures for testing code that uses the Usage & Costs API, offline.

Installed with the package (entry point ``pytest11``), so any test can ask for:

* ``usage_emulator``: a running ``usage_async.emulator.Emulator`` on a free loopback port;
* ``usage_client``: a ``usage_async.UsageClient`` pointed at it, opened and closed for you.

Options for one test or module: ``@pytest.mark.usage_emulator(seed=3, faults=Faults(...),
now=lambda: 1767225600, late=LateData())``, the keyword arguments of
``usage_async.emulator.serve``.

This module is imported by every pytest run in an environment that has the package, so it
imports nothing heavy at module level: the emulator, aiohttp and the client are imported
inside the fixtures. It needs pytest-asyncio for the async fixtures; without it the fixtures
fail with a message saying so.

Layer: a leaf over the core and the emulator (nothing imports it); never cli or sync.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from ._client import UsageClient
    from .emulator import Emulator

__all__ = ["usage_client", "usage_emulator"]

_MARKER = "usage_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): options for the usage_emulator fixture, as for "
        "usage_async.emulator.serve (seed, faults, latency, now, late, spike, api_key)",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    return dict(marker.kwargs) if marker is not None else {}


F = TypeVar("F", bound=Callable[..., Any])


class _FixtureDecorator(Protocol):
    def __call__(self, function: F, /) -> F: ...


def _needs_pytest_asyncio(function: F) -> F:
    @pytest.fixture(name=function.__name__)
    def missing() -> None:
        pytest.fail(
            f"the {function.__name__} fixture needs pytest-asyncio: pip install pytest-asyncio"
        )

    return cast(F, missing)


_async_fixture: _FixtureDecorator
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - depends on the user's environment
    _async_fixture = _needs_pytest_asyncio
else:
    _async_fixture = cast(_FixtureDecorator, pytest_asyncio.fixture)


@_async_fixture
async def usage_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A running emulator (``base_url``, ``api_key``, ``stats``), stopped after the test."""
    from .emulator import serve

    async with serve(port=0, **_options(request)) as emulator:
        yield emulator


@_async_fixture
async def usage_client(usage_emulator: Emulator) -> AsyncIterator[UsageClient]:
    """A ``UsageClient`` for the ``usage_emulator`` of the same test.

    Its retries back off in milliseconds rather than seconds (a server-requested
    ``Retry-After`` is still honoured), so injected faults do not slow a test suite down.
    """
    from ._client import UsageClient

    async with UsageClient(
        usage_emulator.api_key,
        base_url=usage_emulator.base_url,
        initial_backoff=0.001,
        max_backoff=0.05,
    ) as client:
        yield client
