"""The responder API on a real broker: read model from the topics, commands and alerts onto the topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.responder.api import ApiSettings, create_api
from services.responder.app import build
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared import topics
from shared.replay import replay
from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from tests.unit.services.responder.api.builders import anomaly, command, fault, incident, notification, rca, transition
from tests.unit.services.responder.api.test_alertmanager import payload

pytestmark = pytest.mark.integration

TOKEN = "integration-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
READ = {"Authorization": "Bearer read-only-token"}
DEADLINE_S = 30.0
T = TypeVar("T")


def broker_settings(kafka_bootstrap: str, unique: str) -> ServiceSettings:
    return ServiceSettings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, TOPIC_PREFIX=f"t{unique}.")


def incident_story(incident_id: str = "inc-1") -> list[ev.Envelope[Any]]:
    """Events of one incident across five topics."""
    inc = incident(incident_id)
    return [
        fault(t=-5),
        anomaly(t=1),
        transition(ev.IncidentOpened, inc, t=2, reason="cpu saturated for 10s"),
        notification(incident_id, t=3),
        transition(ev.IncidentEscalated, inc, t=4, team=m.Team.L1, step=0, reason="page L1"),
        rca(incident_id, t=6),
    ]


async def publish_all(settings: ServiceSettings, events: list[ev.Envelope[Any]]) -> None:
    producer = Service.create("test-producer", settings)
    await producer.broker.start()
    try:
        for event in events:
            await producer.bus.publish(event, key=event.subject or event.correlationid or "k")
    finally:
        await producer.broker.stop()


async def until(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll ``probe`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def find_on_topic(settings: ServiceSettings, topic: topics.Topic, event_id: str) -> ev.Envelope[Any] | None:
    async for _, event in replay(settings, [settings.topic_prefix + topic.name]):
        if event.id == event_id:
            return event
    return None


@asynccontextmanager
async def running_api(
    settings: ServiceSettings, *, runtime: bool = False
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    api_settings = ApiSettings(token=SecretStr(TOKEN), read_token=SecretStr("read-only-token"))
    if runtime:
        responder = ResponderSettings(
            kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.topic_prefix,
            group_id=f"responder-{settings.topic_prefix.strip('.')}",
            api=api_settings,
        )
        app = build(responder).asgi_app()
    else:
        app = create_api(Service.create("responder", settings), api_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=READ) as client:
            await until(lambda: _ready(client), "readiness")
            yield app, client


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def test_incidents_timeline_commands_and_alerts(kafka_bootstrap: str, unique: str) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    story = incident_story()
    await publish_all(settings, story)

    async with running_api(settings) as (_, client):
        listed = (await client.get("/api/incidents")).json()
        assert [i["incident_id"] for i in listed] == ["inc-1"]
        detail = (await client.get("/api/incidents/inc-1")).json()
        assert {e["id"] for e in detail["timeline"]} == {e.id for e in story}
        assert [e["type"] for e in detail["timeline"]][:3] == [
            "chaos.fault_injected",
            "anomaly.detected",
            "incident.opened",
        ]

        # live updates after start-up
        acked = transition(ev.IncidentAcknowledged, incident(status=m.IncidentStatus.ACKNOWLEDGED), t=8, actor="bob")
        await publish_all(settings, [acked, command("inc-1", t=7)])

        async def acknowledged() -> dict[str, Any] | None:
            body = (await client.get("/api/incidents", params={"status": "acknowledged"})).json()
            return body[0] if body else None

        assert (await until(acknowledged, "the live acknowledgement"))["acknowledged_by"] == "bob"

        # commands: refused without the token, published with it
        assert (await client.post("/api/incidents/inc-1/resolve")).status_code == 401
        accepted = await client.post("/api/incidents/inc-1/resolve", headers=AUTH, json={"actor": "carol"})
        assert accepted.status_code == 202
        event_id = accepted.json()["event_id"]
        on_topic = await until(lambda: find_on_topic(settings, topics.COMMANDS, event_id), "the resolve command")
        assert isinstance(on_topic, ev.ResolveRequested) and on_topic.correlationid == "inc-1"

        # the command also joins the incident's timeline through the feed
        async def command_in_timeline() -> bool:
            timeline = (await client.get("/api/incidents/inc-1")).json()["timeline"]
            return any(e["id"] == event_id for e in timeline)

        await until(command_in_timeline, "the command in the timeline")

        # Alertmanager webhook -> AnomalyDetected on the anomalies topic
        ingested = await client.post("/api/alertmanager", headers=AUTH, json=payload())
        assert ingested.status_code == 202 and ingested.json()["published"] == 1
        anomaly_id = ingested.json()["anomaly_ids"][0]

        async def alert_anomaly() -> ev.Envelope[Any] | None:
            async for _, e in replay(settings, [settings.topic_prefix + topics.ANOMALIES.name]):
                if isinstance(e, ev.AnomalyDetected) and e.data.anomaly_id == anomaly_id:
                    return e
            return None

        found = await until(alert_anomaly, "the Alertmanager anomaly")
        assert found.data.kind == m.AnomalyKind.EXTERNAL and found.data.target == "checkout"


async def test_the_responder_runtime_is_started_by_the_api_lifespan(kafka_bootstrap: str, unique: str) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    await publish_all(settings, incident_story("inc-7"))
    async with running_api(settings, runtime=True) as (_, client):
        assert (await client.get("/api/incidents/inc-7")).status_code == 200
        response = await client.post("/api/incidents/inc-7/ack", headers=AUTH, json={"request_id": "once"})
        assert response.status_code == 202
        metrics = (await client.get("/metrics")).text
        assert "ir_events_out_total" in metrics and "ir_api_projection_caught_up 1.0" in metrics
