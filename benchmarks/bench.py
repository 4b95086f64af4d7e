"""usage-async side by side with the official SDK and the raw floor, against one emulator.

Run from the repository root (after ``pip install -e '.[dev]'``)::

    python benchmarks/bench.py                    # print the figures
    python benchmarks/bench.py --write            # also rewrite benchmarks/RESULTS.md

The emulator runs in its own process, so the CPU time measured here (``time.process_time``)
is the client's alone. Clients alternate round by round after one warm-up each; figures are
medians. Nothing here asserts a time: the ratios are what we quote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

import usage_async as ua

HERE = Path(__file__).resolve().parent
KEY = "sk-admin-benchmark"
DAY = 86400
HOUR = 3600
# A fixed, fully past range so every client receives identical bytes.
END = 1_764_547_200  # 2025-12-01T00:00:00Z
WALK = {
    "start_time": END - 120 * DAY,
    "end_time": END,
    "bucket_width": "1h",
    "limit": 168,
    "group_by": ["model", "project_id", "user_id"],
}


# --- The server, in its own process ----------------------------------------------------------


@contextlib.contextmanager
def emulator_process(latency: float = 0.0) -> Iterator[str]:
    """Start ``usage-async emulator`` in a subprocess; yield its base URL."""
    code = (
        "import asyncio, sys\n"
        "from usage_async.emulator import serve_forever\n"
        "def ready(url): print(url, flush=True)\n"
        f"asyncio.run(serve_forever(host='127.0.0.1', port=0, seed=0, latency={latency!r},"
        f" faults=None, api_key={KEY!r}, ready=ready))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError("the emulator did not start")
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- The three clients of the walk ------------------------------------------------------------


async def walk_usage_async(base_url: str) -> int:
    total = 0
    async with ua.UsageClient(KEY, base_url=base_url) as client:
        async for bucket in client.completions(**WALK):  # type: ignore[arg-type]
            for result in bucket.results:
                total += result.input_tokens  # type: ignore[union-attr]
    return total


async def walk_openai_sdk(base_url: str) -> int:
    from openai import AsyncOpenAI

    total = 0
    async with AsyncOpenAI(admin_api_key=KEY, api_key="unused", base_url=base_url) as client:
        usage = client.admin.organization.usage
        page: str | None = None
        while True:
            extra = {"page": page} if page else {}
            response = await usage.completions(**WALK, **extra)  # type: ignore[arg-type]
            for bucket in response.data:
                for result in bucket.results:
                    total += result.input_tokens  # type: ignore[union-attr]
            if not response.has_more:
                return total
            page = response.next_page


async def walk_raw(base_url: str) -> int:
    """The floor: aiohttp + orjson, touching one field per result, no objects."""
    params: list[tuple[str, str]] = [
        ("start_time", str(WALK["start_time"])),
        ("end_time", str(WALK["end_time"])),
        ("bucket_width", "1h"),
        ("limit", "168"),
    ] + [("group_by[]", g) for g in WALK["group_by"]]  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {KEY}"}
    url = base_url + "/organization/usage/completions"
    total = 0
    async with aiohttp.ClientSession() as session:
        cursor = None
        while True:
            query = params + ([("page", cursor)] if cursor else [])
            async with session.get(url, params=query, headers=headers) as resp:
                body = await resp.read()
            doc = orjson.loads(body)
            for bucket in doc["data"]:
                for result in bucket["results"]:
                    total += result["input_tokens"]
            if not doc["has_more"]:
                return total
            cursor = doc["next_page"]


WALKERS: dict[str, Callable[[str], Awaitable[int]]] = {
    "usage-async": walk_usage_async,
    "openai SDK": walk_openai_sdk,
    "raw aiohttp+orjson": walk_raw,
}


async def measure(walker: Callable[[str], Awaitable[int]], base_url: str) -> dict[str, float]:
    """CPU and wall seconds of one walk, and the longest gap a 1 ms ticker saw meanwhile."""
    loop = asyncio.get_running_loop()
    longest = 0.0
    running = True

    async def ticker() -> None:
        nonlocal longest
        while running:
            before = loop.time()
            await asyncio.sleep(0.001)
            longest = max(longest, loop.time() - before)

    gc.collect()  # before the ticker starts: a full collection would count as a stall
    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.01)
    cpu, wall = time.process_time(), time.perf_counter()
    checksum = await walker(base_url)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    running = False
    await tick
    return {"cpu": cpu, "wall": wall, "stall": longest, "checksum": checksum}


async def bench_walk(base_url: str, rounds: int) -> dict[str, dict[str, float]]:
    names = list(WALKERS)
    for name in names:  # warm-up: server caches, imports, connection pools
        await measure(WALKERS[name], base_url)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(await measure(WALKERS[name], base_url))
    checksums = {s["checksum"] for runs in samples.values() for s in runs}
    if len(checksums) != 1:
        raise RuntimeError(f"the clients disagree on the data: {checksums}")
    return {
        name: {k: statistics.median(s[k] for s in runs) for k in ("cpu", "wall", "stall")}
        for name, runs in samples.items()
    }


# --- Streaming memory -----------------------------------------------------------------------


async def bench_memory(base_url: str) -> dict[str, float]:
    params: dict[str, Any] = {
        "start_time": END - 20 * DAY,
        "end_time": END,
        "bucket_width": "1m",
        "limit": 1440,
        "group_by": ["model"],
    }
    async with ua.UsageClient(KEY, base_url=base_url) as client:
        await client.completions(**params).collect()  # warm the server's cache
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        peak_held = 0
        buckets = results = 0
        async for bucket in client.completions(**params):
            buckets += 1
            results += len(bucket.results)
            peak_held = max(peak_held, tracemalloc.get_traced_memory()[0] - base)
        tracemalloc.stop()
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        kept = await client.completions(**params).collect()
        held_by_list = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert len(kept) == buckets
    return {
        "buckets": buckets,
        "results": results,
        "stream_mib": peak_held / 2**20,
        "list_mib": held_by_list / 2**20,
    }


# --- Latency-bound runs ---------------------------------------------------------------------


async def timed(coro: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await coro
    return time.perf_counter() - started


async def bench_latency(base_url: str, latency: float, rounds: int) -> dict[str, Any]:
    month = {"start_time": END - 30 * DAY, "end_time": END, "bucket_width": "1h"}  # 30 pages
    pages = 30
    projects = [f"proj_{i:02d}" for i in range(12)]
    per_project = {"start_time": END - 28 * DAY, "end_time": END, "bucket_width": "1d"}  # 4 pages

    async def drain(stream: AsyncIterator[Any]) -> None:
        async for _ in stream:
            pass

    async with ua.UsageClient(KEY, base_url=base_url) as client:
        runs: dict[str, list[float]] = {"sequential": [], "sharded": [], "fan_out": []}
        for _ in range(rounds):
            runs["sequential"].append(await timed(drain(aiter(client.completions(**month)))))
            runs["sharded"].append(
                await timed(drain(aiter(client.completions(**month, concurrency=8))))
            )
            streams = {p: client.completions(**per_project, project_ids=[p]) for p in projects}
            runs["fan_out"].append(await timed(drain(ua.fan_out(streams, concurrency=8))))
    ideal = {
        "sequential": pages * latency,
        # The first page alone (its end is where the windows start), then the rest 8 at a time.
        "sharded": (1 + -(-(pages - 1) // 8)) * latency,
        "fan_out": -(-len(projects) // 8) * 4 * latency,
    }
    return {
        name: {"seconds": statistics.median(v), "ideal": ideal[name]} for name, v in runs.items()
    }


# --- Report ---------------------------------------------------------------------------------


def versions() -> str:
    names = ["usage-async", "aiohttp", "attrs", "cattrs", "orjson", "openai", "pydantic", "httpx"]
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def render(
    walk: dict[str, Any], memory: dict[str, float], latency: dict[str, Any], decoding: str
) -> str:
    ours, sdk, raw = walk["usage-async"], walk["openai SDK"], walk["raw aiohttp+orjson"]
    lines = [
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}; {versions()}",
        "",
        "### 1-2. Walk and event-loop stall",
        "",
        "completions, 120 days of 1h buckets, limit 168, grouped by model, project_id, user_id",
        "(18 pages).",
        "",
        "| client | CPU (ms) | wall (ms) | longest loop stall (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, figures in walk.items():
        lines.append(
            f"| {name} | {figures['cpu'] * 1000:.0f} | {figures['wall'] * 1000:.0f} "
            f"| {figures['stall'] * 1000:.1f} |"
        )
    lines += [
        "",
        f"- SDK / usage-async CPU: **{sdk['cpu'] / ours['cpu']:.1f}x** "
        f"(wall {sdk['wall'] / ours['wall']:.1f}x)",
        f"- usage-async / raw CPU: **{ours['cpu'] / raw['cpu']:.2f}x** "
        f"(wall {ours['wall'] / raw['wall']:.2f}x)",
        "",
        "### 3. Streaming memory: 20 days of 1m buckets grouped by model (20 pages of 1440)",
        "",
        f"- {memory['buckets']:.0f} buckets, {memory['results']:.0f} results",
        f"- most held while streaming: {memory['stream_mib']:.1f} MiB; held by a list of the "
        f"same buckets: {memory['list_mib']:.1f} MiB; "
        f"ratio **{memory['stream_mib'] / memory['list_mib']:.2f}**",
        "",
        "### 4. Latency-bound (50 ms per response)",
        "",
        "| run | seconds | ideal (rounds x latency) | ratio |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        "sequential": "30 days of 1h, sequential (30 pages)",
        "sharded": "30 days of 1h, concurrency=8",
        "fan_out": "12 projects x 4 pages, fan_out(concurrency=8)",
    }
    for name, figures in latency.items():
        lines.append(
            f"| {labels[name]} | {figures['seconds']:.3f} | {figures['ideal']:.3f} "
            f"| {figures['seconds'] / figures['ideal']:.2f} |"
        )
    seq, sharded = latency["sequential"]["seconds"], latency["sharded"]["seconds"]
    lines += [
        "",
        f"- sharding speed-up: **{seq / sharded:.1f}x**",
        "",
        "### 5. Per-result decoding (benchmarks/decode.py; best of 7, one page of the walk)",
        "",
        decoding,
    ]
    return "\n".join(lines)


async def main_async(rounds: int) -> str:
    with emulator_process() as base_url:
        walk = await bench_walk(base_url, rounds)
        memory = await bench_memory(base_url)
    with emulator_process(latency=0.05) as slow_url:
        latency = await bench_latency(slow_url, 0.05, rounds)
    from decode import decode_table  # benchmarks/decode.py, beside this script

    return render(walk, memory, latency, decode_table())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (median)")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    report = asyncio.run(main_async(args.rounds))
    print(report)
    if args.write:
        results = HERE / "RESULTS.md"
        text = results.read_text() if results.exists() else ""
        marker = "<!-- figures -->"
        head = text.split(marker)[0] if marker in text else "# Benchmark results\n\n"
        # Later sections (the sync's, written by benchmarks/sync.py) are kept as they are.
        rest = text.split(marker, 1)[1] if marker in text else ""
        following = rest[rest.index("\n## ") :] if "\n## " in rest else ""
        results.write_text(f"{head}{marker}\n{report}\n{following}")


if __name__ == "__main__":
    main()
