"""Human decisions on a real broker: L1 acknowledges, then escalates by hand, and L2 is paged (signed webhook).

The responder runs as in production (its runtime, consumers, clock loop, webhook channels); the
commands are published on ``responder.commands.v1`` as the API publishes them. Its clock is
simulated (a day in the past), so the escalation policy's L2 step can be passed without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.responder.api.commands import CommandKind, command_event, declare_event
from services.responder.app import build
from services.responder.domain.policy import GroupingPolicy
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.events import encode_event
from shared.runtime import Service
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS
from tests.integration.responder_support import Receiver, responder_settings, topic_events, until, webhook_receiver
from tests.integration.test_oncall_live import SimClock, outage

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


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


async def publish(producer: Service, topic: str, event: ev.Event, key: str) -> None:
    await producer.broker.publish(encode_event(event), producer.settings.topic_prefix + topic, key=key.encode())


def pages(receiver: Receiver) -> list[str]:
    return [path for path, _, _ in receiver.received()]


async def test_l1_escalates_by_hand_and_l2_is_paged(
    kafka_bootstrap: str, unique: str, receiver: Receiver, producer: Service
) -> None:
    settings = responder_settings(
        kafka_bootstrap, unique, receiver, grouping=GroupingPolicy(group_wait_s=0, group_interval_s=60)
    )
    clock = SimClock(START)
    runtime = build(settings, clock=clock)
    await runtime.start()
    book = runtime.responder.book
    try:
        await publish(producer, ANOMALIES.name, outage(clock.now), "demo")
        await until(lambda: pages(receiver) == ["/L1"], what="L1's page")
        (incident_id,) = book.incidents
        ack = command_event(CommandKind.ACK, incident_id, actor="ann", text="", request_id="a1", now=clock.now)
        await publish(producer, COMMANDS.name, ack, incident_id)
        await until(lambda: book.incidents[incident_id].incident.status is m.IncidentStatus.ACKNOWLEDGED, what="ack")
        clock.now = START + timedelta(seconds=10)  # past the policy's L2 step (3 s): acknowledged, so no page
        seen = clock.reads
        await until(lambda: clock.reads >= seen + 5, what="five clock ticks after the L2 step")
        assert pages(receiver) == ["/L1", "/L1"]  # the page, then the acknowledgement
        up = command_event(
            CommandKind.ESCALATE, incident_id, actor="ann", text="disk corruption, beyond L1", request_id="e1",
            now=clock.now,
        )  # fmt: skip
        await publish(producer, COMMANDS.name, up, incident_id)
        await publish(producer, COMMANDS.name, up, incident_id)  # delivered twice: one page
        await until(lambda: "/L2" in pages(receiver), what="L2's page after the hand escalation")
        seen = clock.reads
        await until(lambda: clock.reads >= seen + 5, what="five more clock ticks")
        assert pages(receiver).count("/L2") == 1
        assert book.incidents[incident_id].incident.status is m.IncidentStatus.TRIGGERED  # L2 has not acknowledged
        declare = declare_event(
            actor="carol", text="", request_id="d1", now=clock.now, severity=m.Severity.MAJOR,
            impact=m.Impact.SECURITY, title="leaked credentials",
        )  # fmt: skip
        await publish(producer, COMMANDS.name, declare, declare.data.incident_id)
        await until(lambda: declare.data.incident_id in book.incidents, what="the declared incident")
        await until(lambda: pages(receiver).count("/L1") == 3, what="L1 paged for the declared incident")
        await until(lambda: runtime.responder.sending == set(), what="sends to finish")
    finally:
        await runtime.stop()
    escalated = [e for e in await topic_events(settings, INCIDENTS) if isinstance(e, ev.IncidentEscalated)]
    by_hand = [e for e in escalated if e.data.actor == "ann"]
    assert [(e.data.team, e.data.incident.incident_id) for e in by_hand] == [(m.Team.L2, incident_id)]
    assert "disk corruption" in by_hand[0].data.reason
