"""Through the whole responder process: an Alertmanager payload becomes an incident an operator acknowledges."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.responder.app import build
from services.responder.settings import ResponderSettings
from tests.integration.test_api_responder import AUTH, TOKEN, until
from tests.unit.services.responder.api.test_alertmanager import payload

pytestmark = pytest.mark.integration


async def test_alertmanager_alert_becomes_an_incident_and_is_acknowledged(kafka_bootstrap: str, unique: str) -> None:
    settings = ResponderSettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        TOPIC_PREFIX=f"t{unique}.",
        group_id=f"responder-{unique}",
        grouping={"group_wait_s": 0},
        tick_s=0.2,
        api={"token": TOKEN},
    )
    app = build(settings).asgi_app()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://x", headers=AUTH) as client,
    ):
        await until(lambda: _ok(client, "/readyz"), "readiness")
        ingested = (await client.post("/api/alertmanager", headers=AUTH, json=payload())).json()
        anomaly_id = ingested["anomaly_ids"][0]

        async def incident_of_alert() -> dict[str, Any] | None:
            found = [i for i in (await client.get("/api/incidents")).json() if anomaly_id in i["anomaly_ids"]]
            return found[0] if found else None

        incident = await until(incident_of_alert, "an incident from the Alertmanager alert")
        assert incident["target"] == "checkout" and incident["severity"] == "critical"
        incident_id = incident["incident_id"]
        detail = (await client.get(f"/api/incidents/{incident_id}")).json()
        types = [e["type"] for e in detail["timeline"]]
        assert types.index("anomaly.detected") < types.index("incident.opened")

        ack = await client.post(f"/api/incidents/{incident_id}/ack", headers=AUTH, json={"actor": "dana"})
        assert ack.status_code == 202

        async def acknowledged() -> dict[str, Any] | None:
            summary = (await client.get(f"/api/incidents/{incident_id}")).json()["summary"]
            return summary if summary["status"] == "acknowledged" else None

        assert (await until(acknowledged, "the acknowledgement"))["acknowledged_by"] == "dana"


async def _ok(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200
