"""usage-async sync against the pipeline a data engineer writes with dlt, side by side.

Run from the repository root (after ``pip install -e '.[dev,bench]'``)::

    python benchmarks/dlt_peer.py --quick          # 7 days, 1 round: under a minute
    python benchmarks/dlt_peer.py                  # 90 days, 5 rounds, and the late-data check
    python benchmarks/dlt_peer.py --write          # also rewrite its figures in RESULTS.md

Both pipelines read the twelve endpoints of one emulator running in its own process: usage at
``1h``, costs at ``1d``, every grouping field ``sync`` uses by default, the same range. The
dlt side is written as its documentation shows: the ``rest_api`` source with its cursor
paginator over ``next_page``, ``dlt.sources.incremental`` on ``start_time`` with a ``lag``, and
``merge`` by ``delete-insert`` keyed on ``start_time``, into SQLite (its ``sqlalchemy``
destination) and PostgreSQL (its ``postgres`` destination). It is the block between the
"user code" markers below, as a user would keep it in a file of their own; so is the sync's.

Two things are measured.

* **Speed**: a backfill of ``--days`` into a new database, per pipeline and database: wall
  time, the pipeline process's CPU (user + sys, its threads and children included, the
  emulator's not), rows/s. Every run is its own fresh process (imports are not timed);
  rounds run every case once, in an order that rotates; figures are medians.
* **Correctness after late revisions**: the emulator revises recent buckets
  (``LateData``: usage for two hours after its hour, costs from two hours after their day
  for six more). Each pipeline runs once at T0, the emulator's clock moves on a day, each runs
  again, and each database's tables are compared with a fresh full read of the API at T1:
  rows and the sum of every metric, per table, and whether the rows are identical. dlt runs
  with ``lag`` = the sync's settle window (2 days) and with dlt's defaults (no lag; and
  ``append``, rest_api's default write disposition).

Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from _results import write_section  # benchmarks/ is the script's own folder

KEY = "sk-admin-benchmark"
DAY = 86400
HOUR = 3600
NOW = 1_764_547_200 + 13 * HOUR  # 2025-12-01T13:00:00Z, as benchmarks/sync.py
T0 = NOW + 25 * 60 + 7  # mid-hour: the hour in progress is still growing
T1 = T0 + DAY  # every number read at T0 is final by then
SETTLE = 2 * DAY  # sync's default settle window, and the lag dlt gets
MARK = "<!-- dlt figures -->"


# ============================== user code: dlt (begin) ======================================
# What a data engineer writes with dlt for the same tables: one rest_api resource per endpoint.
import dlt  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402

MODEL = ["project_id", "user_id", "api_key_id", "model"]
TOKENS = [*MODEL, "batch", "service_tier", "api_source"]
USAGE_GROUPS = {
    "audio_speeches": MODEL,
    "audio_transcriptions": MODEL,
    "code_interpreter_sessions": ["project_id"],
    "completions": TOKENS,
    "decisions": TOKENS,
    "embeddings": MODEL,
    "file_search_calls": ["project_id", "user_id", "api_key_id", "vector_store_id"],
    "images": [*MODEL, "size", "source"],
    "moderations": MODEL,
    "vector_stores": ["project_id"],
    "web_search_calls": [*MODEL, "context_level", "api_source"],
}
# The API refuses costs grouped by api_key_id for ranges that start before 2025-12-06.
COSTS_GROUPS = ["project_id", "user_id", "line_item", "api_source"]
MERGE = {"disposition": "merge", "strategy": "delete-insert"}


def bucket_results(bucket):
    """One row per result, with its bucket's times (else dlt makes a child table of them)."""
    for result in bucket["results"]:
        yield {"start_time": bucket["start_time"], "end_time": bucket["end_time"], **result}


