"""Keep a database current with the Usage and Costs API: incremental, idempotent, crash-safe.

    import usage_async as ua

    async with ua.UsageClient() as client:
        report = await ua.sync(client, "sqlite:///usage.db", since=timedelta(days=90))
        print(report.summary())

One table per endpoint (``completions``, ``costs``...), a ``sync_state`` table, the
directory tables ``projects``, ``users``, ``api_keys``, and a ``focus`` view of the costs as
FOCUS 1.2 rows, in SQLite or PostgreSQL through SQLAlchemy Core. Every run re-reads the
buckets that are not settled yet (the last two days by default: dlt's lag, dbt's lookback)
and replaces them, a page per transaction, with the state moving in the same transaction.
Rows go from the API's pages to the tables' tuples without result objects
(``stream.row_pages``). Needs the ``sync`` extra (``postgres`` for
PostgreSQL); ``usage-async sync`` is the command line.

Names load on first use, like the package root's: the command line imports this package to
register ``sync`` without loading SQLAlchemy.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._time import parse_duration
    from ._config import ConfigError, SourceConfig, SyncConfig, load_config
    from ._plan import DEFAULT_SETTLE
    from ._progress import SyncProgress
    from ._run import (
        DEFAULT_SINCE,
        SyncError,
        SyncReport,
        TableReport,
        server_now,
        sync,
        write_directory,
    )
    from ._schema import Schema
    from ._store import GroupingChangedError, database_url, open_engine

__all__ = [
    "DEFAULT_SETTLE",
    "DEFAULT_SINCE",
    "ConfigError",
    "GroupingChangedError",
    "Schema",
    "SourceConfig",
    "SyncConfig",
    "SyncError",
    "SyncProgress",
    "SyncReport",
    "TableReport",
    "database_url",
    "load_config",
    "open_engine",
    "parse_duration",
    "server_now",
    "sync",
    "write_directory",
]

_MODULE_OF = {
    "DEFAULT_SETTLE": "._plan",
    "DEFAULT_SINCE": "._run",
    "ConfigError": "._config",
    "GroupingChangedError": "._store",
    "Schema": "._schema",
    "SourceConfig": "._config",
    "SyncConfig": "._config",
    "SyncError": "._run",
    "SyncProgress": "._progress",
    "SyncReport": "._run",
    "TableReport": "._run",
    "database_url": "._store",
    "load_config": "._config",
    "open_engine": "._store",
    "parse_duration": ".._time",
    "server_now": "._run",
    "sync": "._run",
    "write_directory": "._run",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _CallableModule(types.ModuleType):
    """``usage_async.sync`` is both this package and the function ``ua.sync``.

    Importing the package sets the attribute ``sync`` of ``usage_async`` to the package (the
    import system does that after this file runs), shadowing the function the package root
    exports; so calling the package calls the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return __getattr__("sync")(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
