"""The HTTP API over an in-memory read model and a recording publisher (no broker)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.responder.api import ApiSettings, build_api
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.api.builders import anomaly, at, incident, rca, transition
from tests.unit.services.responder.api.test_alertmanager import payload

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
READ_TOKEN = "read-only-token"
ASYNCAPI_FILE = Path(__file__).parents[5] / "docs" / "asyncapi.json"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


class Recorder:
    """Stands in for the bus: remembers what was published, refuses ids it has seen."""

    def __init__(self) -> None:
        self.events: list[tuple[ev.Envelope[Any], str]] = []

    async def __call__(self, event: ev.Envelope[Any], key: str) -> bool:
        if any(e.id == event.id for e, _ in self.events):
            return False
        self.events.append((event, key))
        return True


@pytest.fixture
def projection() -> Projection:
    p = Projection()
    inc = incident()
    for e in [anomaly(t=1), transition(ev.IncidentOpened, inc, t=2, reason="cpu saturated")]:
        p.apply(e)
    return p


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def client_for(projection: Projection, recorder: Recorder, **settings: Any) -> httpx.AsyncClient:
    settings.setdefault("token", SecretStr(TOKEN))
    settings.setdefault("read_token", SecretStr(READ_TOKEN))
    deps = ApiDeps(
        settings=ApiSettings(**settings),
        projection=projection,
        publish=recorder,
        registry=CollectorRegistry(),
        clock=lambda: at(100),
    )
    transport = httpx.ASGITransport(app=build_api(deps))
    return httpx.AsyncClient(transport=transport, base_url="http://api", headers=READ)  # reads carry the read token


@pytest.fixture
async def client(projection: Projection, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(projection, recorder) as c:
        yield c


async def test_list_and_filter(client: httpx.AsyncClient) -> None:
    assert [i["incident_id"] for i in (await client.get("/api/incidents")).json()] == ["inc-1"]
    assert (await client.get("/api/incidents", params={"status": "resolved"})).json() == []
    assert (await client.get("/api/incidents", params={"severity": "bogus"})).status_code == 422


async def test_incident_detail_has_the_timeline(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/incidents/inc-1")).json()
    assert body["summary"]["status"] == "triggered"
    assert [e["type"] for e in body["timeline"]] == ["anomaly.detected", "incident.opened"]
    assert body["timeline"][1]["correlationid"] == "inc-1"
    assert (await client.get("/api/incidents/nope")).status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
async def test_mutations_need_the_token(client: httpx.AsyncClient, recorder: Recorder, headers: dict[str, str]) -> None:
    response = await client.post("/api/incidents/inc-1/ack", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text
    assert recorder.events == []


async def test_ack_publishes_a_command_keyed_by_incident(client: httpx.AsyncClient, recorder: Recorder) -> None:
    response = await client.post("/api/incidents/inc-1/ack", headers=AUTH, json={"actor": "alice", "request_id": "r1"})
    assert response.status_code == 202
    (event, key), = recorder.events  # fmt: skip
    assert isinstance(event, ev.AcknowledgeRequested) and key == "inc-1"
    assert (event.correlationid, event.data.actor, event.data.incident_id) == ("inc-1", "alice", "inc-1")
    assert response.json()["command_id"] == event.data.command_id and response.json()["event_id"] == event.id


async def test_same_request_id_is_a_duplicate(client: httpx.AsyncClient, recorder: Recorder) -> None:
    first = (await client.post("/api/incidents/inc-1/resolve", headers=AUTH, json={"request_id": "r1"})).json()
    again = (await client.post("/api/incidents/inc-1/resolve", headers=AUTH, json={"request_id": "r1"})).json()
    other = (await client.post("/api/incidents/inc-1/resolve", headers={**AUTH, "Idempotency-Key": "k2"})).json()
    assert first["event_id"] == again["event_id"] != other["event_id"]
    assert (first["duplicate"], again["duplicate"], other["duplicate"]) == (False, True, False)
    assert [type(e).__name__ for e, _ in recorder.events] == ["ResolveRequested", "ResolveRequested"]


@pytest.mark.parametrize(
    ("path", "body", "cls"),
    [
        ("notes", {"text": "rolled back v2", "actor": "bob"}, ev.NoteRequested),
        ("rca", None, ev.RcaRequested),
    ],
)
async def test_note_and_rca_commands(
    client: httpx.AsyncClient, recorder: Recorder, path: str, body: Any, cls: type
) -> None:
    assert (await client.post(f"/api/incidents/inc-1/{path}", headers=AUTH, json=body)).status_code == 202
    assert isinstance(recorder.events[0][0], cls)


async def test_commands_on_unknown_incidents_are_404(client: httpx.AsyncClient, recorder: Recorder) -> None:
    assert (await client.post("/api/incidents/nope/ack", headers=AUTH)).status_code == 404
    assert recorder.events == []


async def test_bad_note_is_422_with_a_message(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/incidents/inc-1/notes", headers=AUTH, json={"text": ""})
    assert response.status_code == 422
    assert "body.text" in response.json()["message"]


async def test_no_configured_token_disables_mutations(projection: Projection, recorder: Recorder) -> None:
    async with client_for(projection, recorder, token=None) as c:
        response = await c.post("/api/incidents/inc-1/ack", headers=AUTH)
    assert response.status_code == 503 and "RESPONDER_API_TOKEN" in response.json()["detail"]


async def test_reads_need_a_token_by_default(projection: Projection, recorder: Recorder) -> None:
    async with client_for(projection, recorder) as c:
        for path in ["/api/incidents", "/api/incidents/inc-1", "/api/incidents/inc-1/report", "/api/silences"]:
            assert (await c.get(path, headers={"Authorization": ""})).status_code == 401, path
            assert (await c.get(path, headers={"Authorization": "Bearer wrong"})).status_code == 401, path
        assert (await c.get("/api/incidents", headers=AUTH)).status_code == 200
        assert (await c.get("/api/incidents", headers=READ)).status_code == 200
        assert (await c.post("/api/incidents/inc-1/ack", headers=READ)).status_code == 401  # read-only token
        assert (await c.get("/healthz", headers={"Authorization": ""})).status_code == 200
        assert (await c.get("/", headers={"Authorization": ""})).status_code == 200


async def test_open_reads_is_explicit(projection: Projection, recorder: Recorder) -> None:
    async with client_for(projection, recorder, open_reads=True) as c:
        assert (await c.get("/api/incidents", headers={"Authorization": ""})).status_code == 200
        assert (await c.post("/api/incidents/inc-1/ack", headers={"Authorization": ""})).status_code == 401
    async with client_for(projection, recorder, token=None, read_token=None) as c:
        response = await c.get("/api/incidents")
        assert response.status_code == 503 and "RESPONDER_API_OPEN_READS" in response.json()["detail"]


async def test_silence_create_list_expire(
    client: httpx.AsyncClient, recorder: Recorder, projection: Projection
) -> None:
    body = {"matchers": {"service": "demo"}, "duration_s": 600, "author": "bob", "reason": "deploy", "request_id": "s1"}
    response = await client.post("/api/silences", headers=AUTH, json=body)
    assert response.status_code == 202
    created, key = recorder.events[0]
    assert isinstance(created, ev.SilenceCreated) and key == created.data.silence_id == response.json()["command_id"]
    assert (created.data.starts_at, created.data.ends_at) == (at(100), at(700))
    projection.apply(created)
    assert [s["state"] for s in (await client.get("/api/silences")).json()] == ["active"]
    assert (await client.delete(f"/api/silences/{key}", headers=AUTH)).status_code == 202
    assert isinstance(recorder.events[1][0], ev.SilenceExpired)
    assert (await client.delete("/api/silences/nope", headers=AUTH)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"matchers": {}, "duration_s": 60},
        {"matchers": {"a": "b"}},
        {"matchers": {"a": "b"}, "ends_at": "2020-01-01T00:00:00Z"},
        {"matchers": {"a": "b"}, "duration_s": 60, "typo": 1},
    ],
)
async def test_bad_silences_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert (await client.post("/api/silences", headers=AUTH, json=body)).status_code == 422


async def test_alertmanager_webhook(client: httpx.AsyncClient, recorder: Recorder, projection: Projection) -> None:
    response = await client.post("/api/alertmanager", headers=AUTH, json=payload())
    assert response.status_code == 202
    assert response.json() | {"anomaly_ids": []} == {"received": 1, "published": 1, "duplicates": 0, "anomaly_ids": []}
    (event, key), = recorder.events  # fmt: skip
    assert isinstance(event, ev.AnomalyDetected) and key == "checkout" and event.data.kind == m.AnomalyKind.EXTERNAL
    projection.apply(event)  # as the feed would after the broker round trip
    again = (await client.post("/api/alertmanager", headers=AUTH, json=payload())).json()
    assert (again["published"], again["duplicates"]) == (0, 1)


async def test_alertmanager_rejects_bad_payloads_and_missing_tokens(client: httpx.AsyncClient) -> None:
    bad = payload()
    bad["version"] = "3"
    response = await client.post("/api/alertmanager", headers=AUTH, json=bad)
    assert response.status_code == 422 and "body.version" in response.json()["message"]
    assert (await client.post("/api/alertmanager", json=payload())).status_code == 401


async def test_report_is_served_from_the_rca_event(projection: Projection, recorder: Recorder, tmp_path: Path) -> None:
    (tmp_path / "inc-1.md").write_text("# Incident inc-1\n")
    (tmp_path / "inc-1.html").write_text("<h1>Incident inc-1</h1>")
    projection.apply(rca("inc-1", t=5, report_path=str(tmp_path / "inc-1.md")))
    async with client_for(projection, recorder, reports_dir=str(tmp_path)) as c:
        md = await c.get("/api/incidents/inc-1/report")
        page = await c.get("/api/incidents/inc-1/report", params={"format": "html"})
        assert (md.status_code, md.text) == (200, "# Incident inc-1\n")
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
    async with client_for(projection, recorder, reports_dir=str(tmp_path / "elsewhere")) as c:
        assert (await c.get("/api/incidents/inc-1/report")).status_code == 404


async def test_report_missing_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/incidents/inc-1/report")).status_code == 404


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    for path in ["/api/incidents", "/api/incidents/{incident_id}", "/api/incidents/{incident_id}/ack",
                 "/api/silences", "/api/silences/{silence_id}", "/api/alertmanager"]:  # fmt: skip
        assert path in doc["paths"], path
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert (await client.get("/docs")).status_code == 200


async def test_the_asyncapi_document_is_served_beside_openapi(client: httpx.AsyncClient) -> None:
    response = await client.get("/asyncapi.json", headers={"Authorization": ""})  # public, like /openapi.json
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc == json.loads(ASYNCAPI_FILE.read_text(encoding="utf-8"))  # the committed copy
    assert doc["asyncapi"] == "3.0.0" and "responder_incidents_v1" in doc["channels"]
    assert "/asyncapi.json" not in (await client.get("/openapi.json")).json()["paths"]


async def test_ops_endpoints(client: httpx.AsyncClient) -> None:
    await client.post("/api/incidents/inc-1/ack")
    assert (await client.get("/healthz")).json() == {"status": "alive"}
    assert (await client.get("/readyz")).status_code == 200
    assert "ir_api_auth_failures_total 1.0" in (await client.get("/metrics")).text


async def test_metrics_are_openmetrics_when_the_scraper_asks(client: httpx.AsyncClient) -> None:
    await client.post("/api/incidents/inc-1/ack")
    plain = await client.get("/metrics")
    assert plain.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# EOF" not in plain.text
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    om = await client.get("/metrics", headers={"Accept": accept})
    assert om.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    families = {f.name: f for f in text_string_to_metric_families(om.text)}  # the OpenMetrics parser
    assert [s.value for s in families["ir_api_auth_failures"].samples if s.name.endswith("_total")] == [1.0]


async def test_console_page_is_local_and_escaped(projection: Projection, recorder: Recorder) -> None:
    async with client_for(projection, recorder, console_title="<Ops> & co") as c:
        page = await c.get("/")
        assert page.status_code == 200
        assert "&lt;Ops&gt; &amp; co" in page.text and "<Ops>" not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "http://" not in page.text and "https://" not in page.text
        script = await c.get("/console/console.js")
        assert script.status_code == 200 and "innerHTML" not in script.text.replace("never innerHTML", "")
        assert (await c.get("/console/console.css")).status_code == 200