def endpoint(name, path, width, limit, group_by, since, lag, disposition):
    incremental = {"start_param": "start_time", "cursor_path": "start_time", "initial_value": since}
    if lag:
        incremental["lag"] = lag
    return {
        "name": name,
        "endpoint": {
            "path": path,
            "params": {"bucket_width": width, "limit": limit, "group_by": group_by},
            "data_selector": "data",
            "incremental": incremental,
        },
        "write_disposition": disposition,
        "merge_key": "start_time",  # a re-read bucket replaces every row of that bucket
        "processing_steps": [{"yield_map": bucket_results}],
    }


def openai_usage(base_url, api_key, since, lag=2 * 86400, disposition=MERGE):
    resources = [
        endpoint(name, f"organization/usage/{name}", "1h", 168, groups, since, lag, disposition)
        for name, groups in USAGE_GROUPS.items()
    ]
    midnight = since - since % 86400  # the API starts costs at midnight: don't filter it out
    costs = endpoint(
        "costs", "organization/costs", "1d", 180, COSTS_GROUPS, midnight, lag, disposition
    )
    # Else the first whole quantity types the column bigint and the fractional ones (gibibyte
    # hours) land in a second column, quantity__v_double; "decimal" would round them to 9 places.
    costs["columns"] = {"quantity": {"data_type": "double"}}
    resources.append(costs)
    return rest_api_source(
        {
            "client": {
                "base_url": base_url,
                "auth": {"type": "bearer", "token": api_key},
                "paginator": {"type": "cursor", "cursor_path": "next_page", "cursor_param": "page"},
            },
            "resources": resources,
        },
        parallelized=True,
    )


def run_dlt(base_url, api_key, database, since, **options):
    if database.startswith("sqlite"):
        destination, dataset = dlt.destinations.sqlalchemy(credentials=database), "main"
    else:
        destination, dataset = dlt.destinations.postgres(credentials=database), "usage"
    pipeline = dlt.pipeline("openai_usage", destination=destination, dataset_name=dataset)
    return pipeline.run(openai_usage(base_url, api_key, since, **options))


# ============================== user code: dlt (end) ========================================

# ============================== user code: sync (begin) =====================================
import usage_async as ua  # noqa: E402


async def run_sync(base_url: str, api_key: str, database: str, since: int) -> ua.SyncReport:
    async with ua.UsageClient(api_key, base_url=base_url) as client:
        return await ua.sync(client, database, since=since, directory=False)


# ============================== user code: sync (end) =======================================

from sync import _binary, _pg_admin, postgres_server  # noqa: E402  (benchmarks/sync.py)

from usage_async.sync._plan import make_jobs, segments  # noqa: E402


def user_lines(which: str) -> int:
    """Lines of code (not blank, not comments or docstrings) between ``which``'s markers."""
    text = Path(__file__).read_text()
    block = text.split(f"user code: {which} (begin)")[1].split(f"user code: {which} (end)")[0]
    lines = block.splitlines()[1:-1]
    return sum(
        1 for line in lines if line.strip() and not line.strip().startswith(("#", '"""', "'''"))
    )


# --- The emulator, in its own process, on a clock this process sets ----------------------


