"""The responder on a real broker: storm → one incident and one page per route, escalation, restart, dedup."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pytest

from services.responder.app import ResponderRuntime, build
from services.responder.core import Clock, utcnow
from services.responder.domain.lifecycle import MAX_LISTED_ANOMALIES, UNLISTED_NOTE
from services.responder.notify.webhook import SIGNATURE_HEADER, verify
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.events import encode_event
from shared.runtime import Service
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, INCIDENTS
from tests.integration.responder_support import (
    WEBHOOK_SECRET,
    Receiver,
    responder_settings,
    storm_anomaly,
    topic_events,
    until,
    webhook_receiver,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def receiver() -> Any:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
async def producer(kafka_bootstrap: str, unique: str) -> AsyncIterator[Service]:
    settings = ResponderSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.")
    await ensure_topics(settings)
    service = Service.create("test-producer", settings)
    await service.start()
    yield service
    await service.stop()


async def send_raw(producer: Service, events: Sequence[ev.AnomalyEvent]) -> None:
    """Publish events as-is (bypassing the producer's dedup ledger, so a batch can be delivered twice)."""
    for event in events:
        await producer.broker.publish(
            encode_event(event), producer.settings.topic_prefix + ANOMALIES.name, key=event.data.target.encode()
        )


async def started(settings: ResponderSettings, *, clock: Clock | None = None) -> ResponderRuntime:
    runtime = build(settings, clock=clock)
    await runtime.start()
    return runtime


class TickCounter:
    """The wall clock, counting its reads (every clock tick of the responder reads it once)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> datetime:
        self.count += 1
        return utcnow()


def count(events: list[ev.Envelope[Any]], cls: type[ev.Envelope[Any]]) -> int:
    return sum(isinstance(e, cls) for e in events)


def dispatched_per_route(events: list[ev.Envelope[Any]], kind: str = "page") -> Counter[tuple[str, str]]:
    return Counter(
        (e.data.team.value, e.data.channel)
        for e in events
        if isinstance(e, ev.NotificationDispatched) and e.data.kind == kind
    )


async def test_alert_storm_of_200_anomalies_is_one_incident_and_one_page_per_route(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(kafka_bootstrap, unique, receiver, escalation={})  # manual: L2 after 2 h
    ticks = TickCounter()
    runtime = await started(settings, clock=ticks)
    try:
        await send_raw(producer, [storm_anomaly(n) for n in range(200)])
        book = runtime.responder.book
        await until(lambda: sum(len(s.incident.anomaly_ids) for s in book.incidents.values()) == 200, what="storm")
        await until(lambda: len(receiver.received()) >= 1, what="the first page")
        seen = ticks.count
        await until(lambda: ticks.count >= seen + 10, what="ten more clock ticks (nothing else may be sent)")
        await until(lambda: runtime.responder.sending == set(), what="sends to finish")
    finally:
        await runtime.stop()
    events = await topic_events(settings)
    assert count(events, ev.IncidentOpened) == 1
    assert dispatched_per_route(events) == {("L1", "log"): 1, ("L1", "hook"): 1}
    assert count(events, ev.NotificationDelivered) == 2
    assert len(receiver.received()) == 1


async def test_unacknowledged_major_escalates_l1_l2_l3_on_schedule_with_signed_webhooks(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(kafka_bootstrap, unique, receiver)
    runtime = await started(settings)
    try:
        await send_raw(producer, [storm_anomaly(1)])
        await until(lambda: len(receiver.received()) >= 3, timeout=40, what="three pages")
        await until(lambda: runtime.responder.sending == set(), what="sends to finish")
    finally:
        await runtime.stop()
    events = await topic_events(settings)
    opened = next(e for e in events if isinstance(e, ev.IncidentOpened))
    escalations = [e for e in events if isinstance(e, ev.IncidentEscalated)]
    assert [e.data.team.value for e in escalations] == ["L1", "L2", "L3"]
    offsets = [(e.time - opened.time).total_seconds() for e in escalations]
    print(f"escalation offsets after opening (s): {[round(o, 2) for o in offsets]}")
    assert offsets[0] >= 1.0 - 0.01  # group_wait
    assert offsets[1] >= 3.0 and offsets[2] >= 6.0  # never earlier than the policy says
    assert count(events, ev.ResponseTargetBreached) == 1
    paths = [path for path, _, _ in receiver.received()]
    assert paths == ["/L1", "/L2", "/L3"]
    for _, headers, body in receiver.received():
        assert verify(WEBHOOK_SECRET.encode(), body, headers[SIGNATURE_HEADER])
        assert json.loads(body)["incident"]["incident_id"] == opened.data.incident.incident_id
        assert headers["X-Idempotency-Key"].startswith("ntf-")


async def test_responder_killed_mid_escalation_neither_loses_nor_repeats_a_step(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(kafka_bootstrap, unique, receiver)
    first = await started(settings)
    await send_raw(producer, [storm_anomaly(1)])
    await until(lambda: len(receiver.received()) >= 1, what="the L1 page")
    await until(lambda: first.responder.sending == set(), what="the L1 send to finish")
    await first.stop(graceful=False)
    assert len(receiver.received()) == 1
    second = await started(settings)
    try:
        rebuilt = next(iter(second.responder.book.incidents.values()))
        assert rebuilt.paged == (m.Team.L1,)
        await until(lambda: len(receiver.received()) >= 3, timeout=40, what="L2 and L3 after restart")
        await until(lambda: second.responder.sending == set(), what="sends to finish")
    finally:
        await second.stop()
    events = await topic_events(settings)
    assert [e.data.team.value for e in events if isinstance(e, ev.IncidentEscalated)] == ["L1", "L2", "L3"]
    assert dispatched_per_route(events) == {(t, c): 1 for t in ("L1", "L2", "L3") for c in ("log", "hook")}
    assert [p for p, _, _ in receiver.received()] == ["/L1", "/L2", "/L3"]


async def test_same_batch_twice_with_a_restart_mid_stream_is_one_incident_and_one_notification(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(kafka_bootstrap, unique, receiver, escalation={})
    batch = [storm_anomaly(n, target="checkout") for n in range(30)]
    first = await started(settings)
    await send_raw(producer, batch)
    await until(lambda: len(receiver.received()) >= 1, what="the first page")
    await first.stop(graceful=False)
    await send_raw(producer, batch)  # redelivered batch while the responder is down
    second = await started(settings)
    try:
        book = second.responder.book
        await until(lambda: sum(len(s.incident.anomaly_ids) for s in book.incidents.values()) == 30, what="batch")
        await send_raw(producer, batch)  # and once more while it runs
        await until(lambda: second.responder.sending == set(), what="sends to finish")
    finally:
        await second.stop()
    events = await topic_events(settings)
    assert count(events, ev.IncidentOpened) == 1
    assert len({e.id for e in events}) == len(events), "an event id was published twice"
    pages = dispatched_per_route(events)
    assert pages[("L1", "hook")] == 1 and pages[("L1", "log")] == 1
    assert len(receiver.received()) == 1


async def test_a_revision_redelivered_to_the_next_owner_after_its_resolution_does_not_fire_again(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(kafka_bootstrap, unique, receiver, escalation={}, auto_resolve_after_s=4)
    detected = storm_anomaly(0, target="checkout")
    cleared = detected.data.model_copy(update={"revision": 2, "score": 0.0})
    resolved = ev.AnomalyResolved.create(cleared, source="/tests", id_parts=(cleared.anomaly_id, 2), subject="checkout")
    first = await started(settings)
    await send_raw(producer, [detected, resolved])
    book = first.responder.book
    await until(lambda: any(s.incident.cleared_at for s in book.incidents.values()), what="the signal to clear")
    await first.stop(graceful=False)
    await send_raw(producer, [detected])  # the detection again, delivered to the partition's next owner
    second = await started(settings)
    try:
        incidents = second.responder.book.incidents

        def auto_resolved() -> bool:
            return any(s.incident.status is m.IncidentStatus.RESOLVED for s in incidents.values())

        await until(auto_resolved, timeout=20, what="the auto-resolution the stale revision must not cancel")
    finally:
        await second.stop()
    events = await topic_events(settings)
    assert not [e for e in events if isinstance(e, ev.IncidentUpdated) and "firing again" in e.data.reason]
    assert count(events, ev.IncidentResolved) == 1


async def test_a_storm_past_the_listing_limit_is_one_incident_and_one_note_through_a_kill_and_a_replay(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(kafka_bootstrap, unique, receiver, escalation={})
    storm = [storm_anomaly(n) for n in range(MAX_LISTED_ANOMALIES + 100)]
    first = await started(settings)
    try:
        await send_raw(producer, storm)
        book = first.responder.book
        await until(lambda: any(UNLISTED_NOTE in s.notes for s in book.incidents.values()), timeout=90, what="note")
    finally:
        await first.stop(graceful=False)
    down = storm_anomaly(MAX_LISTED_ANOMALIES + 100, impact=m.Impact.SERVICE_DOWN)
    second = await started(settings)
    try:
        await send_raw(producer, [*storm, down])  # the whole storm again (same key: before ``down``), then an outage
        book = second.responder.book
        await until(lambda: any(s.incident.severity is m.Severity.CRITICAL for s in book.incidents.values()),
                    timeout=90, what="the unlisted outage to raise the severity")  # fmt: skip
        (state,) = book.incidents.values()
    finally:
        await second.stop()
    events = await topic_events(settings, INCIDENTS)
    assert count(events, ev.IncidentOpened) == 1 and len({e.id for e in events}) == len(events)
    assert [e.data.reason for e in events if isinstance(e, ev.IncidentNoteAdded)] == [UNLISTED_NOTE]
    assert count(events, ev.IncidentUpdated) == MAX_LISTED_ANOMALIES  # 999 joins, then the raise
    assert (
        len(state.incident.anomaly_ids) == MAX_LISTED_ANOMALIES
        and down.data.anomaly_id not in state.incident.anomaly_ids
    )
