"""Resilience figures of the whole pipeline: kills mid-stream against an undisturbed run, and start-up cost.

Run: .venv/bin/python bench/bench_chaos.py [--each] [--startup-events 1000000]

1. An undisturbed run and a disturbed one on fresh embedded stacks (noida-db), each a stream of
   10,000 scrapes for 40 targets with 8 faults, two instances of every consuming service. The
   disturbed run SIGKILLs one instance of each stage and then the broker, 12 s apart (``--each``:
   one disturbed run per victim instead). Printed: faults injected, restarts, seconds to ready,
   incidents lost, pages and recovery actions duplicated, final states that differ.
2. Start-up: N anomaly events on a topic, then the dedup-ledger warm-up as the services do it
   (the last ``IR_REBUILD_WINDOW_RECORDS`` records per partition) against the whole topic as
   before, in the same run. Printed as seconds, and seconds per million events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from incidentctl import resilience as r
from incidentctl.embedded import start_broker
from incidentctl.procs import terminate
from shared import events as ev
from shared import models as m
from shared.bus import EventBus
from shared.rebuild import rebuild
from shared.settings import ServiceSettings
from shared.telemetry import ServiceMetrics
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES


def chaos(each: bool) -> None:
    """Print the figures of the kill runs."""
    with tempfile.TemporaryDirectory() as tmp:
        baseline = r.run(Path(tmp) / "baseline", r.ChaosPlan(), label="baseline")
        plans = (
            [r.ChaosPlan(kills=((victim, 12.0),)) for victim, _ in r.DEFAULT_KILLS]
            if each
            else [r.ChaosPlan(kills=r.DEFAULT_KILLS)]
        )
        for i, plan in enumerate(plans):
            disturbed = r.run(Path(tmp) / f"disturbed-{i}", plan, label="disturbed")
            figures = r.compare(baseline, disturbed, plan)
            print(json.dumps(figures, indent=2))
        print(f"baseline: {baseline.events_sent} events, {len(baseline.incidents)} targets with incidents, "
              f"{len(baseline.pages)} pages, {len(baseline.actions)} actions, {baseline.seconds:.0f}s")  # fmt: skip


def anomaly(n: int) -> bytes:
    """One anomaly event (about the size the detector writes)."""
    now = datetime.now(UTC)
    data = m.Anomaly(
        anomaly_id=f"a-{n}", fingerprint=f"svc-{n % 500}/process.cpu_percent", kind=m.AnomalyKind.THRESHOLD,
        target=f"svc-{n % 500}", signal="process.cpu_percent", impact=m.Impact.RESOURCE_PRESSURE, score=0.9,
        observed=97.0, threshold=90.0, since=now, last_seen=now, summary="process.cpu_percent 97% >= 90%",
    )  # fmt: skip
    return ev.encode_event(ev.AnomalyDetected.create(data, source="/bench", id_parts=(n,), time=now))


async def fill(settings: ServiceSettings, count: int) -> float:
    """Publish ``count`` anomaly events; return seconds."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=20,
                                max_batch_size=512 * 1024)  # fmt: skip
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for n in range(count):
            pending.append(await producer.send(ANOMALIES.name, anomaly(n), key=f"svc-{n % 500}".encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def warm_up_seconds(settings: ServiceSettings) -> tuple[float, int]:
    """Seconds the detector's ledger warm-up takes with ``settings``, and how many ids it loaded."""
    bus = EventBus(None, source="/bench", metrics=ServiceMetrics("bench"), settings=settings)  # type: ignore[arg-type]
    started = time.perf_counter()
    loaded = (await rebuild(bus, [ANOMALIES])).applied
    return time.perf_counter() - started, loaded


def startup(count: int) -> None:
    """Print start-up seconds for ``count`` events on the output topic, windowed and whole."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp) / "data", Path(tmp) / "noida.log", elasticsearch=False)
        try:
            settings = ServiceSettings(kafka_bootstrap_servers=broker.kafka)
            asyncio.run(ensure_topics(settings, [ANOMALIES]))
            took = asyncio.run(fill(settings, count))
            print(f"published {count:,} anomaly events in {took:.1f}s")
            whole_settings = settings.model_copy(update={"rebuild_window_records": 10**12})
            runs = [asyncio.run(warm_up_seconds(cfg)) for cfg in (whole_settings, settings) * 2]  # alternate order
            whole, n_whole = min(runs[0::2])
            windowed, n_window = min(runs[1::2])
        finally:
            terminate(broker.process.pid)
    per_million = 1_000_000 / count
    print(
        f"start-up warm-up, windowed (last {settings.rebuild_window_records:,} per partition): "
        f"{windowed:.2f}s for {n_window:,} ids, however long the topic (best of 2)"
    )
    print(f"baseline, whole topic (before): {whole:.2f}s for {n_whole:,} ids "
          f"({whole * per_million:.2f}s per million events; best of 2)")  # fmt: skip


def main() -> None:
    """Run both parts (or one)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--each", action="store_true", help="one disturbed run per victim")
    parser.add_argument("--startup-events", type=int, default=1_000_000)
    parser.add_argument("--skip-chaos", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()
    if not args.skip_startup:
        startup(args.startup_events)
    if not args.skip_chaos:
        chaos(args.each)


if __name__ == "__main__":
    main()
