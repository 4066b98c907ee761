"""End-to-end rate of the live log analyzer: Elasticsearch read -> record decode -> template mining + patterns.

Usage: python bench/bench_log_source.py [--docs 50000] [--page-size 5000] [--url URL]
Without --url it starts noida-db (Elasticsearch protocol only) on a free port in a temp dir and stops
it afterwards.  It bulk-loads synthetic service logs (many templates, random values, some stack traces
and long lines), then reads them back with `ElasticsearchLogSource` (point in time + search_after),
mines every message with `TemplateMiner` and feeds `PatternAnalyzer`, printing docs/s and the time
spent in each stage: ES read (HTTP + JSON, per page), decode (hit -> LogRecord), mining (miner +
pattern analysis).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch, helpers

from incidentctl.embedded import noida_binary
from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from services.detector.adapters.es_logs import ElasticsearchLogSource
from services.detector.domain.logmining import PatternAnalyzer, TemplatedRecord, TemplateMiner

T0 = datetime(2026, 2, 1, tzinfo=UTC)
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma"]
TEMPLATES = [
    ("INFO", "GET /api/v1/orders/{n} 200 in {f} ms"),
    ("INFO", "user {w} logged in from 10.0.{n}.{n}"),
    ("INFO", "cache hit ratio {f} for shard {n}"),
    ("WARN", "slow query on table {w} took {n} ms"),
    ("ERROR", "connection to db-{n}:5432 refused"),
    ("ERROR", "payment {hex} failed: card declined"),
    ("INFO", "scheduled job {w}-{n} finished with status OK"),
    ("DEBUG", "heartbeat from worker {n}"),
]


def _fill(rng: random.Random, pattern: str) -> str:
    return pattern.format_map(_Values(rng))


class _Values(dict[str, str]):
    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        r = self.rng
        return {
            "n": str(r.randint(0, 9999)),
            "f": f"{r.random() * 100:.2f}",
            "w": r.choice(WORDS),
            "hex": f"{r.getrandbits(64):016x}",
        }[key]


def synthetic_docs(index: str, count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(count):
        level, pattern = TEMPLATES[rng.randrange(len(TEMPLATES))]
        message = _fill(rng, pattern)
        if i % 997 == 0:
            message = f"Unhandled error {i}\nTraceback (most recent call last):\n  File 'x.py', line {i}"
        elif i % 1999 == 0:
            message = "huge payload " + "y" * 20_000
        yield {
            "_index": index,
            "_source": {
                "@timestamp": (T0 + timedelta(milliseconds=20 * i)).isoformat().replace("+00:00", "Z"),
                "message": message,
                "log": {"level": level},
                "service": {"name": f"svc-{i % 5}"},
                "host": {"name": f"node-{i % 3}"},
            },
        }


async def run(url: str, docs: int, page_size: int) -> None:
    client = AsyncElasticsearch(url, request_timeout=120)
    index = "application-logs-bench"
    await client.options(ignore_status=404).indices.delete(index=index)
    start = time.perf_counter()
    await helpers.async_bulk(client, synthetic_docs(index, docs), chunk_size=5_000, refresh=True)
    print(f"loaded {docs} docs in {time.perf_counter() - start:.1f} s")

    source = ElasticsearchLogSource(client, index=index, page_size=page_size)
    miner, analyzer = TemplateMiner(), PatternAnalyzer()
    query = {"range": {"@timestamp": {"gte": T0.isoformat(), "lt": (T0 + timedelta(days=1)).isoformat()}}}
    read = decode = mine = 0.0
    count = findings = 0
    hits = source.scan_hits(query)  # raw hits, so read and decode are timed apart
    begin = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        try:
            hit = await anext(hits)
        except StopAsyncIteration:
            break
        t1 = time.perf_counter()
        record = source.to_record(hit)
        t2 = time.perf_counter()
        match = miner.add(record.message)
        findings += len(
            analyzer.observe(
                TemplatedRecord(
                    record.timestamp, record.level, record.service, match.template_id, match.template, record.message
                )
            )
        )
        t3 = time.perf_counter()
        read, decode, mine, count = read + t1 - t0, decode + t2 - t1, mine + t3 - t2, count + 1
    total = time.perf_counter() - begin
    await client.options(ignore_status=404).indices.delete(index=index)
    await client.close()

    print(f"read+decode+mine {count} docs in {total:.2f} s: {count / total:,.0f} docs/s end to end")
    for name, spent in (("ES read (HTTP+JSON)", read), ("decode to LogRecord", decode), ("mining+patterns", mine)):
        print(f"  {name:<22} {spent:6.2f} s  {100 * spent / total:5.1f} %  ({count / spent:,.0f} docs/s alone)")
    print(f"templates: {len(miner)}, findings emitted: {findings}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=5_000)
    parser.add_argument("--url", help="use this Elasticsearch instead of starting noida-db")
    args = parser.parse_args(argv)
    if args.url:
        asyncio.run(run(args.url, args.docs, args.page_size))
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench-log-source-"))
    port = free_port()
    argv_ = [noida_binary(), "start", "--only", "elasticsearch", "--elasticsearch-port", str(port),
             "--data-dir", str(root / "data")]  # fmt: skip
    proc = spawn(argv_, log_file=root / "noida.log")
    try:
        wait_for_port(port, proc=proc)
        asyncio.run(run(f"http://127.0.0.1:{port}", args.docs, args.page_size))
    finally:
        terminate(proc.pid)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
