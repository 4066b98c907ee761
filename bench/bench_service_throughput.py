"""Services against a bare consumer loop on the same broker and the same backlog, in one run.

Usage: python bench/bench_service_throughput.py [--events 20000] [--targets 5000] [--profile production]
       [--services detector,rca,responder,logs] [--rounds 1]

Starts noida-db on a free port and, for each service, publishes a backlog of its input keyed by
target, then consumes the whole backlog twice, each in a consumer group of its own:

- the baseline: a bare aiokafka ``getmany`` loop that only ``json.loads`` each value;
- the service as it runs in production: edge checks, dedup, the engine, its output events,
  checkpoints, offsets committed per batch;
- for the responder also its floor (``relay_floor``): the bare loop that also sends, record for
  record, what the responder wrote (the same keys, headers and bytes, spread over the input as it
  was) through a producer configured as the services' and batched as theirs (``RecordBatches``),
  and waits for them before each commit, while a second consumer follows that output, as every
  responder instance follows its own topics. No decision and no encoding: what any responder
  built on this client must spend per event.

detector: collector scrapes (11 samples each); rca: the same scrapes into its window store (its
broadcast group starts at the end of the topic, so the backlog is published once it has joined,
and its figure is a lower bound: it can go no faster than the backlog is written);
responder: anomaly revisions (a target-down or
threshold episode per target: detected, updated, resolved), which open, update and resolve
incidents and owe notifications (sent to the log channel);
logs: the live log analyzer on ``--events`` log documents in noida-db's Elasticsearch (synthetic
service logs of ``bench_log_source.py``): its baseline is a bare scan of the same documents (point in
time + search_after pages, as the analyzer reads them), the analyzer decodes each hit to a record,
mines its template and feeds the pattern analysis.
Prints events/s and CPU microseconds per event of each and the service's ratio to the baseline.
The machine is shared and noisy: compare the ratio, not the absolute figures. ``--rounds N`` repeats
the whole run N times, each on a fresh broker, and prints every round's ratio and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from bench_log_source import T0 as LOG_T0
from bench_log_source import synthetic_docs
from elasticsearch import AsyncElasticsearch, helpers

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate
from services.detector.adapters.es_logs import ElasticsearchLogSource
from services.detector.app import DetectorRuntime
from services.detector.app import build as build_detector
from services.detector.domain.logmining import PatternAnalyzer, TemplatedRecord, TemplateMiner
from services.detector.handlers import MetricsHandler
from services.detector.settings import DetectorSettings
from services.rca.app import build as build_rca
from services.rca.settings import RcaSettings
from services.responder.app import build as build_responder
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.broker import PRODUCER_BATCH_BYTES, keyed_partitioner
from shared.consumer import GroupMember
from shared.record_batches import RecordBatches
from shared.replay import partitions_of, read_to_end
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, INCIDENTS, METRICS, NOTIFICATIONS

METRICS_SCRAPED = (
    mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.PROCESS_CPU, mn.PROCESS_RSS, mn.PROCESS_UP, mn.HTTP_UP,
    mn.HTTP_LATENCY_P95, mn.HTTP_LATENCY_P99, mn.HTTP_ERROR_RATE, mn.HTTP_THROUGHPUT,
)  # fmt: skip


def scrapes(events: int, targets: int, *, end: datetime | None = None) -> list[tuple[str, bytes]]:
    """``events`` encoded scrapes round-robin over ``targets``, two seconds apart per target, ending at ``end``.

    The targets' scrapes are spread over the interval, each at an instant of its own, as a
    collector's are: a consumer that does work whenever a scrape is the newest so far pays for it here.
    """
    rng = random.Random(7)
    start = (end or datetime.now(UTC)) - timedelta(seconds=2.0 * (events // targets + 1))
    out = []
    for n in range(events):
        target = f"svc-{n % targets:05d}"
        at = start + timedelta(seconds=2.0 * (n // targets + (n % targets) / targets))
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
    detector = build_detector(settings)
    await detector.start()
    try:
        return await _drain(detector.service.bus.members[0], events)
    finally:
        await detector.stop()  # checkpoints every target
        await restore_time(detector)


async def restore_time(detector: DetectorRuntime) -> None:
    """Print how long a new instance takes to restore every target's checkpoint (read + decode)."""
    store = detector.metrics.store
    if store is None:
        return
    fresh = MetricsHandler(detector.service.bus, detector.settings.detection(), store, checkpoint_s=60.0)
    started, cpu = time.perf_counter(), time.process_time()
    count = await fresh.restore()
    took, used = time.perf_counter() - started, time.process_time() - cpu
    print(f"detector restore: {count} target checkpoints in {took:.2f} s ({used / max(count, 1) * 1e6:,.0f} us CPU "
          "per target), read from the state topic and decoded")  # fmt: skip


