"""The metrics handler's one state array across a rebalance: revoked targets' columns go back, restored ones come in."""

from __future__ import annotations

import gc

import pytest

from services.detector.app import register
from services.detector.domain.checkpoint import dumps_target
from services.detector.domain.target import DetectionConfig
from services.detector.handlers import TARGET_KEY, MetricsHandler
from services.detector.settings import DetectorSettings
from shared import metric_names as mn
from shared.consumer import partition_of
from shared.runtime import Service
from shared.topics import METRICS
from tests.component.detector.test_metrics_handler import SlowStore
from tests.component.harness import BusHarness
from tests.factories import metrics

pytestmark = pytest.mark.component

TARGETS = [f"svc-{n}" for n in range(12)]


async def detector(harness: BusHarness, store: SlowStore) -> MetricsHandler:
    settings = DetectorSettings(checkpoint=False)
    service = Service.create("detector", settings)
    handler = MetricsHandler(service.bus, DetectionConfig(), store, checkpoint_s=0.0)
    register(service.bus, handler, settings)
    await harness.attach(service.bus)
    return handler


def series_held(handler: MetricsHandler) -> int:
    return sum(detector.series.bank.n_series for detector in handler.targets.values())


async def test_revoked_targets_give_their_columns_back_and_restored_ones_take_them_again(harness: BusHarness) -> None:
    store = SlowStore()
    store.release.set()
    handler = await detector(harness, store)
    for t in range(6):
        values = {mn.HOST_CPU: 20.0 + t, mn.HTTP_LATENCY_P95: 80.0 + t}
        scrapes = [metrics(name, t=2.0 * t, **values) for name in TARGETS]
        await harness.feed(METRICS, *scrapes)
    assert set(handler.targets) == set(TARGETS) and handler.pool.live == series_held(handler) == 2 * len(TARGETS)
    capacity = handler.pool.capacity
    moved = sorted({partition_of(TARGETS[0], METRICS.partitions), partition_of(TARGETS[1], METRICS.partitions)})
    leaving = [name for name in TARGETS if partition_of(name, METRICS.partitions) in moved]
    states = {name: dumps_target(handler.targets[name]) for name in leaving}
    await harness.revoke(METRICS, moved)
    gc.collect()
    assert not set(leaving) & set(handler.targets)
    assert handler.pool.live == series_held(handler) == 2 * (len(TARGETS) - len(leaving))
    assert {name: store.values[TARGET_KEY + name] for name in leaving} == states
    await harness.assign(METRICS, moved)  # back again: restored from the checkpoints, into the freed columns
    assert {name: dumps_target(handler.targets[name]) for name in leaving} == states
    assert handler.pool.live == series_held(handler) == 2 * len(TARGETS) and handler.pool.capacity == capacity
    assert all(handler.targets[name].series.bank._pool is handler.pool for name in TARGETS)


async def test_a_checkpoint_the_broker_lost_is_written_again_when_the_partition_is_handed_over(
    harness: BusHarness,
) -> None:
    store = SlowStore()
    store.release.set()
    handler = await detector(harness, store)
    name = TARGETS[0]
    await harness.feed(METRICS, metrics(name, t=0.0, **{mn.HOST_CPU: 20.0}))
    older = store.values[TARGET_KEY + name]
    for t in range(1, 4):
        await harness.feed(METRICS, metrics(name, t=2.0 * t, **{mn.HOST_CPU: 20.0 + t}))
    newest = dumps_target(handler.targets[name])
    store.values[TARGET_KEY + name] = older  # acknowledged, then lost in a broker crash
    partition = [partition_of(name, METRICS.partitions)]
    await harness.revoke(METRICS, partition)
    await harness.assign(METRICS, partition)  # the rebalance after the crash gives it back
    assert store.values[TARGET_KEY + name] == newest
    assert dumps_target(handler.targets[name]) == newest
