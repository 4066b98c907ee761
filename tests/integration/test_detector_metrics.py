"""The detector on a real broker: one anomaly per episode, idempotent replays, dead letters, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.detector.app import DetectorRuntime, build
from services.detector.domain.checkpoint import dumps_target
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared.consumer import partition_of
from shared.events import encode_event
from shared.replay import replay
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, METRICS
from tests.factories import at, metrics
from tests.kafka_reads import dead_letters

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TARGET = "demo-it"
CPU_RULE = {
    "name": "process-cpu",
    "metric": "process.cpu_percent",
    "value": 90,
    "clear_value": 80,
    "sustain_s": 6,
    "sustain_samples": 2,
    "clear_s": 4,
    "impact": "resource_pressure",
    "unit": "%",
}
HIGH = [5.0] * 3 + [98.0] * 8
LOW = [5.0] * 8


def make_settings(kafka: str, unique: str, **extra: Any) -> DetectorSettings:
    fields: dict[str, Any] = {
        "rules": [CPU_RULE],
        "statistical": {"enabled": False},
        "degradation": {"enabled": False},
        "episodes": {"close_delay_s": 4},
    }
    return DetectorSettings(
        kafka_bootstrap_servers=kafka, topic_prefix=f"t{unique}.", group_id=f"detector-{unique}", **(fields | extra)
    )


def scrapes(values: list[float], start: int = 0) -> list[ev.MetricsObserved]:
    return [metrics(TARGET, t=2.0 * (start + i), **{"process.cpu_percent": v}) for i, v in enumerate(values)]


async def send(settings: DetectorSettings, events: list[ev.MetricsObserved], raw: list[bytes] = ()) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        topic = settings.topic_prefix + METRICS.name
        for value in raw:
            await producer.send_and_wait(topic, value, key=TARGET.encode())
        for event in events:
            await producer.send_and_wait(topic, encode_event(event), key=TARGET.encode())
    finally:
        await producer.stop()


async def send_many(settings: DetectorSettings, events: list[ev.MetricsObserved]) -> None:
    """Publish scrapes keyed by their own target, as the collector does."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            key = event.data.target.encode()
            await producer.send_and_wait(settings.topic_prefix + METRICS.name, encode_event(event), key=key)
    finally:
        await producer.stop()


async def anomalies(settings: DetectorSettings) -> list[ev.Envelope[Any]]:
    return [e async for _, e in replay(settings, [settings.topic_prefix + ANOMALIES.name])]


async def wait_for(check: Callable[[], Any], timeout: float = 45.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.2)


async def processed_up_to(detector: DetectorRuntime, t: float) -> bool:
    state = detector.metrics.targets.get(TARGET)
    return state is not None and state.last_observed is not None and state.last_observed >= at(t)


async def restarted(settings: DetectorSettings) -> DetectorRuntime:
    """A new detector instance, started, once it has restored the checkpoint of ``TARGET``."""
    detector = build(settings)
    await detector.start()

    async def restored() -> bool:
        return TARGET in detector.metrics.targets

    try:
        await wait_for(restored)
    except BaseException:
        await detector.stop()
        raise
    return detector


def kinds(events: list[ev.Envelope[Any]]) -> list[str]:
    return [type(e).__name__ for e in events]


async def test_a_cpu_episode_is_one_anomaly_replays_add_nothing_and_bad_records_are_dead_lettered(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = make_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    detector = build(settings)
    await detector.start()
    try:
        batch = scrapes(HIGH + LOW)
        await send(settings, batch, raw=[b"{not json", b'{"specversion": "1.0"}'])

        async def resolved() -> bool:
            return "AnomalyResolved" in kinds(await anomalies(settings))

        await wait_for(resolved)
        first = await anomalies(settings)
        assert kinds(first) == ["AnomalyDetected", "AnomalyResolved"]
        detected = first[0].data
        assert detected.target == TARGET and detected.signal == "process.cpu_percent"
        assert detected.kind == "threshold" and detected.impact == "resource_pressure"
        assert first[1].data.anomaly_id == detected.anomaly_id

        letters = await dead_letters(settings, METRICS)
        assert [v for v, _ in letters] == [b"{not json", b'{"specversion": "1.0"}']
        assert all(h["dlq_reason"].startswith(b"invalid event") for _, h in letters)

        # The same batch again, then the same scrapes under new event ids, then one newer scrape.
        await send(settings, batch)
        again = [ev.MetricsObserved.create(e.data, source="/replayer", id_parts=("again", e.id)) for e in batch]
        await send(settings, [*again, *scrapes([5.0], start=len(batch))])
        await wait_for(lambda: processed_up_to(detector, 2.0 * len(batch)))
        assert [e.id for e in await anomalies(settings)] == [e.id for e in first]
    finally:
        await detector.stop()


async def test_a_restarted_detector_restores_its_state_and_does_not_duplicate(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = make_settings(kafka_bootstrap, unique, statistical={"detector": {"warmup_samples": 5}})
    await ensure_topics(settings)
    first = build(settings)
    await first.start()
    try:
        await send(settings, scrapes(HIGH))

        async def detected() -> bool:
            return "AnomalyDetected" in kinds(await anomalies(settings))

        await wait_for(detected)
        await wait_for(lambda: processed_up_to(first, 2.0 * (len(HIGH) - 1)))
    finally:
        await first.stop()
    snapshot = dumps_target(first.metrics.targets[TARGET])

    second = await restarted(settings)
    try:
        assert dumps_target(second.metrics.targets[TARGET]) == snapshot
        assert second.metrics.targets[TARGET].series, "statistical state restored without re-warming"
        await send(settings, scrapes(LOW, start=len(HIGH)))

        async def resolved() -> bool:
            return "AnomalyResolved" in kinds(await anomalies(settings))

        await wait_for(resolved)
        events = await anomalies(settings)
        assert kinds(events).count("AnomalyDetected") == 1 and kinds(events).count("AnomalyResolved") == 1
        assert len({e.data.anomaly_id for e in events}) == 1
        assert len({e.id for e in events}) == len(events)
    finally:
        await second.stop()


async def test_a_target_no_longer_scraped_is_forgotten_and_stays_forgotten_after_a_restart(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = make_settings(kafka_bootstrap, unique, target_retention_s=3600, checkpoint_interval_s=0)
    partition = partition_of(TARGET, METRICS.partitions)
    gone = next(f"gone-{n}" for n in range(100) if partition_of(f"gone-{n}", METRICS.partitions) == partition)
    await ensure_topics(settings)
    first = build(settings)
    await first.start()
    try:
        await send_many(settings, [metrics(gone, t=0.0, **{"process.cpu_percent": 5.0}), *scrapes([5.0])])
        for before, t in ((0.0, 3000.0), (3000.0, 3700.0)):  # its partition's clock passes an hour
            await wait_for(lambda: processed_up_to(first, before))  # noqa: B023 (awaited in this iteration)
            await send_many(settings, [metrics(TARGET, t=t, **{"process.cpu_percent": 5.0})])

        async def forgotten() -> bool:
            return gone not in first.metrics.targets

        await wait_for(forgotten)
        assert gone not in first.metrics.targets and TARGET in first.metrics.targets
    finally:
        await first.stop()

    second = await restarted(settings)
    try:
        assert gone not in second.metrics.targets, "its checkpoint was deleted on the state topic"
    finally:
        await second.stop()
