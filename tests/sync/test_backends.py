"""The databases a sync writes to: one module each, behind one interface, found in one registry.

Every registered backend implements the whole ``Backend`` interface, binds the same instant
and amount on the driver's path as through SQLAlchemy's, and names the extra that really
installs its driver. A database with no backend is refused in the registry's words before
anything is created, whether it comes as a URL, an engine or a dialect a type is bound for.
And no sync module outside a backend tests a dialect's name, so adding a database stays one
module and one registry entry.
"""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import inspect
import sqlite3
import sys
import threading
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import create_async_engine

import usage_async as ua
import usage_async.sync as sync_package
from usage_async.sync import _registry as registry
from usage_async.sync import database_url, open_engine, write_directory
from usage_async.sync._backend import Backend
from usage_async.sync._schema import ExactDecimal, UtcDateTime
from usage_async.sync._sqlite import _switch_to_wal

from .conftest import client_for

ROOT = Path(__file__).resolve().parents[2]
SYNC_DIR = Path(sync_package.__file__).resolve().parent
REFUSAL = "cannot sync into mysql: give a sqlite:/// or postgresql:// URL"
BACKENDS = sorted(registry.BACKENDS.items())


def interface() -> dict[str, Any]:
    """The members of ``Backend``: its attributes (annotations) and its methods."""
    members: dict[str, Any] = dict.fromkeys(Backend.__annotations__)
    for name, value in vars(Backend).items():
        if inspect.isfunction(value) and not name.startswith("_"):
            members[name] = value
    return members


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    """A callable's parameters after ``self``: name, kind, default."""
    found = list(inspect.signature(function).parameters.values())
    if found and found[0].name == "self":
        found = found[1:]
    return [(p.name, p.kind, p.default) for p in found]


@pytest.mark.parametrize(("name", "backend"), BACKENDS)
def test_every_registered_backend_implements_the_whole_interface(
    name: str, backend: Backend
) -> None:
    members = interface()
    assert {"configure", "write_page", "create_view", "upsert"} <= set(members)
    assert backend.name == name
    for member, method in members.items():
        assert hasattr(backend, member), f"{name} has no {member}"
        value = getattr(backend, member)
        if method is None:
            assert isinstance(value, str | bool), (name, member, value)
            continue
        assert callable(value), (name, member)
        assert inspect.iscoroutinefunction(value) == inspect.iscoroutinefunction(method), (
            name,
            member,
        )
        if member != "moment":  # a cached function: its signature is the cache's (*args)
            assert parameters(value) == parameters(method), (name, member)


def dialect_of(backend: Backend) -> sa.Dialect:
    """The dialect of the backend's own example URL (an engine made, never connected)."""
    return create_async_engine(database_url(backend.url_example)).dialect


@pytest.mark.parametrize(("name", "backend"), BACKENDS)
def test_the_page_writes_bind_times_and_money_as_sqlalchemy_binds_them(
    name: str, backend: Backend
) -> None:
    # A page's rows and state go to the driver as `moment` and `money` make them; the schema
    # check and the directory go through SQLAlchemy's types: both must store the same values.
    dialect = dialect_of(backend)
    assert registry.backend_of(dialect) is backend
    seconds = 1_772_373_600  # 2026-03-01T14:00:00Z
    moment = dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert backend.moment(seconds) == UtcDateTime().process_bind_param(moment, dialect)
    assert backend.moment(seconds) == UtcDateTime().process_bind_param(seconds, dialect)
    for amount in (Decimal("0.0000045000"), Decimal("1234567890.1234567890123456789")):
        bound = backend.money(amount)
        assert bound == ExactDecimal().process_bind_param(amount, dialect)
        assert Decimal(bound) == amount  # every digit, never through a float


def test_each_backend_names_the_extra_that_installs_its_driver() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for backend in registry.BACKENDS.values():
        requirements = " ".join(extras[backend.extra])
        assert backend.driver_module in requirements, (backend.name, backend.extra)
        assert database_url(backend.url_form + "db").drivername == backend.driver


def test_a_missing_driver_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # import asyncpg now fails
    with pytest.raises(ua.InvalidParameterError, match=r"pip install 'usage-async\[postgres\]'"):
        open_engine("postgresql://u@h/db")


def test_a_url_of_a_database_with_no_backend_is_refused_in_the_registrys_words() -> None:
    with pytest.raises(ua.InvalidParameterError) as refused:
        database_url("mysql://u:secret@h/db")
    assert str(refused.value) == REFUSAL
    assert refused.value.param == "database"
    with pytest.raises(ua.InvalidParameterError, match="sqlite:///PATH or postgresql://") as bad:
        database_url("postgresql://u:secret@h:port/db")
    assert "secret" not in str(bad.value)


@pytest.mark.parametrize(
    "bind",
    [
        lambda d: UtcDateTime().process_bind_param(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), d),
        lambda d: UtcDateTime().load_dialect_impl(d),
        lambda d: ExactDecimal().process_bind_param(Decimal(1), d),
        lambda d: ExactDecimal().load_dialect_impl(d),
    ],
)
def test_the_types_refuse_a_dialect_with_no_backend_in_the_same_words(bind: Any) -> None:
    with pytest.raises(ua.InvalidParameterError) as refused:
        bind(mysql.dialect())
    assert str(refused.value) == REFUSAL


