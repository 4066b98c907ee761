"""Targets the collector stopped scraping are forgotten by their partition's stream time, checkpoints and all."""

from __future__ import annotations

import gc

import pytest

from services.detector.app import register
from services.detector.domain.rules import ThresholdRule
from services.detector.domain.target import DetectionConfig
from services.detector.handlers import TARGET_KEY, MetricsHandler
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared.consumer import partition_of
from shared.models import Impact
from shared.runtime import Service
from shared.topics import ANOMALIES, METRICS
from tests.component.detector.test_metrics_handler import SlowStore
from tests.component.harness import BusHarness
from tests.factories import metrics

pytestmark = pytest.mark.component

RULE = ThresholdRule(name="cpu", metric="process.cpu_percent", value=90, impact=Impact.RESOURCE_PRESSURE)
RETENTION_S = 100.0
STAYS, GONE, DOWN = "demo", "gone", "cache"  # all three on one metrics partition
ELSEWHERE = "api"  # on another partition, whose stream time does not move


async def detector(harness: BusHarness, store: SlowStore | None, retention_s: float = RETENTION_S) -> MetricsHandler:
    settings = DetectorSettings(checkpoint=False)
    service = Service.create("detector", settings)
    handler = MetricsHandler(service.bus, DetectionConfig(rules=(RULE,)), store, checkpoint_s=0.0,
                             retention_s=retention_s)  # fmt: skip
    register(service.bus, handler, settings)
    await harness.attach(service.bus)
    return handler


def released() -> SlowStore:
    store = SlowStore()
    store.release.set()
    return store


def cpu(target: str, t: float, percent: float = 5.0) -> ev.MetricsObserved:
    return metrics(target, t=t, **{"process.cpu_percent": percent, "process.rss_bytes": 1e8})


def test_the_targets_share_a_partition() -> None:
    assert len({partition_of(t, METRICS.partitions) for t in (STAYS, GONE, DOWN)}) == 1
    assert partition_of(ELSEWHERE, METRICS.partitions) != partition_of(STAYS, METRICS.partitions)


async def test_silent_targets_are_forgotten_with_their_checkpoints_and_their_open_anomalies_resolved(
    harness: BusHarness,
) -> None:
    store = released()
    handler = await detector(harness, store)
    await harness.feed(METRICS, cpu(GONE, 0), cpu(DOWN, 0, 99.0), cpu(ELSEWHERE, 0))
    assert [e.data.target for e in harness.published(ANOMALIES)] == [DOWN]
    for t in range(2, 100, 2):
        await harness.feed(METRICS, cpu(STAYS, t))
    assert set(handler.targets) == {STAYS, GONE, DOWN, ELSEWHERE}, "nothing is silent for the retention yet"
    live = handler.pool.live

    for t in range(100, 106, 2):
        await harness.feed(METRICS, cpu(STAYS, t))
    assert set(handler.targets) == {STAYS, ELSEWHERE}, "another partition's clock did not move"
    assert store.values[TARGET_KEY + GONE] == store.values[TARGET_KEY + DOWN] == b"", "deleted (an empty value)"
    assert GONE not in handler.partition_of and GONE not in handler.saved_at
    detected, resolved = harness.published(ANOMALIES)
    assert isinstance(resolved, ev.AnomalyResolved) and resolved.data.anomaly_id == detected.data.anomaly_id
    assert resolved.data.labels["resolved_by"] == "retention" and "the target is forgotten" in resolved.data.summary
    assert resolved.time == cpu(STAYS, 102).time, "dated by the newest scrape of its partition (horizon 2 s)"
    gc.collect()
    assert handler.pool.live < live, "their series went back to the pool"

    await harness.feed(METRICS, cpu(GONE, 200, 99.0))  # scraped again: a fresh detector, a new episode
    assert [e.data.target for e in harness.published(ANOMALIES)] == [DOWN, DOWN, GONE]
    assert handler.targets[GONE].last_observed == cpu(GONE, 200).data.observed_at


async def test_a_target_restored_from_a_checkpoint_whose_deletion_was_lost_resolves_nothing_twice(
    harness: BusHarness,
) -> None:
    store = released()
    handler = await detector(harness, store)
    await harness.feed(METRICS, cpu(DOWN, 0, 99.0), cpu(STAYS, 0))
    lost = store.values[TARGET_KEY + DOWN]
    records = await harness.feed(METRICS, cpu(STAYS, 101))
    assert DOWN not in handler.targets and store.values[TARGET_KEY + DOWN] == b""
    await harness.revoke(METRICS, list(range(METRICS.partitions)))
    store.values[TARGET_KEY + DOWN] = lost  # the broker lost the deletion
    await harness.assign(METRICS, list(range(METRICS.partitions)))
    assert DOWN in handler.targets, "restored with its open anomaly"
    await harness.deliver(METRICS, records)  # the batch again, then the partition's clock moves on
    for t in (103, 105):  # an instance looks over a partition once its clock moved on after it took it
        await harness.feed(METRICS, cpu(STAYS, t))
    assert DOWN not in handler.targets
    assert [type(e).__name__ for e in harness.published(ANOMALIES)] == ["AnomalyDetected", "AnomalyResolved"]


async def test_no_retention_forgets_nothing(harness: BusHarness) -> None:
    handler = await detector(harness, None, retention_s=0.0)
    await harness.feed(METRICS, cpu(GONE, 0))
    for t in range(2, 1000, 50):
        await harness.feed(METRICS, cpu(STAYS, t))
    assert set(handler.targets) == {STAYS, GONE}


async def test_a_revoked_partition_forgets_its_stream_time(harness: BusHarness) -> None:
    store = released()
    handler = await detector(harness, store)
    await harness.feed(METRICS, cpu(GONE, 0), cpu(STAYS, 150))
    partition = partition_of(STAYS, METRICS.partitions)
    assert partition in handler.stream.newest
    await harness.revoke(METRICS, [partition])
    assert partition not in handler.stream.newest and not handler.targets


async def test_a_restored_target_belongs_to_its_partition_before_it_is_scraped_again(harness: BusHarness) -> None:
    store = released()
    handler = await detector(harness, store)
    await harness.feed(METRICS, cpu(GONE, 0), cpu(ELSEWHERE, 0))
    await harness.revoke(METRICS, list(range(METRICS.partitions)))
    assert not handler.targets
    await harness.assign(METRICS, list(range(METRICS.partitions)))
    partition = partition_of(GONE, METRICS.partitions)
    assert handler.partition_of == {GONE: partition, ELSEWHERE: partition_of(ELSEWHERE, METRICS.partitions)}
    await harness.revoke(METRICS, [partition])
    assert set(handler.targets) == {ELSEWHERE}, "released with its partition (it was kept for good before)"
