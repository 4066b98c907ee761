"""PagerDuty Events API v2 channel: trigger / acknowledge / resolve with the incident id as dedup_key."""

from __future__ import annotations

from typing import Any, Final

import httpx
from pydantic import SecretStr

from services.responder.domain.state import NoticeKind
from services.responder.notify.channel import Outbound
from services.responder.notify.webhook import post
from shared.models import Severity
from shared.text import clean_line

EVENTS_V2_URL: Final = "https://events.pagerduty.com/v2/enqueue"
PD_SEVERITY: Final[dict[Severity, str]] = {
    Severity.CRITICAL: "critical",
    Severity.MAJOR: "error",
    Severity.MINOR: "warning",
}
PD_ACTION: Final[dict[NoticeKind, str]] = {
    NoticeKind.PAGE: "trigger",
    NoticeKind.ACKNOWLEDGE: "acknowledge",
    NoticeKind.RESOLVE: "resolve",
    NoticeKind.APPROVAL: "trigger",  # the incident is still open: the same dedup key, no new PagerDuty incident
}


def event_body(outbound: Outbound, routing_key: str) -> dict[str, Any]:
    """Return the Events v2 body of a notification (dedup_key = incident id, so PagerDuty dedups too)."""
    incident = outbound.incident
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": PD_ACTION[outbound.kind],
        "dedup_key": incident.incident_id,
    }
    if outbound.kind in (NoticeKind.PAGE, NoticeKind.APPROVAL):
        body["payload"] = {
            "summary": outbound.message.title[:1024],
            "source": clean_line(incident.target, limit=255),
            "severity": PD_SEVERITY[incident.severity],
            "timestamp": incident.opened_at.isoformat(),
            "component": clean_line(incident.labels.get("service", incident.target), limit=255),
            "class": clean_line(",".join(incident.signals), limit=255),
            "custom_details": {
                "severity_reason": clean_line(incident.severity_reason),
                "evidence": [clean_line(e) for e in incident.evidence],
                "team": outbound.team.value,
            },
        }
        body["links"] = [
            {"href": outbound.message.console_url, "text": "Console"},
            {"href": outbound.message.runbook_url, "text": "Runbook"},
        ]
    return body


class PagerDutyChannel:
    """Send Events v2 to ``url`` (PagerDuty's endpoint by default; a local server in tests)."""

    kind = "pagerduty"

    def __init__(self, name: str, routing_key: SecretStr, client: httpx.AsyncClient, url: str = EVENTS_V2_URL) -> None:
        self.name = name
        self.url = url or EVENTS_V2_URL
        self._routing_key = routing_key
        self._client = client

    async def send_once(self, outbound: Outbound) -> str:
        """Post one Events v2 event."""
        body = event_body(outbound, self._routing_key.get_secret_value())
        response = await post(self._client, self.url, json=body)
        return f"HTTP {response.status_code} {body['event_action']}"