@pytest.fixture
def without_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry as it would be with no SQLite backend: SQLite is then a database the
    sync does not know (the engines below are real, so 'nothing created' is checkable)."""
    known = {k: v for k, v in registry.BACKENDS.items() if k != "sqlite"}
    monkeypatch.setattr(registry, "BACKENDS", known)


@pytest.mark.usefixtures("without_sqlite")
async def test_a_database_with_no_backend_is_refused_before_anything_is_created(
    emulator: ua.emulator.Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "usage.db"
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")  # made without open_engine
    try:
        async with client_for(emulator) as client:
            for database in (f"sqlite:///{path}", engine):
                with pytest.raises(ua.InvalidParameterError) as refused:
                    await ua.sync(client, database, since=dt.timedelta(days=2))
                assert str(refused.value) == "cannot sync into sqlite: give a postgresql:// URL"
                assert refused.value.param == "database"
        with pytest.raises(ua.InvalidParameterError, match="cannot sync into sqlite"):
            await write_directory(engine, projects=[{"id": "proj_1"}])
    finally:
        await engine.dispose()
    assert not path.exists()
    assert emulator.stats.requests == 0  # refused before the server's clock was read


# --- Only backend modules know a dialect ------------------------------------------------------

# The backends, and the registry that looks a dialect's name up: the only modules that may.
KNOWING_MODULES = {type(backend).__module__ for backend in registry.BACKENDS.values()} | {
    registry.__name__
}


def dialect_words() -> set[str]:
    """Names that mean one database: dialect names, drivers, driver modules."""
    words = set()
    for backend in registry.BACKENDS.values():
        words |= {backend.name, backend.driver, backend.driver_module}
    return words


def dialect_branches(source: str, words: set[str]) -> list[str]:
    """Where ``source`` asks which database it is: ``dialect.name``, a comparison with (or
    a mapping keyed by) a dialect's name, an import of a dialect's package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and node.attr == "name":
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "dialect") or (
                isinstance(owner, ast.Attribute) and owner.attr == "dialect"
            ):
                found.append(f"line {line}: dialect.name")
        elif isinstance(node, ast.Constant) and node.value in words:
            found.append(f"line {line}: {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sqlalchemy.dialects"
        ):
            found.append(f"line {line}: from {node.module} import")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sqlalchemy.dialects"):
                    found.append(f"line {line}: import {alias.name}")
    return found


def test_the_dialect_check_finds_a_branch_put_back() -> None:
    branch = (
        "from sqlalchemy.dialects import sqlite\n"
        "if engine.dialect.name == 'sqlite':\n"
        "    pass\n"
        "DRIVERS = {'postgresql': 'postgresql+asyncpg'}\n"
    )
    assert len(dialect_branches(branch, dialect_words())) == 5


def test_no_sync_module_outside_a_backend_branches_on_the_dialect() -> None:
    checked = {}
    for path in sorted(SYNC_DIR.rglob("*.py")):
        module = "usage_async." + ".".join(path.relative_to(SYNC_DIR.parent).with_suffix("").parts)
        if module in KNOWING_MODULES:
            continue
        checked[path.name] = dialect_branches(path.read_text(), dialect_words())
    assert {"_store.py", "_schema.py", "_focus_view.py", "_run.py"} <= set(checked)
    assert {name: found for name, found in checked.items() if found} == {}


@pytest.mark.parametrize("mode", ["disable", "require", "verify-full"])
def test_libpqs_sslmode_reaches_asyncpg_as_its_ssl(mode: str) -> None:
    url = database_url(f"postgresql://usage@db:5432/usage?sslmode={mode}&application_name=x")
    assert url.drivername == "postgresql+asyncpg"
    assert dict(url.query) == {"ssl": mode, "application_name": "x"}


async def test_a_sync_into_a_url_with_sslmode_connects(postgresql_database: str) -> None:
    engine = open_engine(postgresql_database + "?sslmode=disable")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_sqlite_connection_waits_for_a_writer_longer_than_the_drivers_5_seconds(
    tmp_path: Path,
) -> None:
    # Another run's transaction (a page, a schema) holds the write lock of a new file; the
    # WAL switch on connect needs it. The driver's own timeout is 5 s; ours is 60 s.
    path = tmp_path / "usage.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    releasing = threading.Timer(5.5, holder.execute, ("COMMIT",))
    releasing.start()
    engine = open_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar() == "wal"
    finally:
        releasing.join()
        holder.close()
        await engine.dispose()


async def test_connections_racing_to_switch_a_new_sqlite_file_to_wal_all_get_in(
    tmp_path: Path,
) -> None:
    # Two connections switching a new file to WAL at once can deadlock inside SQLite, which
    # answers one of them "database is locked" at once, without its busy timeout: two
    # sources' first runs on one new file failed so, about one time in sixteen. A hundred
    # new files of six connections each lost that race in both runs tried without the retry.
    for round_ in range(100):
        path = tmp_path / f"usage-{round_}.db"
        engines = [open_engine(f"sqlite:///{path}") for _ in range(6)]

        async def mode(engine: Any) -> Any:
            async with engine.connect() as conn:
                return (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar()

        try:
            modes = await asyncio.gather(*(mode(engine) for engine in engines))
        finally:
            for engine in engines:
                await engine.dispose()
        assert modes == ["wal"] * 6


def test_a_wal_switch_that_waited_out_its_busy_timeout_is_not_tried_again(
    tmp_path: Path,
) -> None:
    # Only the deadlock between two switches is answered at once and worth another try. A
    # writer holding a file not in WAL for the whole busy timeout (60 s in a run) must fail
    # the connection after one wait, not after twenty.
    path = tmp_path / "rollback.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=200")
    tries: list[str] = []

    class Counting:
        def execute(self, sql: str) -> Any:
            tries.append(sql)
            return connection.execute(sql)

    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _switch_to_wal(Counting(), 0.2)
    finally:
        connection.close()
        holder.close()
    assert tries == ["PRAGMA journal_mode=WAL"]