@contextlib.contextmanager
def emulator_process(now: int, late: bool) -> Iterator[tuple[str, Any]]:
    """The emulator in a subprocess with its clock at ``now`` (late data if ``late``); yields
    its base URL and a function that moves its clock (the move is done when it returns)."""
    code = (
        "import asyncio, sys, threading\n"
        "from usage_async.emulator import LateData, serve\n"
        f"clock = [{now}]\n"
        "def listen():\n"
        "    for line in sys.stdin:\n"
        "        clock[0] = int(line)\n"
        "        print('ok', flush=True)\n"
        "threading.Thread(target=listen, daemon=True).start()\n"
        "async def main():\n"
        f"    late = LateData() if {late!r} else None\n"
        f"    async with serve(port=0, api_key={KEY!r}, now=lambda: clock[0], late=late) as emu:\n"
        "        print(emu.base_url, flush=True)\n"
        "        await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def set_clock(moment: int) -> None:
        stdin.write(f"{moment}\n")
        stdin.flush()
        if stdout.readline().strip() != "ok":
            raise RuntimeError("the emulator did not take the new time")

    try:
        url = stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the emulator did not start")
        yield url, set_clock
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- One pipeline run, in a fresh process --------------------------------------------------


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one pipeline as ``spec`` says; return its wall and CPU seconds and rows written."""
    started, used = time.perf_counter(), os.times()
    steps: dict[str, float] = {}
    if spec["pipeline"] == "sync":
        report = asyncio.run(run_sync(spec["base_url"], KEY, spec["database"], spec["since"]))
        tables = report.rows
    else:
        options: dict[str, Any] = {"lag": spec["lag"]}
        if spec["disposition"] == "append":
            options["disposition"] = "append"
        info = run_dlt(spec["base_url"], KEY, spec["database"], spec["since"], **options)
        counts = info.pipeline.last_trace.last_normalize_info.row_counts
        tables = {table: n for table, n in counts.items() if not table.startswith("_dlt")}
        steps = {
            step.step: (step.finished_at - step.started_at).total_seconds()
            for step in info.pipeline.last_trace.steps
        }
    wall = time.perf_counter() - started
    done = os.times()
    cpu = sum(getattr(done, f) - getattr(used, f) for f in
              ("user", "system", "children_user", "children_system"))  # fmt: skip
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": sum(tables.values()),
        "tables": tables,
        "steps": steps,
    }


def run_worker(spec: dict[str, Any], state: Path) -> dict[str, Any]:
    """``worker(spec)`` in a new process whose dlt state lives under ``state``."""
    env = {
        **os.environ,
        "DLT_DATA_DIR": str(state),
        "DLT_PIPELINE_DIR": str(state / "pipelines"),
        "PIPELINES_DIR": str(state / "pipelines"),
        # No network here: telemetry would only wait on a connection that never comes.
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        env=env,
        cwd=state,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{spec['pipeline']} run failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- Databases -----------------------------------------------------------------------------


class Databases:
    """New, empty databases: SQLite files in a directory, PostgreSQL databases on a server."""

    def __init__(self, folder: Path, server: str | None) -> None:
        self.folder, self.server, self.made = folder, server, 0

    def new(self, kind: str) -> str:
        self.made += 1
        name = f"bench{self.made}"
        if kind == "sqlite":
            return f"sqlite:///{self.folder / f'{name}.db'}"
        assert self.server is not None
        asyncio.run(_pg_admin(self.server, f"CREATE DATABASE {name}"))
        # dlt's postgres credentials insist on a password; the server trusts loopback anyway.
        return f"{self.server}/{name}".replace("postgres@", "postgres:unused@", 1)

    def drop(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            for path in self.folder.glob(Path(url.removeprefix("sqlite:///")).stem + "*"):
                path.unlink()
        else:
            assert self.server is not None
            name = url.rsplit("/", 1)[1]
            asyncio.run(_pg_admin(self.server, f"DROP DATABASE {name} WITH (FORCE)"))


# --- Speed ---------------------------------------------------------------------------------

CASES = {
    ("sync", "sqlite"): "usage-async sync into SQLite",
    ("dlt", "sqlite"): "dlt into SQLite (sqlalchemy destination)",
    ("sync", "postgresql"): "usage-async sync into PostgreSQL",
    ("dlt", "postgresql"): "dlt into PostgreSQL (postgres destination)",
}


def measure_speed(
    base_url: str, databases: Databases, folder: Path, since: int, rounds: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    cases = [c for c in CASES if c[1] == "sqlite" or databases.server is not None]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {case: [] for case in cases}

    def once(case: tuple[str, str], number: int) -> dict[str, Any]:
        pipeline, kind = case
        database = databases.new(kind)
        state = folder / f"state-{pipeline}-{kind}-{number}"
        state.mkdir()
        spec = {"pipeline": pipeline, "base_url": base_url, "database": database,
                "since": since, "lag": SETTLE, "disposition": "merge"}  # fmt: skip
        try:
            return run_worker(spec, state)
        finally:
            databases.drop(database)
            shutil.rmtree(state, ignore_errors=True)

    for pipeline in ("sync", "dlt"):  # warm-up: the emulator renders and caches its pages
        once((pipeline, "sqlite"), -1)
    for number in range(rounds):
        shift = number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            runs[case].append(once(case, number))
            print(f"  round {number + 1}: {CASES[case]}: {runs[case][-1]}", file=sys.stderr)
    return runs


# --- Correctness after late revisions ------------------------------------------------------

# (pipeline, lag, write disposition) -> how the report names it
CONFIGS = {
    ("sync", SETTLE, "merge"): "usage-async sync (settle 2 days, its default)",
    ("dlt", SETTLE, "merge"): "dlt, lag 2 days, merge delete-insert",
    ("dlt", 0, "merge"): "dlt, no lag (its default), merge delete-insert",
    ("dlt", 0, "append"): "dlt defaults: no lag, append",
}

Rows = dict[tuple[Any, ...], list[tuple[Any, ...]]]


def _iso(value: Any) -> str:
    if isinstance(value, int):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _number(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return Decimal(repr(value) if isinstance(value, float) else str(value)).normalize()


def _grouping(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


class Table:
    """One table's rows as comparable facts: by bucket start and grouping, the metrics."""

    def __init__(self, groups: list[str], metrics: list[str]) -> None:
        self.groups, self.metrics = groups, metrics
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: dict[str, Any]) -> None:
        key = (_iso(row["start_time"]), *(_grouping(row.get(g)) for g in self.groups))
        self.rows.append((*key, *(_number(row.get(m)) for m in self.metrics)))

    def sums(self) -> list[Decimal]:
        width = 1 + len(self.groups)
        return [
            sum((r[width + i] for r in self.rows), Decimal(0)) for i in range(len(self.metrics))
        ]


