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


async def detector(harness: BusHarness, store: SlowStore) -> MetricsHandler:
    settings = DetectorSettings(checkpoint=False)
    service = Service.create("detector", settings)
    handler = MetricsHandler(service.bus, DetectionConfig(rules=(RULE,)), store, checkpoint_s=0.0,
                             retention_s=RETENTION_S)  # fmt: skip
    register(service.bus, handler, settings)
    await harness.attach(service.bus)
    return handler


def cpu(target: str, t: float, percent: float = 5.0) -> ev.MetricsObserved:
    return metrics(target, t=t, **{"process.cpu_percent": percent, "process.rss_bytes": 1e8})


def test_the_targets_share_a_partition() -> None:
    assert len({partition_of(t, METRICS.partitions) for t in (STAYS, GONE, DOWN)}) == 1
    assert partition_of(ELSEWHERE, METRICS.partitions) != partition_of(STAYS, METRICS.partitions)


async def test_a_silent_target_is_forgotten_with_its_checkpoint_and_one_that_is_down_is_kept(
    harness: BusHarness,
) -> None:
    store = SlowStore()
    store.release.set()
    handler = await detector(harness, store)
    await harness.feed(METRICS, cpu(GONE, 0), cpu(DOWN, 0, 99.0), cpu(ELSEWHERE, 0))
    assert [e.data.target for e in harness.published(ANOMALIES)] == [DOWN]
    for t in range(2, 100, 2):
        await harness.feed(METRICS, cpu(STAYS, t))
    assert set(handler.targets) == {STAYS, GONE, DOWN, ELSEWHERE}, "nothing is silent for the retention yet"
    live = handler.pool.live

    for t in range(100, 106, 2):
        await harness.feed(METRICS, cpu(STAYS, t))
    assert set(handler.targets) == {STAYS, DOWN, ELSEWHERE}, "a target down keeps its open anomaly"
    assert store.values[TARGET_KEY + GONE] == b"", "its checkpoint is deleted (an empty value)"
    assert store.values[TARGET_KEY + DOWN] != b""
    assert GONE not in handler.partition_of and GONE not in handler.saved_at
    gc.collect()
    assert handler.pool.live < live, "its series went back to the pool"

    await harness.feed(METRICS, cpu(GONE, 200, 99.0))  # scraped again: a fresh detector, a new episode
    assert [e.data.target for e in harness.published(ANOMALIES)] == [DOWN, GONE]
    assert handler.targets[GONE].last_observed == cpu(GONE, 200).data.observed_at


async def test_no_retention_forgets_nothing(harness: BusHarness) -> None:
    settings = DetectorSettings(checkpoint=False)
    service = Service.create("detector", settings)
    handler = MetricsHandler(service.bus, DetectionConfig(rules=(RULE,)), None, checkpoint_s=0.0)
    register(service.bus, handler, settings)
    await harness.attach(service.bus)
    await harness.feed(METRICS, cpu(GONE, 0))
    for t in range(2, 1000, 50):
        await harness.feed(METRICS, cpu(STAYS, t))
    assert set(handler.targets) == {STAYS, GONE}


async def test_a_revoked_partition_forgets_its_stream_time(harness: BusHarness) -> None:
    store = SlowStore()
    store.release.set()
    handler = await detector(harness, store)
    await harness.feed(METRICS, cpu(GONE, 0), cpu(STAYS, 150))
    partition = partition_of(STAYS, METRICS.partitions)
    assert partition in handler.stream.newest
    await harness.revoke(METRICS, [partition])
    assert partition not in handler.stream.newest and not handler.targets
