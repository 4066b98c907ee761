"""The public, read-only status page of a service: its current incidents and the last few, HTML or JSON.

``GET /status/{service}`` and ``GET /status/{service}.json`` need no token (they are not under
``/api``): they show only what a stakeholder may see (title, severity, state, times), every event
field escaped, under a Content-Security-Policy that allows no script.
"""

from __future__ import annotations

import html
from collections.abc import Container
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from services.responder.api.deps import ApiDeps
from services.responder.api.views import IncidentSummary, TimelineEntry
from shared.models import IncidentStatus
from shared.phrases import translate
from shared.text import clean_line, human_time

RECENT: Final = 10
PAGE_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
Service = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f/]+$")]
WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "heading": "Status of {service}",
        "operational": "All systems operational",
        "disrupted": "Incident in progress",
        "current": "Current incidents",
        "recent": "Recent incidents",
        "none": "None",
        "triggered": "Investigating",
        "acknowledged": "Identified",
        "mitigated": "Mitigated, monitoring",
        "resolved": "Resolved",
        "critical": "Critical",
        "major": "Major",
        "minor": "Minor",
        "since": "since",
        "resolved_at": "resolved",
        "updated": "updated",
    },
    "ko": {
        "heading": "{service} 상태",
        "operational": "모든 시스템 정상",
        "disrupted": "인시던트 진행 중",
        "current": "진행 중인 인시던트",
        "recent": "최근 인시던트",
        "none": "없음",
        "triggered": "조사 중",
        "acknowledged": "원인 파악",
        "mitigated": "완화됨, 모니터링 중",
        "resolved": "해결됨",
        "critical": "심각(Critical)",
        "major": "중대(Major)",
        "minor": "경미(Minor)",
        "since": "발생",
        "resolved_at": "해결",
        "updated": "갱신",
    },
}


VERDICTS: Final = ("recovery.verified", "recovery.failed")


def mitigated(timeline: list[TimelineEntry]) -> bool:
    """Tell whether the latest recovery verdict in an incident's timeline is 'verified'."""
    verdicts = [e.type for e in timeline if e.type in VERDICTS]
    return bool(verdicts) and verdicts[-1] == VERDICTS[0]


def status_doc(
    service: str, incidents: list[IncidentSummary], *, mitigated: Container[str] = (), recent: int = RECENT
) -> dict[str, Any]:
    """Return the status of ``service``: its open incidents and its last ``recent`` resolved ones.

    An open incident whose id is in ``mitigated`` (its recovery was verified) shows as ``mitigated``.
    """
    current = [i for i in incidents if i.status is not IncidentStatus.RESOLVED]
    past = [i for i in incidents if i.status is IncidentStatus.RESOLVED][:recent]

    def item(i: IncidentSummary) -> dict[str, Any]:
        return {
            "incident_id": i.incident_id,
            "title": i.title,
            "severity": i.severity.value,
            "state": "mitigated"
            if i.status is not IncidentStatus.RESOLVED and i.incident_id in mitigated
            else i.status.value,
            "opened_at": i.opened_at.isoformat(),
            "updated_at": i.updated_at.isoformat(),
            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
        }

    return {
        "service": service,
        "status": "disrupted" if current else "operational",
        "current": [item(i) for i in current],
        "recent": [item(i) for i in past],
    }


def _when(value: object) -> str:
    return human_time(datetime.fromisoformat(str(value)))


def render_page(doc: dict[str, Any], language: Literal["en", "ko"]) -> str:
    """Return the status page HTML of ``doc`` (`status_doc`); every value from an event is escaped."""
    words = WORDS[language]
    esc = html.escape

    def section(key: str) -> str:
        items = doc[key]
        if not items:
            return f"<h2>{esc(words[key])}</h2><p class='none'>{esc(words['none'])}</p>"
        rows = []
        for i in items:
            title = esc(clean_line(translate(i["title"], language)))
            times = f"{words['since']} {_when(i['opened_at'])}"
            if i["resolved_at"]:
                times += f" · {words['resolved_at']} {_when(i['resolved_at'])}"
            else:
                times += f" · {words['updated']} {_when(i['updated_at'])}"
            rows.append(
                f"<li class='incident {esc(i['state'])}' data-incident='{esc(i['incident_id'], quote=True)}'>"
                f"<span class='state'>{esc(words[i['state']])}</span> "
                f"<span class='severity'>{esc(words[i['severity']])}</span> "
                f"<span class='title'>{title}</span> <span class='times'>{esc(times)}</span></li>"
            )
        return f"<h2>{esc(words[key])}</h2><ul class='{key}'>{''.join(rows)}</ul>"

    service = esc(doc["service"])
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{esc(words['heading'].format(service=doc['service']))}</title>"
        "<style>body{font-family:'Noto Sans CJK KR',sans-serif;max-width:48em;margin:2em auto}"
        ".state{font-weight:bold}.operational{color:#176f2c}.disrupted{color:#a61b1b}</style></head><body>"
        f"<h1>{esc(words['heading'].format(service=doc['service']))}</h1>"
        f"<p id='overall' class='{esc(doc['status'])}'>{esc(words[doc['status']])}</p>"
        f"{section('current')}{section('recent')}"
        f"<footer data-service='{service}'></footer></body></html>"
    )


def status_router(deps: ApiDeps) -> APIRouter:
    """Return the status page routes bound to ``deps`` (read-only, open: no token)."""
    router = APIRouter(tags=["status page"], include_in_schema=False)  # pages, like the console: not the API

    def doc_of(service: str) -> dict[str, Any]:
        incidents = deps.projection.service_incidents(service, limit=200)
        calmed = {
            i.incident_id
            for i in incidents
            if i.status is not IncidentStatus.RESOLVED and mitigated(deps.projection.timeline(i.incident_id))
        }
        return status_doc(service, incidents, mitigated=calmed)

    @router.get("/status/{service}.json")
    async def status_json(service: Service) -> dict[str, Any]:
        """The status of a service: open incidents and the last resolved ones (title, severity, state, times)."""
        return doc_of(service)

    @router.get("/status/{service}", response_class=HTMLResponse)
    async def status_page(
        service: Service, lang: Annotated[Literal["en", "ko"] | None, Query()] = None
    ) -> HTMLResponse:
        """The status page of a service (HTML; ``lang=ko`` for Korean, else the API's language)."""
        language: Literal["en", "ko"] = lang or ("ko" if deps.settings.language == "ko" else "en")
        page = render_page(doc_of(service), language)
        return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})

    return router
