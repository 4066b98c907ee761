"""EventBus.flush when flushes overlap (a consumer's batch and the responder's clock flush at the same time)."""

from __future__ import annotations

import asyncio

import pytest

from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.topics import ANOMALIES
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import anomaly

pytestmark = pytest.mark.component


async def test_a_flush_overlapping_another_returns_only_once_the_events_queued_before_it_are_acknowledged(
    harness: BusHarness,
) -> None:
    """The second flush finds the events the first is waiting for: it must wait too (a commit follows it)."""
    bus = await harness.attach(Service.create("detector", ServiceSettings()).bus)
    release = harness.hold_acks()
    event = anomaly("api", t=0)
    assert await bus.send(event, key="api")
    first = asyncio.create_task(bus.flush())
    await asyncio.sleep(0)  # the first flush is waiting for the acknowledgement
    second = asyncio.create_task(bus.flush())
    await asyncio.sleep(0.05)
    assert not second.done(), "returned before the event it was asked to flush was acknowledged"
    release.set()
    await asyncio.gather(first, second)
    assert event.id in bus.published
    assert [e.id for e in harness.published(ANOMALIES)] == [event.id]


async def test_a_failed_send_fails_every_flush_that_waited_for_it_and_the_next_flush_sends_it_again(
    harness: BusHarness,
) -> None:
    bus = await harness.attach(Service.create("detector", ServiceSettings()).bus)
    event = anomaly("api", t=0)
    with harness.publishes_fail(ANOMALIES):
        await bus.send(event, key="api")
        results = await asyncio.gather(bus.flush(), bus.flush(), return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["PublishFailed", "PublishFailed"]
    assert event.id not in bus.published
    await bus.flush()
    assert event.id in bus.published
    assert [e.id for e in harness.published(ANOMALIES)] == [event.id]