def _plan(since: int) -> dict[str, tuple[str, list[str], list[str], int]]:
    """Per table: the width, grouping fields, metric fields and first bucket of the backfill."""
    plan = {}
    for job in make_jobs(list(ua.ENDPOINTS.values()), "1h", None, {}, SETTLE):
        start = job.endpoint.bucket_origin(since - since % job.width_seconds)
        parts = segments(job, start, T1)
        groups = {part.group_by for part in parts}
        if len(groups) != 1:
            raise RuntimeError("the range straddles the costs api_key_id cut: pick another NOW")
        fields = ua.row_fields(job.endpoint.result_type, list(job.group_by))[2:]
        group_by = list(groups.pop())
        metrics = [f for f in fields if f not in job.endpoint.group_by and f != "currency"
                   and f != "quantity_unit"]  # fmt: skip
        plan[job.endpoint.name] = (job.width, group_by, metrics, start)
    return plan


async def api_tables(base_url: str, since: int) -> dict[str, Table]:
    """What a fresh full read of the API returns now, as tables."""
    tables = {}
    async with ua.UsageClient(KEY, base_url=base_url) as client:
        for name, (width, group_by, metrics, start) in _plan(since).items():
            table = tables[name] = Table(group_by, metrics)
            stream = client.stream(name, start_time=start, bucket_width=width,
                                   group_by=group_by or None, concurrency=4,
                                   limit=ua.ENDPOINTS[name].page_limit(width).maximum)  # fmt: skip
            async for bucket in stream:
                for row in ua.bucket_rows(bucket, group_by):
                    table.add(row)
    return tables


def database_tables(url: str, pipeline: str, since: int) -> dict[str, Table]:
    """A pipeline's tables in ``url``, as tables (dlt's names mapped to the API's)."""
    import sqlalchemy as sa

    rename = {"image_source": "source", "amount__value": "amount"}
    schema = "usage." if pipeline == "dlt" and not url.startswith("sqlite") else ""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    tables = {}
    try:
        with engine.connect() as conn:
            for name, (_, group_by, metrics, _) in _plan(since).items():
                table = tables[name] = Table(group_by, metrics)
                with contextlib.suppress(sa.exc.ProgrammingError, sa.exc.OperationalError):
                    for row in conn.execute(sa.text(f"SELECT * FROM {schema}{name}")).mappings():
                        table.add({rename.get(k, k): v for k, v in row.items()})
    finally:
        engine.dispose()
    return tables


