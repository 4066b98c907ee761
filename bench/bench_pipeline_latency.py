"""Metric -> incident.opened latency through a real detector and responder, at a steady scrape rate.

Usage: python bench/bench_pipeline_latency.py [--rates 1000,10000] [--seconds 20] [--targets 500] [--downs 4]

For each rate (samples per second; a scrape carries 11 samples) a fresh noida-db is started with
one detector and one responder as separate processes (production settings: the manual's rules,
30 s checkpoints). The bench sends scrapes round-robin over ``--targets`` targets at that rate and,
``--downs`` times a second, one scrape with ``http.up = 0`` for a target not used before: the target-down rule
fires on its first sample (no sustain window), so the latency measured is the pipeline's alone.
Latency is the time from sending that scrape to the broker time of its target's
``incident.opened`` record (read back afterwards, so no live consumer adds its own delay).
Prints p50 / p99 / max, the incidents found out of those expected, the rate reached and the CPU
each process used, with the services' default empty-fetch floor and, as the baseline in the same
run, with the fixed 100 ms floor used before (``IR_FETCH_IDLE_SHARE=1e9``). The machine is shared
and has 2 cores: the broker, both services and the sender compete for them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import INCIDENTS, METRICS

SAMPLES = (
    mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.PROCESS_CPU, mn.PROCESS_RSS, mn.PROCESS_UP, mn.HTTP_UP,
    mn.HTTP_LATENCY_P95, mn.HTTP_LATENCY_P99, mn.HTTP_ERROR_RATE, mn.HTTP_THROUGHPUT,
)  # fmt: skip
WARM_UP_S = 3.0


@dataclass
class Outcome:
    """One rate's figures."""

    rate: int
    sent_per_s: float
    latencies_ms: list[float]
    expected: int
    cpu_s: dict[str, float]
    seconds: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(
    service: str, bootstrap: str, port: int, log: Path, *, instance: str = "", extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m services.<service>`` with production defaults on the given broker."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING",
            "IR_INSTANCE_ID": instance or f"bench-{service}", "DETECTOR_LOGS__ENABLED": "false"}  # fmt: skip
    env |= extra or {}
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{service}"],
        env=env,
        stdout=out,
        stderr=out,
        cwd=Path(__file__).parents[1],
        start_new_session=True,
    )


def wait_ready(port: int, process: subprocess.Popen[bytes], limit_s: float = 90.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a service exited with {process.returncode} before it was ready")
        with suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"a service was not ready within {limit_s:.0f} s")


def scrape(target: str, n: int, rng: random.Random, *, up: bool) -> tuple[str, bytes]:
    at = datetime.now(UTC)
    values = {name: abs(rng.gauss(20.0, 2.0)) for name in SAMPLES} | {mn.PROCESS_UP: 1.0, mn.HTTP_UP: float(up)}
    samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
    data = m.MetricsObserved(target=target, host="bench", observed_at=at, interval_s=60.0, samples=samples)
    event = ev.MetricsObserved.create(data, source="/bench", id_parts=(target, n), time=at, subject=target)
    return target, ev.encode_event(event)


async def drive(
    bootstrap: str, rate: int, seconds: float, targets: int, downs: float
) -> tuple[dict[str, float], int, float]:
    """Send scrapes at ``rate`` samples/s; return when each down target was sent, scrapes sent, seconds taken."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    rng, down_at, sent = random.Random(5), {}, 0
    per_s = rate / len(SAMPLES)
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * per_s) - sent
            for _ in range(max(due, 0)):
                down_target = f"down-{int(elapsed * downs):05d}"
                if elapsed >= WARM_UP_S and down_target not in down_at:
                    key, value = scrape(down_target, sent, rng, up=False)
                    down_at[down_target] = time.time()
                else:
                    key, value = scrape(f"svc-{sent % targets:05d}", sent, rng, up=True)
                await producer.send(METRICS.name, value, key=key.encode())
                sent += 1
            await asyncio.sleep(0.002)
        await producer.flush()
    finally:
        await producer.stop()
    return down_at, sent, time.monotonic() - started


async def opened_at(bootstrap: str) -> dict[str, float]:
    """Broker time (s) of the first incident.opened record of each target."""
    found: dict[str, float] = {}
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap)
    async for record, event in replay(settings, [INCIDENTS.name]):
        if isinstance(event, ev.IncidentOpened):
            found.setdefault(event.data.incident.target, record.timestamp / 1000)
    return found


def run_rate(rate: int, seconds: float, targets: int, downs: float, settle_s: float, env: dict[str, str]) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = start_broker(root / "noida", root / "noida.log", elasticsearch=False)
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            bootstrap = broker.kafka
            asyncio.run(ensure_topics(ServiceSettings(kafka_bootstrap_servers=bootstrap)))
            for service in ("detector", "responder"):
                port = free_port()
                processes[service] = spawn(service, bootstrap, port, root / f"{service}.log", extra=env)
                wait_ready(port, processes[service])
            watched = {name: psutil.Process(p.pid) for name, p in processes.items()}
            watched["broker"] = psutil.Process(broker.process.pid)
            before = {name: cpu_seconds(p) for name, p in watched.items()}
            down_at, sent, took = asyncio.run(drive(bootstrap, rate, seconds, targets, downs))
            time.sleep(settle_s)
            cpu = {name: cpu_seconds(p) - before[name] for name, p in watched.items()}
            opened = asyncio.run(opened_at(bootstrap))
        finally:
            for process in processes.values():
                terminate(process.pid)
            terminate(broker.process.pid)
    latencies = sorted((opened[t] - at) * 1000 for t, at in down_at.items() if t in opened)
    return Outcome(rate, sent * len(SAMPLES) / took, latencies, len(down_at), cpu, took)


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of a process and its children (the broker runs under a launcher)."""
    return sum(sum(p.cpu_times()[:2]) for p in (process, *process.children(recursive=True)))


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000,10000", help="samples per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--downs", type=float, default=4.0, help="target-down scrapes per second")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after the last scrape")
    args = parser.parse_args()
    print("metric -> incident.opened through detector + responder (separate processes), noida-db, production rules")
    print(f"{'fetch floor':<28} {'samples/s':>9} {'reached':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'opened':>7} {'detector CPU':>12} {'responder CPU':>13} {'broker CPU':>10}")  # fmt: skip
    floors = (("idle share 0.25 (default)", {}), ("fixed 100 ms, baseline", {"IR_FETCH_IDLE_SHARE": "1e9"}))
    for rate in (int(r) for r in args.rates.split(",")):
        for floor, env in floors:
            o = run_rate(rate, args.seconds, args.targets, args.downs, args.settle, env)
            share = {k: f"{v / o.seconds:.0%}" for k, v in o.cpu_s.items()}
            print(f"{floor:<28} {o.rate:>9,} {o.sent_per_s:>8,.0f} {quantile(o.latencies_ms, 0.5):>7.0f} "
                  f"{quantile(o.latencies_ms, 0.99):>7.0f} {max(o.latencies_ms, default=float('nan')):>7.0f} "
                  f"{len(o.latencies_ms):>3}/{o.expected:<3} {share['detector']:>12} {share['responder']:>13} "
                  f"{share['broker']:>10}")  # fmt: skip


if __name__ == "__main__":
    main()
