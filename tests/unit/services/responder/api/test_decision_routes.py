"""Decision endpoints of the real API app: declare, escalate, reassign, severity, merge, split, per-level ack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.responder.api.projection import Projection
from services.responder.domain import decisions
from services.responder.domain.state import Book
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.api.builders import anomaly, at, incident, transition
from tests.unit.services.responder.api.test_routes import AUTH, READ, Recorder, client_for
from tests.unit.services.responder.helpers import policy


@pytest.fixture
def projection() -> Projection:
    p = Projection()
    for e in [
        anomaly(t=1),
        transition(ev.IncidentOpened, incident(), t=2, reason="cpu saturated"),
        transition(ev.IncidentOpened, incident("inc-2", target="web"), t=3, reason="web down"),
    ]:
        p.apply(e)
    return p


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(projection: Projection, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(projection, recorder) as c:
        yield c


async def test_declare_then_escalate_through_the_api(
    client: httpx.AsyncClient, recorder: Recorder, projection: Projection
) -> None:
    body = {
        "title": "customer data exposed", "severity": "critical", "impact": "data_loss", "target": "billing",
        "actor": "carol", "text": "reported by a customer", "request_id": "r1",
    }  # fmt: skip
    assert (await client.post("/api/incidents", json=body)).status_code == 401  # the read token cannot write
    response = await client.post("/api/incidents", headers=AUTH, json=body)
    assert response.status_code == 202
    again = (await client.post("/api/incidents", headers=AUTH, json=body)).json()
    assert again["duplicate"] is True and again["incident_id"] == response.json()["incident_id"]
    (declare, key), = recorder.events  # fmt: skip
    assert isinstance(declare, ev.DeclareRequested)
    incident_id = response.json()["incident_id"]
    assert key == incident_id == declare.data.incident_id
    assert (declare.data.severity, declare.data.impact, declare.data.actor) == (
        m.Severity.CRITICAL, m.Impact.DATA_LOSS, "carol"
    )  # fmt: skip
    # the responder applies it; the API's read model sees the incident it opened
    for event in decisions.decide(Book(), declare, now=at(101), policy=policy()).events:
        projection.apply(event)
    detail = (await client.get(f"/api/incidents/{incident_id}", headers=READ)).json()
    assert detail["incident"]["declared_by"] == "carol" and detail["summary"]["severity"] == "critical"
    up = await client.post(
        f"/api/incidents/{incident_id}/escalate", headers=AUTH, json={"actor": "ann", "text": "needs L3", "level": "L3"}
    )
    assert up.status_code == 202
    escalate = recorder.events[-1][0]
    assert isinstance(escalate, ev.EscalateRequested)
    assert (escalate.data.level, escalate.data.actor, escalate.data.text) == (m.Team.L3, "ann", "needs L3")
    assert (await client.post("/api/incidents/nope/escalate", headers=AUTH)).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "cls", "field", "value"),
    [
        ("reassign", {"team": "L2", "text": "network"}, ev.ReassignRequested, "team", m.Team.L2),
        ("reassign", {"person": "dave"}, ev.ReassignRequested, "person", "dave"),
        ("severity", {"severity": "minor", "text": "staging only"}, ev.SeverityRequested, "severity", m.Severity.MINOR),
        ("severity", {"severity": None, "text": "rules again"}, ev.SeverityRequested, "severity", None),
        ("merge", {"into": "inc-2"}, ev.MergeRequested, "other_incident_id", "inc-2"),
        ("ack", {"level": "L1"}, ev.AcknowledgeRequested, "level", m.Team.L1),
    ],
)
async def test_decision_commands(
    client: httpx.AsyncClient, recorder: Recorder, path: str, body: Any, cls: type, field: str, value: Any
) -> None:
    response = await client.post(f"/api/incidents/inc-1/{path}", headers=AUTH, json=body)
    assert response.status_code == 202, response.text
    (event, key), = recorder.events  # fmt: skip
    assert isinstance(event, cls) and key == "inc-1" and getattr(event.data, field) == value


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("reassign", {"text": "nobody named"}, 422),
        ("severity", {"severity": "major"}, 422),  # a reason is required
        ("severity", {"severity": "urgent", "text": "x"}, 422),
        ("merge", {"into": "inc-1"}, 409),
        ("merge", {"into": "inc-nope"}, 404),
        ("merge", {"into": "../etc"}, 422),
        ("split", {"anomaly_ids": ["an-not-there"]}, 409),
        ("split", {"anomaly_ids": ["an-demo-cpu_percent"]}, 409),  # it would leave the incident empty
    ],
)
async def test_bad_decisions_are_refused_with_a_message(
    client: httpx.AsyncClient, recorder: Recorder, path: str, body: Any, code: int
) -> None:
    response = await client.post(f"/api/incidents/inc-1/{path}", headers=AUTH, json=body)
    assert response.status_code == code and response.json()["detail"]
    assert recorder.events == []