def compare(api: dict[str, Table], got: dict[str, Table]) -> dict[str, Any]:
    """Per table: rows here and in the API, each metric's sum here and there, and how many of
    the API's rows the table lacks or holds with other numbers (``unlike``), and holds besides
    (``extra``)."""
    out = {}
    for name, final in api.items():
        mine = got[name]
        ours, theirs = Counter(mine.rows), Counter(final.rows)
        sums = dict(zip(final.metrics, zip(mine.sums(), final.sums(), strict=True), strict=True))
        out[name] = {
            "rows": len(mine.rows),
            "api_rows": len(final.rows),
            "sums": {m: [str(a), str(b)] for m, (a, b) in sums.items()},
            "sums_off": [m for m, (a, b) in sums.items() if a != b],
            "unlike": sum((theirs - ours).values()),
            "extra": sum((ours - theirs).values()),
        }
    return out


def check_late_data(databases: Databases, folder: Path, since: int) -> dict[str, Any]:
    kinds = ["sqlite"] + (["postgresql"] if databases.server is not None else [])
    runs = [(config, kind) for kind in kinds for config in CONFIGS]
    made: dict[Any, tuple[str, Path]] = {}
    with emulator_process(T0, late=True) as (base_url, set_clock):
        for moment in (T0, T1):
            set_clock(moment)
            for config, kind in runs:
                pipeline, lag, disposition = config
                if (config, kind) not in made:
                    state = folder / f"late-{len(made)}"
                    state.mkdir()
                    made[config, kind] = (databases.new(kind), state)
                database, state = made[config, kind]
                spec = {"pipeline": pipeline, "base_url": base_url, "database": database,
                        "since": since, "lag": lag, "disposition": disposition}  # fmt: skip
                result = run_worker(spec, state)
                print(f"  late data, {dt.datetime.fromtimestamp(moment, dt.UTC):%d %H:%M}: "
                      f"{CONFIGS[config]} into {kind}: {result}", file=sys.stderr)  # fmt: skip
        api = asyncio.run(api_tables(base_url, since))
    results: dict[str, Any] = {}
    for (config, kind), (database, state) in made.items():
        results[f"{kind}|{CONFIGS[config]}"] = compare(
            api, database_tables(database, config[0], since)
        )
        databases.drop(database)
        shutil.rmtree(state, ignore_errors=True)
    return results


# --- Report --------------------------------------------------------------------------------


def _versions() -> str:
    found = []
    for name in ("usage-async", "dlt", "sqlalchemy", "aiosqlite", "asyncpg", "psycopg2-binary",
                 "requests", "aiohttp"):  # fmt: skip
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    pg = _binary("postgres")
    if pg:
        out = subprocess.run([pg, "--version"], capture_output=True, text=True, check=False)
        found.append(re.sub(r"postgres \(PostgreSQL\)", "PostgreSQL", out.stdout.strip()))
    return ", ".join(found)


