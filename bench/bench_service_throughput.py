"""Detector service against a bare consumer loop on the same broker and the same backlog, in one run.

Usage: python bench/bench_service_throughput.py [--events 20000] [--targets 5000] [--profile production]

Starts noida-db on a free port, publishes a backlog of collector scrapes (11 samples each, keyed by
target), then consumes the whole backlog twice, each in a consumer group of its own:

- the baseline: a bare aiokafka ``getmany`` loop that only ``json.loads`` each value;
- the detector service as it runs in production (`services.detector.app.build`): edge checks,
  dedup, the engine, anomaly events, checkpoints, offsets committed per batch.

Prints events/s and CPU microseconds per event of each and the detector's ratio to the baseline.
The machine is shared and noisy: compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate
from services.detector.app import build
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.topic_admin import ensure_topics
from shared.topics import METRICS

METRICS_SCRAPED = (
    mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.PROCESS_CPU, mn.PROCESS_RSS, mn.PROCESS_UP, mn.HTTP_UP,
    mn.HTTP_LATENCY_P95, mn.HTTP_LATENCY_P99, mn.HTTP_ERROR_RATE, mn.HTTP_THROUGHPUT,
)  # fmt: skip


def scrapes(events: int, targets: int) -> list[tuple[str, bytes]]:
    """``events`` encoded scrapes round-robin over ``targets``, two seconds apart per target, ending now."""
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(seconds=2.0 * (events // targets + 1))
    out = []
    for n in range(events):
        target = f"svc-{n % targets:05d}"
        at = start + timedelta(seconds=2.0 * (n // targets))
        samples = tuple(m.MetricSample(name=k, value=abs(rng.gauss(20.0, 3.0))) for k in METRICS_SCRAPED)
        data = m.MetricsObserved(target=target, host="bench", observed_at=at, interval_s=2.0, samples=samples)
        event = ev.MetricsObserved.create(data, source="/bench", id_parts=(target, n), time=at, subject=target)
        out.append((target, ev.encode_event(event)))
    return out


async def publish(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    try:
        pending = [await producer.send(topic, value, key=key.encode()) for key, value in records]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def bare_loop(bootstrap: str, topic: str, events: int) -> tuple[float, float]:
    """Seconds and CPU seconds a bare getmany + json.loads loop takes for the backlog."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bare-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest"
    )
    await consumer.start()
    started, cpu = time.perf_counter(), time.process_time()
    seen = 0
    try:
        while seen < events:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batch.values():
                for record in records:
                    json.loads(record.value)
                    seen += 1
            if batch:
                await consumer.commit()
    finally:
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        await consumer.stop()
    return elapsed, used


async def detector_service(bootstrap: str, events: int, profile: str) -> tuple[float, float]:
    """Seconds and CPU seconds the detector service takes for the backlog (from its first record)."""
    settings = DetectorSettings(
        kafka_bootstrap_servers=bootstrap,
        profile=profile,
        group_id=f"detector-{uuid.uuid4().hex[:6]}",
        logs={"enabled": False},
    )
    detector = build(settings)
    await detector.start()
    member = detector.service.bus.members[0]
    try:
        while member.progress.handled == 0:
            await asyncio.sleep(0.005)
        started, cpu = time.perf_counter(), time.process_time()
        while member.progress.handled < events:
            await asyncio.sleep(0.005)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        await detector.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=5_000)
    parser.add_argument("--profile", choices=("production", "demo"), default="production")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp) / "noida", Path(tmp) / "noida.log", elasticsearch=False)
        try:
            bootstrap = broker.kafka
            await ensure_topics(DetectorSettings(kafka_bootstrap_servers=bootstrap))
            records = scrapes(args.events, args.targets)
            await publish(bootstrap, METRICS.name, records)
            print(f"backlog: {args.events} scrapes of {len(METRICS_SCRAPED)} samples, {args.targets} targets, "
                  f"{sum(len(v) for _, v in records) // len(records)} bytes each; noida-db")  # fmt: skip
            bare_s, bare_cpu = await bare_loop(bootstrap, METRICS.name, args.events)
            det_s, det_cpu = await detector_service(bootstrap, args.events, args.profile)
        finally:
            terminate(broker.process.pid)
    rows = [
        ("bare loop (getmany + json.loads), baseline", bare_s, bare_cpu),
        (f"detector service, {args.profile}", det_s, det_cpu),
    ]
    print(f"{'consumer':<48} {'events/s':>10} {'CPU us/event':>13} {'ratio':>7}")
    for name, seconds, cpu in rows:
        print(f"{name:<48} {args.events / seconds:>10,.0f} {cpu / args.events * 1e6:>13,.0f} {bare_s / seconds:>7.3f}")


if __name__ == "__main__":
    asyncio.run(main())
