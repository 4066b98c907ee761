"""The metrics handler: a failed publish is retried with the redelivered scrape, nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from services.detector.domain.perf import PerfConfig
from services.detector.domain.rules import ThresholdRule
from services.detector.domain.series import StatisticalConfig
from services.detector.domain.target import DetectionConfig
from services.detector.handlers import MetricsHandler
from shared.bus import Delivery, EventBus, PublishFailed, Received, RejectedEvent
from shared.events import parse_event
from shared.models import Impact
from shared.telemetry import ServiceMetrics
from tests.factories import metrics

RULE = ThresholdRule(name="cpu", metric="process.cpu_percent", value=90, impact=Impact.RESOURCE_PRESSURE)
CONFIG = DetectionConfig(rules=(RULE,), statistical=StatisticalConfig(enabled=False), perf=PerfConfig(enabled=False))
DELIVERY = Delivery("collector.metrics.v1", 0, 0, b"demo")


class FlakyBroker:
    """Records what is acknowledged; fails the next ``failures`` publishes (as aiokafka: on the future)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.failures = 0

    async def publish(self, value: bytes, topic: str, *, no_confirm: bool = False, **_: Any) -> Any:
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failures:
            self.failures -= 1
            outcome.set_exception(ConnectionError("broker unreachable"))
        else:
            self.sent.append(parse_event(value))
            outcome.set_result(None)
        return outcome if no_confirm else await outcome


async def observe(handler: MetricsHandler, event: Any, delivery: Delivery = DELIVERY) -> None:
    """Hand ``event`` to the batch handler as a batch of one; raise RejectedEvent if it is rejected."""
    rejected = await handler.on_metrics([Received(event, delivery)])
    if rejected:
        raise RejectedEvent(rejected[0].reason)


@pytest.fixture
def setup() -> tuple[MetricsHandler, FlakyBroker]:
    broker = FlakyBroker()
    bus = EventBus(broker, source="/services/detector", metrics=ServiceMetrics("detector-test"))  # type: ignore[arg-type]
    return MetricsHandler(bus, CONFIG, None, checkpoint_s=0.0), broker


async def test_a_revision_that_failed_to_publish_goes_out_on_redelivery(
    setup: tuple[MetricsHandler, FlakyBroker],
) -> None:
    handler, broker = setup
    await observe(handler, metrics("demo", t=0, **{"process.cpu_percent": 5.0}))
    hot = metrics("demo", t=2, **{"process.cpu_percent": 99.0})
    broker.failures = 1
    with pytest.raises(PublishFailed):
        await observe(handler, hot)
    assert broker.sent == []
    await observe(handler, hot)  # the bus retries the same event
    await observe(handler, hot)
    assert [type(e).__name__ for e in broker.sent] == ["AnomalyDetected"]
    assert broker.sent[0].causationid == hot.id


async def test_scrapes_without_timezone_are_rejected(setup: tuple[MetricsHandler, FlakyBroker]) -> None:
    handler, _ = setup
    scrape = metrics("demo", t=0, **{"process.cpu_percent": 5.0})
    naive = scrape.model_copy(
        update={"data": scrape.data.model_copy(update={"observed_at": scrape.time.replace(tzinfo=None)})}
    )
    with pytest.raises(RejectedEvent, match="timezone"):
        await observe(handler, naive)


class SlowStore:
    """An in-memory checkpoint store whose loads wait until released."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.release = asyncio.Event()

    async def save(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        self.values[key] = value

    async def put(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        self.values[key] = value

    async def flush(self) -> None:
        pass

    async def load(self, partitions: Iterable[int] | None = None) -> dict[str, bytes]:
        await self.release.wait()
        return dict(self.values)

    async def partition_count(self) -> int:
        return 3


async def test_scrapes_wait_for_the_checkpoints_of_a_new_assignment(setup: tuple[MetricsHandler, FlakyBroker]) -> None:
    handler, _ = setup
    store = SlowStore()
    old = MetricsHandler(handler.bus, CONFIG, store, checkpoint_s=0.0)
    await observe(old, metrics("demo", t=0, **{"process.cpu_percent": 5.0}))
    new = MetricsHandler(handler.bus, CONFIG, store, checkpoint_s=0.0)
    restoring = asyncio.create_task(new.restore([0]))
    scrape = asyncio.create_task(observe(new, metrics("demo", t=2, **{"process.cpu_percent": 5.0})))
    await asyncio.sleep(0.05)
    assert not scrape.done(), "a scrape is held while its target's checkpoint loads"
    store.release.set()
    assert await restoring == 1
    await scrape
    assert new.targets["demo"].last_observed == metrics("demo", t=2).data.observed_at


async def test_a_checkpoint_never_replaces_a_newer_state(setup: tuple[MetricsHandler, FlakyBroker]) -> None:
    handler, _ = setup
    store = SlowStore()
    store.release.set()
    live = MetricsHandler(handler.bus, CONFIG, store, checkpoint_s=0.0)
    await observe(live, metrics("demo", t=0, **{"process.cpu_percent": 5.0}))
    live.checkpoint_s = 3600.0  # the next scrape is not checkpointed
    await observe(live, metrics("demo", t=2, **{"process.cpu_percent": 5.0}))
    assert await live.restore([0]) == 0
    assert live.targets["demo"].last_observed == metrics("demo", t=2).data.observed_at


async def test_a_scrape_dated_far_ahead_is_rejected_and_later_scrapes_still_count(
    setup: tuple[MetricsHandler, FlakyBroker],
) -> None:
    handler, broker = setup
    scrape = metrics("demo", t=0, **{"process.cpu_percent": 5.0})
    future = scrape.model_copy(
        update={"data": scrape.data.model_copy(update={"observed_at": scrape.time.replace(year=9999)})}
    )
    with pytest.raises(RejectedEvent, match="ahead"):
        await observe(handler, future)
    await observe(handler, scrape)
    await observe(handler, metrics("demo", t=2, **{"process.cpu_percent": 99.0}))
    assert [type(e).__name__ for e in broker.sent] == ["AnomalyDetected"]


async def test_a_scrape_whose_partition_is_revoked_meanwhile_writes_no_checkpoint(
    setup: tuple[MetricsHandler, FlakyBroker],
) -> None:
    handler, broker = setup
    store = SlowStore()
    store.release.set()
    live = MetricsHandler(handler.bus, CONFIG, store, checkpoint_s=0.0)
    await observe(live, metrics("demo", t=0, **{"process.cpu_percent": 5.0}))
    handed_over = store.values["target:demo"]
    publish = broker.publish

    async def revoke_then_publish(value: bytes, topic: str, **kwargs: Any) -> Any:
        await live.release([DELIVERY.partition])  # the rebalance runs while the handler awaits
        return await publish(value, topic, **kwargs)

    broker.publish = revoke_then_publish  # type: ignore[method-assign]
    await observe(live, metrics("demo", t=2, **{"process.cpu_percent": 99.0}))
    assert "demo" not in live.targets
    assert store.values["target:demo"] != handed_over, "the revoke saved the state the scrape had updated"
    saved_on_revoke = store.values["target:demo"]
    await asyncio.sleep(0)
    assert store.values["target:demo"] == saved_on_revoke, "nothing written after the hand-over"
