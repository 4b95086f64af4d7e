"""What a database adds to a pull: a 90-day backfill into SQLite and PostgreSQL vs no database.

Run from the repository root (after ``pip install -e '.[dev]'``)::

    python benchmarks/sync.py                 # print the figures
    python benchmarks/sync.py --write         # also rewrite its section of RESULTS.md

The backfill is every endpoint, ``1h`` buckets (costs daily), grouped by every field, from an
emulator in its own process with its clock pinned (identical bytes every round).

The floor is the same pull with no database, as a user would write it: the sync's requests
(the server's clock, the directory, then every table's queries with the same windows,
grouping and concurrency, tables concurrently) through the public client, every page
decoded into result objects (``stream.pages()``), nothing else. Two more pulls are measured
for comparison: the previous floor (the same, each result also turned into a dict row by
``ua.bucket_rows``) and the rows the sync reads (``stream.row_pages()``: tuples straight from
the wire, no objects). PostgreSQL is a throwaway server started here from the machine's
binaries, fsync on (skipped with a note if there are none).

Rounds run every case once, in an order that rotates from round to round; a case's figure is
its median over rounds, and "x the floor" is the median of its per-round ratios to the floor
of the same round (so a busy moment weighs on both sides). The spread (lowest to highest
per-round ratio) is printed beside it. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import glob
import importlib.metadata
import json
import os
import platform
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

from _results import write_section  # benchmarks/ is the script's own folder

import usage_async as ua
from usage_async.sync import server_now
from usage_async.sync._plan import Job, make_jobs, segments

KEY = "sk-admin-benchmark"
DAY = 86400
NOW = 1_764_547_200 + 13 * 3600  # 2025-12-01T13:00:00Z
DAYS = 90
SINCE = NOW - DAYS * DAY
CONCURRENCY = 4
MARK = "<!-- sync figures -->"


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator in a subprocess, clock pinned at ``NOW``; yields its base URL."""
    code = (
        "import asyncio\n"
        "from usage_async.emulator import serve\n"
        "async def main():\n"
        f"    async with serve(port=0, api_key={KEY!r}, now=lambda: {NOW}) as emu:\n"
        "        print(emu.base_url, flush=True)\n"
        "        await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the emulator did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, name).exists():
            return str(Path(folder, name))
    return None


@contextlib.contextmanager
def postgres_server() -> Iterator[str | None]:
    """A throwaway PostgreSQL server (run as ``postgres`` when we are root); ``None`` if
    there are no binaries."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="usage-async-bench-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"
    # Durable settings (fsync on): the figures are those of a real server's commits.
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    subprocess.run([*as_owner, initdb, "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w",
                    "-o", options, "start"], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


async def _pg_admin(server: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _client(base_url: str) -> ua.UsageClient:
    return ua.UsageClient(KEY, base_url=base_url)


async def pull(base_url: str, how: str) -> int:
    """The sync's requests with no database: pages decoded ``how`` (objects, objects then
    dict rows, or row tuples from the wire); returns the results read."""
    async with _client(base_url) as client:
        now, _ = await server_now(client, SINCE)
        await client.directory()

        async def one(job: Job) -> int:
            results = 0
            start = SINCE - SINCE % job.width_seconds
            for part in segments(job, start, now):  # costs by key: not before 2025-12-06
                stream = client.stream(
                    job.endpoint.name,
                    start_time=part.start,
                    end_time=part.end,
                    bucket_width=job.width,
                    group_by=list(part.group_by),
                    limit=job.endpoint.page_limit(job.width).maximum,
                    concurrency=CONCURRENCY,
                )
                if how == "objects":
                    async for page in stream.pages():
                        results += sum(len(bucket.results) for bucket in page.data)
                elif how == "object rows":
                    async for page in stream.pages():
                        for bucket in page.data:
                            results += len(ua.bucket_rows(bucket, part.group_by))
                else:
                    async for row_page in stream.row_pages():
                        results += sum(len(bucket.results) for bucket in row_page.data)
            return results

        jobs = make_jobs(list(ua.ENDPOINTS.values()), "1h", None, {}, 2 * DAY)
        counts = await asyncio.gather(*(one(job) for job in jobs))
    return sum(counts)


async def backfill(base_url: str, database: str) -> int:
    async with _client(base_url) as client:
        report = await ua.sync(client, database, since=SINCE, concurrency=CONCURRENCY)
    return sum(report.rows.values())


def _versions() -> str:
    names = ("sqlalchemy", "aiosqlite", "asyncpg", "aiohttp")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    pg = _binary("postgres")
    if pg:
        out = subprocess.run([pg, "--version"], capture_output=True, text=True, check=False)
        found.append(out.stdout.strip().replace("postgres (PostgreSQL)", "PostgreSQL"))
    return ", ".join(found)


CASES = {
    "floor": "pull into result objects, no database (**floor**)",
    "object rows": "pull, objects then dict rows (`ua.bucket_rows`; the old floor)",
    "wire rows": "pull, row tuples from the wire (`row_pages`, what the sync reads)",
    "sqlite": "sync into SQLite (file, WAL)",
    "postgresql": "sync into PostgreSQL (loopback, fsync on)",
}


async def measure(rounds: int) -> tuple[str, dict[str, object]]:
    tmp = Path(tempfile.mkdtemp(prefix="usage-async-bench-"))
    wall: dict[str, list[float]] = {case: [] for case in CASES}
    cpu: dict[str, list[float]] = {case: [] for case in CASES}
    rows: dict[str, int] = {}
    with emulator_process() as base_url, postgres_server() as pg:
        cases = [c for c in CASES if c != "postgresql" or pg is not None]
        if not hasattr(ua.BucketStream, "row_pages"):  # a version from before the row path
            cases.remove("wire rows")
        await pull(base_url, "objects")  # warm-up: the emulator renders and caches its pages

        async def timed(case: str, work: Awaitable[int]) -> None:
            started, used = time.perf_counter(), time.process_time()
            rows[case] = await work
            wall[case].append(time.perf_counter() - started)
            cpu[case].append(time.process_time() - used)

        async def run(case: str, number: int) -> None:
            """One timed round of ``case``; making and dropping a database is not timed."""
            if case == "sqlite":
                await timed(case, backfill(base_url, f"sqlite:///{tmp / f'round{number}.db'}"))
            elif case == "postgresql":
                assert pg is not None
                name = f"bench{number}"
                await _pg_admin(pg, f"CREATE DATABASE {name}")
                try:
                    await timed(case, backfill(base_url, f"{pg}/{name}"))
                finally:
                    await _pg_admin(pg, f"DROP DATABASE {name}")
            else:
                await timed(case, pull(base_url, "objects" if case == "floor" else case))

        for number in range(rounds):
            shift = number % len(cases)
            for case in cases[shift:] + cases[:shift]:
                await run(case, number)
    shutil.rmtree(tmp, ignore_errors=True)
    return _table(rounds, wall, cpu, rows), {"wall": wall, "cpu": cpu, "rows": rows}


def _table(
    rounds: int,
    wall: dict[str, list[float]],
    cpu: dict[str, list[float]],
    rows: dict[str, int],
) -> str:
    lines = [
        MARK,
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
        f"load average before: {os.getloadavg()[0]:.1f}",
        f"- Python {platform.python_version()}; {_versions()}",
        "",
        f"{DAYS} days of `1h` buckets for all twelve endpoints (costs `1d`), every grouping "
        f"field, `concurrency={CONCURRENCY}`; {rows['floor']:,} rows. {rounds} rounds; "
        "medians, and the lowest and highest per-round ratio.",
        "",
        "| run | wall s | rows/s | x the floor (range) | client CPU s |",
        "|---|---:|---:|---:|---:|",
    ]
    floor = wall["floor"]
    for case, label in CASES.items():
        if not wall[case]:
            missing = "no PostgreSQL binaries here" if case == "postgresql" else "not measured"
            lines.append(f"| {label} | ({missing}) | | | |")
            continue
        assert rows[case] == rows["floor"], (case, rows[case], rows["floor"])
        seconds = statistics.median(wall[case])
        ratios = [w / f for w, f in zip(wall[case], floor, strict=True)]
        spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        lines.append(
            f"| {label} | {seconds:.2f} | {rows[case] / seconds:,.0f} | {spread} | "
            f"{statistics.median(cpu[case]):.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--raw", type=Path, help="also write every round's figures as JSON")
    args = parser.parse_args()
    figures, data = asyncio.run(measure(args.rounds))
    if args.raw:
        args.raw.write_text(json.dumps(data))
    print(figures)
    if args.write:
        write_section(MARK, figures, heading="Sync: a database on top of the pull")


if __name__ == "__main__":
    main()
