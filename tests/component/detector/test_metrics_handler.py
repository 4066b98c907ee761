"""The detector's metrics handler through its bus: failed publishes, refused scrapes, checkpoints across rebalances."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Any

import pytest

from services.detector.adapters.state_store import StateStoreError, Stored
from services.detector.app import register
from services.detector.domain.perf import PerfConfig
from services.detector.domain.rules import ThresholdRule
from services.detector.domain.series import StatisticalConfig
from services.detector.domain.target import DetectionConfig
from services.detector.handlers import TARGET_KEY, MetricsHandler
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared.bus import Delivery, PublishFailed, Received
from shared.consumer import partition_of
from shared.models import Impact
from shared.runtime import Service
from shared.topics import ANOMALIES, METRICS
from tests.component.harness import BusHarness
from tests.factories import metrics

pytestmark = pytest.mark.component

RULE = ThresholdRule(name="cpu", metric="process.cpu_percent", value=90, impact=Impact.RESOURCE_PRESSURE)
CONFIG = DetectionConfig(rules=(RULE,), statistical=StatisticalConfig(enabled=False), perf=PerfConfig(enabled=False))
DEMO = TARGET_KEY + "demo"
DEMO_PARTITION = partition_of("demo", METRICS.partitions)


class SlowStore:
    """An in-memory checkpoint store whose loads wait until released."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.partition: dict[str, int] = {}
        self.release = asyncio.Event()

    async def save(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        await self.put(key, value, partition=partition)

    async def put(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        self.values[key] = value
        self.partition[key] = partition or 0

    async def delete(self, key: str, *, partition: int | None = None) -> None:
        await self.put(key, b"", partition=partition)

    async def flush(self) -> None:
        pass

    async def load(self, partitions: Iterable[int] | None = None) -> dict[str, Stored]:
        await self.release.wait()
        wanted = None if partitions is None else set(partitions)
        stored = {k: Stored(self.partition.get(k, 0), v) for k, v in self.values.items()}
        return {k: s for k, s in stored.items() if s.value and (wanted is None or s.partition in wanted)}

    async def partition_count(self) -> int:
        return 3


class FailingStore(SlowStore):
    """A checkpoint store whose next ``failures`` flushes fail (the broker did not take the writes)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.release.set()
        self.failures = failures
        self.staged: dict[str, bytes] = {}

    async def put(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        self.staged[key] = value
        self.partition[key] = partition or 0

    async def flush(self) -> None:
        staged, self.staged = self.staged, {}
        if self.failures:
            self.failures -= 1
            raise StateStoreError("the broker did not acknowledge")
        self.values.update(staged)


async def detector(harness: BusHarness, store: SlowStore | None = None, **settings: Any) -> MetricsHandler:
    """A detector instance: its metrics handler subscribed as the service subscribes it, on a bus of the harness."""
    config = DetectorSettings(checkpoint=False, **settings)
    service = Service.create("detector", config)
    handler = MetricsHandler(service.bus, CONFIG, store, checkpoint_s=0.0)
    register(service.bus, handler, config)
    await harness.attach(service.bus)
    return handler


def cpu(t: float, percent: float) -> ev.MetricsObserved:
    return metrics("demo", t=t, **{"process.cpu_percent": percent})


def reasons(harness: BusHarness) -> list[str]:
    return [dict(record.headers)["dlq_reason"].decode() for record in harness.dead_letters(METRICS)]


async def test_a_revision_that_failed_to_publish_goes_out_on_redelivery(harness: BusHarness) -> None:
    await detector(harness)
    await harness.feed(METRICS, cpu(0, 5.0))
    hot = cpu(2, 99.0)
    with harness.publishes_fail(ANOMALIES), pytest.raises(PublishFailed):
        # the handler's flush fails 3 times: the batch ends unacknowledged, its offsets are not committed
        await harness.feed(METRICS, hot)
    assert harness.published(ANOMALIES) == []
    assert reasons(harness) == [], "a scrape is not dead-lettered for an output the broker did not take"
    redelivered = harness.records(METRICS)[-1:]
    await harness.deliver(METRICS, redelivered)  # the bus sends the kept revision again
    await harness.deliver(METRICS, redelivered)
    published = harness.published(ANOMALIES)
    assert [type(e).__name__ for e in published] == ["AnomalyDetected"]
    assert published[0].causationid == hot.id


async def test_scrapes_without_timezone_are_dead_lettered_and_detect_nothing(harness: BusHarness) -> None:
    handler = await detector(harness)
    scrape = cpu(0, 99.0)
    naive = scrape.model_copy(
        update={"data": scrape.data.model_copy(update={"observed_at": scrape.time.replace(tzinfo=None)})}
    )
    await harness.feed(METRICS, naive)  # the edge refuses it: its schema wants an aware time
    assert len(reasons(harness)) == 1 and "timezone" in reasons(harness)[0]
    assert handler.targets == {} and harness.published(ANOMALIES) == []
    # the handler's own check, behind the edge, refuses it too
    [refused] = await handler.on_metrics([Received(naive, Delivery(METRICS.name, DEMO_PARTITION, 0, b"demo"))])
    assert "timezone" in refused.reason and handler.targets == {}


async def test_scrapes_wait_for_the_checkpoints_of_a_new_assignment(harness: BusHarness) -> None:
    store = SlowStore()
    old = await detector(harness, store)
    await harness.feed(METRICS, cpu(0, 5.0))
    assert DEMO in store.values
    await harness.detach(old.bus)  # the partition moves to a new instance
    new = await detector(harness, store)
    restoring = asyncio.create_task(harness.assign(METRICS, [DEMO_PARTITION]))
    scrape = asyncio.create_task(harness.feed(METRICS, cpu(2, 5.0)))
    await asyncio.sleep(0.05)
    assert not scrape.done(), "a scrape is held while its target's checkpoint loads"
    store.release.set()
    await restoring
    await scrape
    assert new.targets["demo"].last_observed == cpu(2, 5.0).data.observed_at


async def test_a_checkpoint_never_replaces_a_newer_state(harness: BusHarness) -> None:
    store = SlowStore()
    store.release.set()
    live = await detector(harness, store)
    await harness.feed(METRICS, cpu(0, 5.0))
    live.checkpoint_s = 3600.0  # the next scrape is not checkpointed
    await harness.feed(METRICS, cpu(2, 5.0))
    await harness.assign(METRICS, [DEMO_PARTITION])  # the checkpoint holds t=0
    assert live.targets["demo"].last_observed == cpu(2, 5.0).data.observed_at


@pytest.mark.parametrize("failures", [1, 3])
async def test_a_revision_is_in_a_stored_checkpoint_before_the_next_batch_is_done(
    harness: BusHarness, failures: int
) -> None:
    """A failed checkpoint of a target that emitted is retried before the commit, then on every batch.

    Otherwise the batch's offsets are committed with the open episode in no checkpoint, and the
    target's next owner (after a kill) would never close it.
    """
    store = FailingStore(failures)
    live = await detector(harness, store)
    live.checkpoint_s = 3600.0  # no checkpoint falls due by its interval
    await harness.feed(METRICS, cpu(0, 99.0))  # opens an episode: its checkpoint write fails `failures` times
    assert [type(e).__name__ for e in harness.published(ANOMALIES)] == ["AnomalyDetected"]
    await harness.feed(METRICS, cpu(2, 99.0))  # nothing new to emit
    await harness.detach(live.bus)  # killed: the partition moves to a new instance, which restores
    successor = await detector(harness, store)
    await harness.assign(METRICS, [DEMO_PARTITION])
    cool = [cpu(t, 5.0) for t in range(10, 200, 10)]  # an episode closes 120 s after its signal cleared
    for scrape in cool:
        await harness.feed(METRICS, scrape)
    assert successor.targets["demo"].last_observed == cool[-1].data.observed_at
    assert [type(e).__name__ for e in harness.published(ANOMALIES)] == ["AnomalyDetected", "AnomalyResolved"]


async def test_a_scrape_dated_far_ahead_is_rejected_and_later_scrapes_still_count(harness: BusHarness) -> None:
    await detector(harness, max_event_skew_s=1e12)  # an edge that lets it through: the handler refuses it
    scrape = cpu(0, 5.0)
    future = scrape.model_copy(
        update={"data": scrape.data.model_copy(update={"observed_at": scrape.time.replace(year=9999)})}
    )
    await harness.feed(METRICS, future)
    assert (
        len(reasons(harness)) == 1 and reasons(harness)[0].startswith("rejected: ") and "ahead" in reasons(harness)[0]
    )
    await harness.feed(METRICS, scrape)
    await harness.feed(METRICS, cpu(2, 99.0))
    assert [type(e).__name__ for e in harness.published(ANOMALIES)] == ["AnomalyDetected"]


async def test_a_scrape_whose_partition_is_revoked_meanwhile_writes_no_checkpoint(harness: BusHarness) -> None:
    store = SlowStore()
    store.release.set()
    live = await detector(harness, store)
    await harness.feed(METRICS, cpu(0, 5.0))
    handed_over = store.values[DEMO]
    # the rebalance runs while the handler awaits the send of the scrape's revision
    harness.on_publish(ANOMALIES, lambda: harness.revoke(METRICS, [DEMO_PARTITION]))
    await harness.feed(METRICS, cpu(2, 99.0))
    assert len(harness.published(ANOMALIES)) == 1
    assert "demo" not in live.targets
    assert store.values[DEMO] != handed_over, "the revoke saved the state the scrape had updated"
    saved_on_revoke = store.values[DEMO]
    await asyncio.sleep(0)
    assert store.values[DEMO] == saved_on_revoke, "nothing written after the hand-over"


async def test_a_restarted_detector_replaying_its_input_publishes_no_revision_twice(harness: BusHarness) -> None:
    first = await detector(harness)
    await harness.feed(METRICS, cpu(0, 5.0), cpu(2, 99.0))
    assert len(harness.published(ANOMALIES)) == 1
    await harness.detach(first.bus)  # no checkpoint: the new instance learns the target afresh from a replay
    second = await detector(harness)
    await harness.rebuild(second.bus, (ANOMALIES,))  # as Detector.before_start: what was already published
    await harness.feed(METRICS, cpu(0, 5.0), cpu(2, 99.0))
    assert "demo" in second.targets
    assert harness.published(ANOMALIES, by=second.bus) == []


class OrderedStore(SlowStore):
    """An in-memory checkpoint store that remembers the order of its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.release.set()
        self.order: list[str] = []

    async def put(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        self.order.append(key)
        await super().put(key, value, partition=partition)


async def test_a_batch_checkpoints_its_targets_in_the_same_order_in_every_process(harness: BusHarness) -> None:
    """The writes follow the targets' names, not the process's string-hash seed: a replay writes the same topic."""
    store = OrderedStore()
    await detector(harness, store)
    targets = [f"svc-{n:02d}" for n in range(30)]
    random.Random(7).shuffle(targets)
    await harness.feed(METRICS, *(metrics(target, t=0, **{"process.cpu_percent": 5.0}) for target in targets))
    assert store.order == sorted(TARGET_KEY + target for target in targets)