def render(
    args: argparse.Namespace,
    load: float,
    speed: dict[tuple[str, str], list[dict[str, Any]]],
    late: dict[str, Any] | None,
) -> str:
    command = "python benchmarks/dlt_peer.py" + (" --quick" if args.quick else "")
    if not args.quick:
        command += f" --days {args.days} --rounds {args.rounds}"
    lines = [
        MARK,
        f"- Command: `{command}`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other work "
        f"while this ran), {platform.platform()}; load average before: {load:.1f}",
        f"- Python {platform.python_version()}; {_versions()}",
        f"- Lines of code the user writes: sync {user_lines('sync')}, dlt {user_lines('dlt')}",
        "",
        f"**Speed.** {args.days} days, twelve endpoints (usage `1h`, costs `1d`), every "
        f"grouping field, into a new database; {args.rounds} rounds, medians (range).",
        "",
        "| run | rows | wall s | rows/s | client CPU s |",
        "|---|---:|---:|---:|---:|",
    ]
    for case, label in CASES.items():
        runs = speed.get(case)
        if not runs:
            lines.append(f"| {label} | (no PostgreSQL binaries here) | | | |")
            continue
        walls = [r["wall"] for r in runs]
        cpus = [r["cpu"] for r in runs]
        rows = runs[0]["rows"]
        wall = statistics.median(walls)
        lines.append(
            f"| {label} | {rows:,} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
            f"{rows / wall:,.0f} | {statistics.median(cpus):.2f} "
            f"({min(cpus):.2f}-{max(cpus):.2f}) |"
        )
    steps = []
    for (pipeline, kind), runs in speed.items():
        if pipeline == "dlt" and runs:
            parts = ", ".join(
                f"{name} {statistics.median(r['steps'].get(name, 0.0) for r in runs):.2f}"
                for name in runs[0]["steps"]
                if name != "run"
            )
            steps.append(f"- dlt's steps into {kind}, median s: {parts}")
    lines += ["", *steps] if steps else []
    if late is not None:
        lines += [
            "",
            f"**After late revisions.** Each pipeline ran at "
            f"{dt.datetime.fromtimestamp(T0, dt.UTC):%Y-%m-%d %H:%M:%S}Z, then a day later; its "
            "tables against a fresh full read of the API then (12 tables).",
            "",
            "| database | pipeline | tables equal to the API (rows and sums; every row) | "
            "rows (API's) | API rows missing or stale; extra rows | completions "
            "`input_tokens` vs the API |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for key, tables in late.items():
            kind, label = key.split("|")
            by_sums = sum(not t["sums_off"] and t["rows"] == t["api_rows"] for t in tables.values())
            identical = sum(t["unlike"] == t["extra"] == 0 for t in tables.values())
            rows = sum(t["rows"] for t in tables.values())
            api_rows = sum(t["api_rows"] for t in tables.values())
            unlike = sum(t["unlike"] for t in tables.values())
            extra = sum(t["extra"] for t in tables.values())
            ours, theirs = (Decimal(v) for v in tables["completions"]["sums"]["input_tokens"])
            gauge = (
                f"{ours - theirs:+,} ({(ours - theirs) / theirs:+.3%})" if ours != theirs else "="
            )
            lines.append(
                f"| {kind} | {label} | {by_sums}/12; {identical}/12 | {rows:,} ({api_rows:,}) | "
                f"{unlike:,}; {extra:,} | {gauge} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Needs the bench extra: pip install -e '.[bench]'. PostgreSQL is a throwaway "
        "server started from the machine's binaries (skipped with a note if there are none).",
    )
    parser.add_argument("--days", type=int, default=90, help="backfill length (default 90)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="7 days, 1 round, no late-data check")
    parser.add_argument("--no-late", action="store_true", help="skip the late-data check")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--raw", type=Path, help="also write every run's figures as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.quick:
        args.days, args.rounds, args.no_late = 7, 1, True
    since = NOW - args.days * DAY
    load = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="usage-async-dlt-"))
    try:
        with postgres_server() as server:
            databases = Databases(folder, server)
            with emulator_process(NOW, late=False) as (base_url, _):
                speed = measure_speed(base_url, databases, folder, since, args.rounds)
            late = None if args.no_late else check_late_data(databases, folder, since)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures = render(args, load, speed, late)
    if args.raw:
        raw = {"speed": {" / ".join(k): v for k, v in speed.items()}, "late": late}
        args.raw.write_text(json.dumps(raw, indent=1))
    print(figures)
    if args.write:
        write_section(MARK, figures, heading="sync against dlt")


if __name__ == "__main__":
    main()