def anomalies(events: int, targets: int, *, end: datetime | None = None) -> list[tuple[str, bytes]]:
    """``events`` anomaly revisions: per target an episode detected, updated, then resolved, ending at ``end``."""
    start = (end or datetime.now(UTC)) - timedelta(seconds=events // targets + 60)
    kinds = (ev.AnomalyDetected, ev.AnomalyUpdated, ev.AnomalyResolved)
    out = []
    for n in range(events):
        target, revision = f"svc-{n % targets:05d}", n // targets + 1
        episode, step = divmod(revision - 1, 3)
        since = start + timedelta(seconds=3 * episode)
        at = since + timedelta(seconds=step)
        data = m.Anomaly(
            anomaly_id=f"{target}-cpu-{episode}", fingerprint=f"{target}/{mn.HOST_CPU}", kind=m.AnomalyKind.THRESHOLD,
            target=target, signal=mn.HOST_CPU, impact=m.Impact.RESOURCE_PRESSURE, score=1.0, observed=97.0,
            threshold=90.0, unit="%", since=since, last_seen=at, revision=step + 1,
            summary=f"{mn.HOST_CPU} 97% >= 90%",
        )  # fmt: skip
        event = kinds[step].create(data, source="/bench", id_parts=(data.anomaly_id, step), time=at, subject=target)
        out.append((target, ev.encode_event(event)))
    return out


Output = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
"""A record a service wrote: its key, value and headers."""


async def written(bootstrap: str, topics: list[str]) -> list[Output]:
    """Every record on ``topics`` (read to their ends), in partition order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return [
            (r.key, r.value, list(r.headers))
            async for r in read_to_end(consumer, await partitions_of(consumer, topics))
        ]
    finally:
        await consumer.stop()


async def relay_floor(bootstrap: str, topic: str, events: int, outputs: list[Output]) -> tuple[float, float]:
    """Seconds and CPU seconds of the bare loop that also writes ``outputs`` and follows them (the module's floor)."""
    out_topic = f"floor-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(out_topic, num_partitions=INCIDENTS.partitions, replication_factor=1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"floor-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
        enable_auto_commit=False,
    )  # fmt: skip
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, max_batch_size=PRODUCER_BATCH_BYTES,
        partitioner=keyed_partitioner,
    )  # fmt: skip
    await consumer.start()
    await producer.start()
    done = asyncio.Event()
    follower = asyncio.create_task(_follow(bootstrap, out_topic, done))
    started, cpu = time.perf_counter(), time.process_time()
    seen = sent = 0
    batches = RecordBatches(producer)
    try:
        while seen < events:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            pending = []
            for records in batch.values():
                for record in records:
                    json.loads(record.value)
                    seen += 1
                    while sent < len(outputs) * seen // events:  # the outputs spread over the input as written
                        key, value, headers = outputs[sent]
                        pending.append(await batches.add(out_topic, value, key=key, headers=headers))
                        sent += 1
            await batches.submit()
            await asyncio.gather(*pending)
            if batch:
                await consumer.commit()
    finally:
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        done.set()
        await follower
        await consumer.stop()
        await producer.stop()
    return elapsed, used


