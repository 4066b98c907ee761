"""The public status page of a service in headless Chromium: current and recent incidents, a hostile title escaped."""

from __future__ import annotations

import httpx
import pytest

from shared import events as ev
from shared import models as m
from shared.topic_admin import ensure_topics
from tests.browser import requires_chromium
from tests.factories import at
from tests.integration.test_api_console_chromium import chromium, served_api
from tests.integration.test_api_responder import broker_settings, publish_all
from tests.unit.services.responder.api.builders import incident, transition

pytestmark = pytest.mark.integration

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>checkout slow"


def verified(incident_id: str, *, t: float) -> ev.RecoveryVerified:
    data = m.RecoveryProgress(plan_id="plan-1", incident_id=incident_id, target="demo", detail="target healthy")
    return ev.RecoveryVerified.create(data, source="/services/recovery", id_parts=(incident_id, t), time=at(t),
                                      correlationid=incident_id)  # fmt: skip


@requires_chromium
async def test_status_page_shows_current_and_recent_incidents_and_escapes_a_hostile_title(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    old = incident("inc-old", target="demo", t=0)
    old_done = old.model_copy(update={"status": m.IncidentStatus.RESOLVED})
    live = incident("inc-live", target="demo", t=100).model_copy(update={"title": HOSTILE})
    other = incident("inc-other", target="billing", t=50)
    calm = incident("inc-calm", target="demo", t=110)
    await publish_all(
        settings,
        [
            transition(ev.IncidentOpened, old, t=0),
            transition(ev.IncidentResolved, old_done, t=30, actor="alice", reason="fixed"),
            transition(ev.IncidentOpened, other, t=50),
            transition(ev.IncidentOpened, live, t=100),
            transition(ev.IncidentOpened, calm, t=110),
            verified("inc-calm", t=120),
        ],
    )
    async with served_api(settings) as base:  # no token: the status page is public and read-only
        dom = await chromium("--dump-dom", f"{base}/status/demo")
        korean = await chromium("--dump-dom", f"{base}/status/demo?lang=ko")
        async with httpx.AsyncClient(base_url=base) as client:
            doc = (await client.get("/status/demo.json")).json()
            api = await client.get("/api/incidents")
    assert api.status_code == 401  # the rest of the API still needs a token
    assert "<title>Status of demo</title>" in dom and "pwned" not in dom.split("<body>")[0]
    assert "Incident in progress" in dom
    current, recent = dom.split("Recent incidents")
    assert 'data-incident="inc-live"' in current and "Investigating" in current
    assert 'data-incident="inc-calm"' in current and "Mitigated, monitoring" in current
    assert 'data-incident="inc-old"' in recent and "Resolved" in recent
    assert "inc-other" not in dom
    assert "<script>" not in dom and "<img" not in dom  # the title is text, not markup
    assert "&lt;img src=x onerror=" in dom and "checkout slow" in dom
    assert "조사 중" in korean and "해결됨" in korean and "최근 인시던트" in korean
    assert doc["status"] == "disrupted"
    assert [(i["incident_id"], i["state"]) for i in doc["current"]] == [
        ("inc-calm", "mitigated"),
        ("inc-live", "triggered"),
    ]
    assert doc["current"][1]["title"] == HOSTILE
    assert [(i["incident_id"], i["state"]) for i in doc["recent"]] == [("inc-old", "resolved")]
