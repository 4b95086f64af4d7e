"""Keep a database current with the Usage and Costs API: incremental, idempotent, crash-safe.

    import usage_async as ua

    async with ua.UsageClient() as client:
        report = await ua.sync(client, "sqlite:///usage.db", since=timedelta(days=90))
        print(report.summary())

One table per endpoint (``completions``, ``costs``...), a ``sync_state`` table, the
directory tables ``projects``, ``users``, ``api_keys``, a ``focus`` view of the costs as
FOCUS 1.2 rows and the daily views ``cost_by_project_day`` and ``tokens_by_model_day``, in
SQLite or PostgreSQL through SQLAlchemy Core (``describe()`` lists them all, column by
column). Every run re-reads the
buckets that are not settled yet (the last two days by default: dlt's lag, dbt's lookback)
and replaces them, a page per transaction, with the state moving in the same transaction.
Rows go from the API's pages to the tables' tuples without result objects
(``stream.row_pages``). Needs the ``sync`` extra (``postgres`` for
PostgreSQL); ``usage-async sync`` is the command line.

Names load on first use, like the package root's (the ``if TYPE_CHECKING:`` block is the one
list of exports, read by ``_lazy``): the command line imports this package to register
``sync`` without loading SQLAlchemy.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._time import parse_duration as parse_duration
    from ._clock import server_now as server_now
    from ._config import ConfigError as ConfigError
    from ._config import SourceConfig as SourceConfig
    from ._config import SyncConfig as SyncConfig
    from ._config import load_config as load_config
    from ._describe import DescribedColumn as DescribedColumn
    from ._describe import Relation as Relation
    from ._describe import describe as describe
    from ._describe import describe_database as describe_database
    from ._lock import SyncBusyError as SyncBusyError
    from ._plan import DEFAULT_SETTLE as DEFAULT_SETTLE
    from ._progress import SyncProgress as SyncProgress
    from ._run import DEFAULT_SINCE as DEFAULT_SINCE
    from ._run import SyncError as SyncError
    from ._run import SyncReport as SyncReport
    from ._run import TableReport as TableReport
    from ._run import sync as sync
    from ._run import write_directory as write_directory
    from ._schema import Schema as Schema
    from ._store import BucketWidthChangedError as BucketWidthChangedError
    from ._store import GroupingChangedError as GroupingChangedError
    from ._store import database_exists as database_exists
    from ._store import database_url as database_url
    from ._store import open_engine as open_engine
else:
    from .._lazy import lazy_exports

    __all__, __getattr__, __dir__ = lazy_exports(__name__)


class _CallableModule(types.ModuleType):
    """``usage_async.sync`` is both this package and the function ``ua.sync``.

    Importing the package sets the attribute ``sync`` of ``usage_async`` to the package (the
    import system does that after this file runs), shadowing the function the package root
    exports; so calling the package calls the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync(*args, **kwargs)  # the function, loaded on first use


sys.modules[__name__].__class__ = _CallableModule