async def _follow(bootstrap: str, topic: str, done: asyncio.Event) -> None:
    """Read ``topic`` as a responder's view does (each record's ``ce_id`` looked up) until ``done``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"view-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest"
    )
    known: set[bytes] = set()
    await consumer.start()
    try:
        while not done.is_set():
            for records in (await consumer.getmany(timeout_ms=100, max_records=500)).values():
                for record in records:
                    _ = dict(record.headers).get("ce_id") in known
    finally:
        await consumer.stop()


async def responder_service(bootstrap: str, events: int) -> tuple[float, float]:
    """Seconds and CPU seconds the responder takes for the anomaly backlog (from its first record)."""
    settings = ResponderSettings(kafka_bootstrap_servers=bootstrap, group_id=f"responder-{uuid.uuid4().hex[:6]}")
    runtime = build_responder(settings)
    await runtime.start()
    member = next(m for m in runtime.service.bus.members if m.topic.endswith(ANOMALIES.name))
    try:
        return await _drain(member, events)
    finally:
        await runtime.stop()


async def rca_service(bootstrap: str, records: list[tuple[str, bytes]], reports: Path) -> tuple[float, float]:
    """Seconds and CPU seconds the rca takes to fold the scrapes into its window store."""
    settings = RcaSettings(
        kafka_bootstrap_servers=bootstrap, group_id=f"rca-{uuid.uuid4().hex[:6]}", reports_dir=str(reports)
    )
    runtime = build_rca(settings)
    await runtime.start()
    member = next(m for m in runtime.service.bus.members if m.topic.endswith(METRICS.name))
    try:
        while not member.assigned_partitions():
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # the member has fetched the end of the topic before the backlog comes
        await publish(bootstrap, METRICS.name, records)
        return await _drain(member, len(records))
    finally:
        await runtime.stop()


LOG_INDEX = "application-logs-bench"


async def load_logs(url: str, docs: int) -> None:
    client = AsyncElasticsearch(url, request_timeout=120)
    try:
        await helpers.async_bulk(client, synthetic_docs(LOG_INDEX, docs), chunk_size=5_000, refresh=True)
    finally:
        await client.close()


async def scan_logs(url: str, *, analyse: bool) -> tuple[float, float, int]:
    """Seconds, CPU seconds and documents of one scan of the log index; ``analyse``: through the analyzer."""
    client = AsyncElasticsearch(url, request_timeout=120)
    source = ElasticsearchLogSource(client, index=LOG_INDEX, page_size=5_000)
    miner, analyzer = TemplateMiner(), PatternAnalyzer()
    query = {"range": {"@timestamp": {"gte": LOG_T0.isoformat(), "lt": (LOG_T0 + timedelta(days=1)).isoformat()}}}
    started, cpu, count = time.perf_counter(), time.process_time(), 0
    try:
        async for hit in source.scan_hits(query):
            count += 1
            if analyse:
                record = source.to_record(hit)
                match = miner.add(record.message)
                analyzer.observe(TemplatedRecord(record.timestamp, record.level, record.service, match.template_id,
                                                 match.template, record.message))  # fmt: skip
    finally:
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        await client.close()
    return elapsed, used, count


async def _drain(member: GroupMember, events: int) -> tuple[float, float]:
    while member.progress.handled == 0:
        await asyncio.sleep(0.005)
    started, cpu = time.perf_counter(), time.process_time()
    while member.progress.handled < events:
        await asyncio.sleep(0.005)
    return time.perf_counter() - started, time.process_time() - cpu


Row = tuple[str, float, float, float | None]
"""A consumer's name, seconds and CPU seconds for the backlog, and its baseline's seconds (None: it is one)."""


async def one_round(args: argparse.Namespace) -> list[Row]:
    """Every service of ``args.services`` and its baseline on a fresh noida-db, one after the other."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        logs = "logs" in args.services.split(",")
        broker = start_broker(Path(tmp) / "noida", Path(tmp) / "noida.log", elasticsearch=logs)
        try:
            bootstrap = broker.kafka
            await ensure_topics(DetectorSettings(kafka_bootstrap_servers=bootstrap))
            for service in args.services.split(","):
                if service == "logs":
                    await load_logs(broker.elasticsearch, args.events)
                    print(f"logs: {args.events} log documents in {LOG_INDEX}; noida-db Elasticsearch")
                    scan, scan_cpu, _ = await scan_logs(broker.elasticsearch, analyse=False)
                    took, took_cpu, _ = await scan_logs(broker.elasticsearch, analyse=True)
                    rows += [("bare scan of the log index, baseline", scan, scan_cpu, None),
                             ("live log analyzer (decode, mine, patterns)", took, took_cpu, scan)]  # fmt: skip
                    continue
                topic, records = (
                    (ANOMALIES, anomalies(args.events, args.targets))
                    if service == "responder"
                    else (METRICS, scrapes(args.events, args.targets))
                )
                await publish(bootstrap, topic.name, records)
                size = sum(len(v) for _, v in records) // len(records)
                print(f"{service}: backlog of {args.events} {topic.name} records over {args.targets} targets, "
                      f"{size} bytes each; noida-db")  # fmt: skip
                bare = await bare_loop(bootstrap, topic.name, args.events)
                if service == "detector":
                    measured = await detector_service(bootstrap, args.events, args.profile)
                elif service == "rca":
                    measured = await rca_service(bootstrap, records, Path(tmp) / "reports")
                else:
                    measured = await responder_service(bootstrap, args.events)
                rows += [(f"bare loop on {topic.name}, baseline", *bare, None),
                         (f"{service} service", *measured, bare[0])]  # fmt: skip
                if service == "responder":
                    outputs = await written(bootstrap, [INCIDENTS.name, NOTIFICATIONS.name])
                    floor = await relay_floor(bootstrap, topic.name, args.events, outputs)
                    print(f"responder floor: it wrote {len(outputs)} records, "
                          f"{sum(len(v) for _, v, _ in outputs) // max(len(outputs), 1)} bytes each")  # fmt: skip
                    rows.append(("floor: bare loop + its writes + a view of them", *floor, bare[0]))
        finally:
            terminate(broker.process.pid)
    return rows


