"""The detector service under target churn: targets held and checkpoints restored, with and without retention.

Usage: python bench/bench_target_churn.py [--live 300] [--lifetime-h 1] [--hours 6]

Pods and instances come and go: each target here is scraped every 5 minutes for ``--lifetime-h``
hours, then replaced by a new one, ``--live`` targets at a time, for ``--hours`` hours of scrapes
(spread over each interval, as a collector's are); every tenth target is down in its last scrape (a
crashing pod, replaced). On one noida-db, two detector services (production
profile, checkpoint every 30 s) drain the same backlog, each in a group of its own: the baseline
forgets no target (``target_retention_s: 0``, the detector before stop 33) and the built one forgets a
target after an hour without a scrape (the lowest retention the settings allow; the default is a
day). Prints, for each, the targets it holds at the end, the series in its statistical state pool, the
open anomalies it holds, the checkpoints a new instance restores from the state topic and the
seconds that restore took.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service_throughput import METRICS_SCRAPED, publish

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate
from services.detector.app import build
from services.detector.handlers import MetricsHandler
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.topic_admin import ensure_topics
from shared.topics import METRICS

INTERVAL_S = 300.0
USUAL = dict(zip(METRICS_SCRAPED, (20.0, 40.0, 50.0, 10.0, 2e8, 1.0, 1.0, 50.0, 80.0, 0.001, 100.0), strict=True))
DOWN = {mn.PROCESS_UP: 0.0, mn.HTTP_UP: 0.0}


def churn(live: int, lifetime_h: float, hours: float) -> tuple[list[tuple[str, bytes]], int]:
    """The encoded scrapes of the churning targets, in time order, and how many distinct targets they name."""
    rounds, lifetime = int(hours * 3600 / INTERVAL_S), max(1, int(lifetime_h * 3600 / INTERVAL_S))
    start = datetime.now(UTC) - timedelta(seconds=INTERVAL_S * (rounds + 1))
    out, names = [], set()
    for r in range(rounds):
        for slot in range(live):
            generation = (r + slot % lifetime) // lifetime  # the slots' replacements are staggered
            target = f"pod-{slot:04d}-{generation:03d}"
            names.add(target)
            at = start + timedelta(seconds=INTERVAL_S * (r + slot / live))
            dying = slot % 10 == 0 and (r + slot % lifetime + 1) % lifetime == 0  # every tenth dies down
            values = USUAL | {"host.cpu_percent": 20.0 + (slot * 7 + r) % 5} | (DOWN if dying else {})
            samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
            data = m.MetricsObserved(
                target=target, host="bench", observed_at=at, interval_s=INTERVAL_S, samples=samples
            )
            event = ev.MetricsObserved.create(data, source="/bench", id_parts=(target, r), time=at, subject=target)
            out.append((target, ev.encode_event(event)))
    return out, len(names)


async def drain(bootstrap: str, events: int, retention_s: float) -> tuple[int, int, int, int, float]:
    """Targets held, series live, open anomalies, checkpoints restored and restore seconds after the backlog."""
    settings = DetectorSettings(kafka_bootstrap_servers=bootstrap, group_id=f"detector-{uuid.uuid4().hex[:6]}",
                                logs={"enabled": False}, target_retention_s=retention_s)  # fmt: skip
    detector = build(settings)
    await detector.start()
    member = detector.service.bus.members[0]
    try:
        while member.progress.handled < events:
            await asyncio.sleep(0.05)
        targets = detector.metrics.targets.values()
        held, live, open_ = len(targets), detector.metrics.pool.live, sum(len(d.episodes) for d in targets)
    finally:
        await detector.stop()
    store = detector.metrics.store
    assert store is not None
    fresh = MetricsHandler(detector.service.bus, settings.detection(), store, checkpoint_s=60.0)
    started = time.perf_counter()
    restored = await fresh.restore()
    return held, live, open_, restored, time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    records, distinct = churn(args.live, args.lifetime_h, args.hours)
    print(f"{len(records)} scrapes: {args.live} targets at a time, each for {args.lifetime_h:g} h, over "
          f"{args.hours:g} h; {distinct} distinct targets; noida-db")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp) / "noida", Path(tmp) / "noida.log", elasticsearch=False)
        try:
            await ensure_topics(DetectorSettings(kafka_bootstrap_servers=broker.kafka))
            await publish(broker.kafka, METRICS.name, records)
            print(
                f"{'detector':<46} {'targets':>8} {'series':>8} {'open anomalies':>14} {'restored':>9} {'restore s':>9}"
            )
            for label, retention in (("baseline: never forgets (retention 0)", 0.0),
                                     ("built: forgets after 1 h without a scrape", 3600.0)):  # fmt: skip
                held, live, open_, restored, took = await drain(broker.kafka, len(records), retention)
                print(f"{label:<46} {held:>8,} {live:>8,} {open_:>14,} {restored:>8,} {took:>9.2f}")
        finally:
            terminate(broker.process.pid)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", type=int, default=300)
    parser.add_argument("--lifetime-h", type=float, default=1.0)
    parser.add_argument("--hours", type=float, default=6.0)
    asyncio.run(main(parser.parse_args()))
