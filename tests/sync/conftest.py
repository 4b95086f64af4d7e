"""Fixtures for the sync tests: real databases, an emulator on a pinned clock, table snapshots.

SQLite is a file in the test's temporary directory. PostgreSQL is a real server this suite
starts once per session from the machine's PostgreSQL binaries (``initdb``, ``pg_ctl``):
a temporary data directory, trust authentication on a free loopback port, one new database
per test. As root (CI), the server runs as the ``postgres`` user, which owns the data and
socket directory. Without the binaries the PostgreSQL cases skip, saying why; under
``CI=true`` they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

import usage_async as ua
from usage_async.emulator import Emulator, serve
from usage_async.sync import open_engine
from usage_async.sync._schema import NOT_STORED

T = TypeVar("T")

# The emulator's clock in most tests: far from the machine's (2026-11 when written), mid-hour.
NOW = int(dt.datetime(2026, 3, 10, 13, 25, 7, tzinfo=dt.UTC).timestamp())
DAY = 86400
IN_CI = os.environ.get("CI") == "true"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidate = Path(folder, name)
        if candidate.exists():
            return str(candidate)
    return None


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true needs the PostgreSQL tests to run: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on its own event loop in a thread (safe inside a running loop)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(make())
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL server for the session: ``postgresql://postgres@127.0.0.1:PORT``."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        _unavailable(
            "the PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
            "apt-get install postgresql-15"
        )
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        _unavailable("asyncpg is not installed: pip install 'usage-async[postgres]'")
    assert initdb is not None
    assert pg_ctl is not None
    root = Path(tempfile.mkdtemp(prefix="usage-async-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: hand the directory to the postgres user.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            _unavailable("running as root needs a 'postgres' user to run the server as")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )

    def run(*argv: str) -> None:
        done = subprocess.run(
            [*as_owner, *argv], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}{done.stderr}")

    started = False
    try:
        run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
            "-o", options, "start")  # fmt: skip
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        if started:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


async def _admin(server: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def postgresql_database(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL server."""
    name = "t" + uuid.uuid4().hex[:16]
    run_in_thread(lambda: _admin(postgres_server, f"CREATE DATABASE {name}"))
    try:
        yield f"{postgres_server}/{name}"
    finally:
        run_in_thread(lambda: _admin(postgres_server, f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database's URL, as a user would write it: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'usage.db'}"
    url: str = request.getfixturevalue("postgresql_database")
    return url


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'usage.db'}"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    return value


async def snapshot(url: str, *, prefix: str = "") -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the database (of ``prefix``), rows sorted: what a user would query.

    Values are read through SQLAlchemy reflection (raw database values: timestamps as the
    database stores them, decimals as ``Decimal`` or decimal text).
    """
    engine = open_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            out = {}
            for name in sorted(n for n in names if n.startswith(prefix)):
                table = sa.Table(name, sa.MetaData())
                await conn.run_sync(lambda c, t=table: sa.inspect(c).reflect_table(t, None))
                result = await conn.execute(sa.select(table))
                rows = [tuple(_plain(v) for v in row) for row in result]
                out[name] = sorted(rows, key=repr)
            return out
    finally:
        await engine.dispose()


async def table_rows(url: str, table: str, where: str = "") -> list[dict[str, Any]]:
    """The rows of one table as dicts (raw database values)."""
    engine = open_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text(f"SELECT * FROM {table} {where}"))
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulator with its clock pinned at ``NOW``."""
    async with serve(port=0, now=lambda: NOW) as emu:
        yield emu


def client_for(emu: Any, **options: Any) -> ua.UsageClient:
    """A client for an emulator (or any test server with ``base_url``/``api_key``) whose
    retries back off in milliseconds."""
    return ua.UsageClient(
        emu.api_key, base_url=emu.base_url, initial_backoff=0.001, max_backoff=0.02, **options
    )


def cli_env(emu: Any, **extra: str) -> dict[str, str]:
    """A child process's environment pointing the command line at ``emu``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return {**base, "OPENAI_ADMIN_KEY": emu.api_key, "OPENAI_BASE_URL": emu.base_url, **extra}


def cli_command(*argv: str) -> list[str]:
    """``usage-async ARGV...`` run by this interpreter (no console script needed)."""
    return [sys.executable, "-c", "import sys; from usage_async.cli import main; "
            "sys.exit(main(sys.argv[1:]))", *argv]  # fmt: skip


def iso(seconds: int) -> str:
    """Unix seconds as the tables print a time: ISO-8601 UTC text (see ``plain``)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(value: Any) -> Any:
    """A value as a user compares it: times as ISO-8601 UTC text, numbers exact."""
    if isinstance(value, dt.datetime):
        return iso(int(value.timestamp()))
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    return value


def comparable(rows: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples of (column, plain value), leaving out ``drop``."""
    return sorted(
        (tuple(sorted((k, plain(v)) for k, v in row.items() if k not in drop)) for row in rows),
        key=repr,
    )


async def table_as_api_rows(url: str, table: str, where: str = "") -> list[tuple[Any, ...]]:
    """A synced table's rows, comparable with ``api_rows`` (bookkeeping columns left out,
    decimal text read as numbers)."""
    rows = await table_rows(url, table, where)
    for row in rows:
        for name in ("amount", "quantity"):
            if isinstance(row.get(name), str):
                row[name] = Decimal(row[name])
    return comparable(rows, drop=("source", "bucket_width"))


async def api_rows(client: ua.UsageClient, endpoint: str, **params: Any) -> list[tuple[Any, ...]]:
    """The same data pulled directly as result objects and made rows the object way, in the
    table's column names (and with the fields costs rows carry besides that the table keeps:
    not the name fields, ``NOT_STORED``)."""
    stream = client.stream(endpoint, **params)
    extras = ua.row_fields(stream.query.endpoint.result_type, (), extras=True)[2:]
    extras = [f for f in extras if f not in ua.row_fields(stream.query.endpoint.result_type)]
    extras = [f for f in extras if f not in NOT_STORED]  # the API leaves them empty
    rows = []
    async for bucket in stream:
        for result, row in zip(
            bucket.results, ua.bucket_rows(bucket, stream.query.group_by), strict=True
        ):
            rows.append({**row, **{f: getattr(result, f) for f in extras}})
    if endpoint == "images":
        for row in rows:
            if "source" in row:
                row["image_source"] = row.pop("source")
    return comparable(rows)