def _ratio(row: Row) -> float:
    """The consumer's speed as a share of its baseline's (1 for a baseline)."""
    _, seconds, _, baseline = row
    return 1.0 if baseline is None else baseline / seconds


def print_round(rows: list[Row], events: int) -> None:
    print(f"{'consumer':<48} {'events/s':>10} {'CPU us/event':>13} {'ratio':>7}")
    for row in rows:
        name, seconds, cpu, _ = row
        print(f"{name:<48} {events / seconds:>10,.0f} {cpu / events * 1e6:>13,.0f} {_ratio(row):>7.3f}")


def print_spread(rounds: list[list[Row]], events: int) -> None:
    """Each service's ratio and CPU per event over the rounds: every value, then the median."""
    print(f"\nover {len(rounds)} rounds (each a fresh broker, baseline and service side by side):")
    for index, (name, _, _, baseline) in enumerate(rounds[0]):
        if baseline is None:
            continue
        ratios = sorted(_ratio(r[index]) for r in rounds)
        cpus = sorted(r[index][2] / events * 1e6 for r in rounds)
        print(f"{name:<48} ratio {' '.join(f'{x:.2f}' for x in ratios)}  median {statistics.median(ratios):.2f}; "
              f"CPU us/event median {statistics.median(cpus):,.0f}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=5_000)
    parser.add_argument("--profile", choices=("production", "demo"), default="production")
    parser.add_argument("--services", default="detector,rca,responder,logs")
    parser.add_argument("--rounds", type=int, default=1, help="repeat on a fresh broker; prints the spread")
    args = parser.parse_args()
    rounds = []
    for number in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"-- round {number} of {args.rounds}")
        rounds.append(await one_round(args))
        print_round(rounds[-1], args.events)
    if args.rounds > 1:
        print_spread(rounds, args.events)


if __name__ == "__main__":
    asyncio.run(main())
