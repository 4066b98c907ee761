"""Notification messages in English or Korean from a small catalog: severity, what, since, evidence, links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from services.responder.domain.state import NoticeKind
from shared.models import Incident, Severity, Team
from shared.text import clean_line, fill_url_template, human_time, human_times, url_with_path

Language = Literal["en", "ko"]

CATALOG: Final[dict[str, dict[str, str]]] = {
    "en": {
        "page": "[{severity}] {title}",
        "approval": "[{severity}] APPROVAL NEEDED {title}",
        "acknowledge": "[ACKNOWLEDGED] {title}",
        "resolve": "[RESOLVED] {title}",
        "critical": "CRITICAL",
        "major": "MAJOR",
        "minor": "MINOR",
        "severity": "Severity",
        "what": "What is wrong",
        "target": "Target",
        "since": "Since",
        "why": "Why",
        "evidence": "Evidence",
        "runbook": "Runbook",
        "console": "Console",
        "team": "Team",
        "incident": "Incident",
    },
    "ko": {
        "page": "[{severity}] {title}",
        "approval": "[{severity}] 승인 필요 {title}",
        "acknowledge": "[확인됨] {title}",
        "resolve": "[해결됨] {title}",
        "critical": "심각(Critical)",
        "major": "중대(Major)",
        "minor": "경미(Minor)",
        "severity": "심각도",
        "what": "문제 내용",
        "target": "대상",
        "since": "발생 시각",
        "why": "사유",
        "evidence": "근거",
        "runbook": "런북",
        "console": "콘솔",
        "team": "담당 팀",
        "incident": "인시던트",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered notification: a title, a plain-text body and the links, in one language."""

    title: str
    body: str
    severity: Severity
    runbook_url: str
    console_url: str
    language: Language


def incident_link(console_url: str, incident_id: str) -> str:
    """Return the console page of an incident: its hash route ``<console>/#/incidents/<id>`` (id percent-encoded).

    The console is one page at ``/`` that routes on the fragment; ``/incidents/<id>`` is no page (404).
    """
    return url_with_path(console_url.rstrip("/") + "/#", "incidents", incident_id)


def runbook_link(template: str, incident: Incident) -> str:
    """Fill the runbook URL template with ``{service}``, ``{target}``, ``{signal}``, ``{severity}``.

    Each value is percent-encoded, so a field cannot add path segments, a query or another host.
    """
    fields = {
        "service": incident.labels.get("service", incident.target),
        "target": incident.target,
        "signal": incident.signals[0] if incident.signals else "",
        "severity": incident.severity.value,
        "incident_id": incident.incident_id,
    }
    return fill_url_template(template, fields)


def render(
    incident: Incident,
    kind: NoticeKind,
    team: Team,
    reason: str,
    *,
    language: Language,
    console_url: str,
    runbook_template: str,
) -> Message:
    """Render the notice of ``kind`` about ``incident`` for ``team``.

    Every field from an event is reduced to one clean line (`shared.text.clean_line`), so a newline
    in a target, title or reason cannot add a line (such as a fake console link) to the message.
    """
    words = CATALOG.get(language, CATALOG["en"])
    severity = words[incident.severity.value]
    target, what = clean_line(incident.target), clean_line(human_times(incident.title))
    title = words[kind.value].format(severity=severity, title=f"{target}: {what}")
    console = incident_link(console_url, incident.incident_id)
    runbook = runbook_link(runbook_template, incident)
    since = min(incident.opened_at, incident.severity_since or incident.opened_at)
    lines = [
        title,
        f"{words['incident']}: {clean_line(incident.incident_id)}  {words['team']}: {team.value}",
        f"{words['severity']}: {severity} — {clean_line(incident.severity_reason)}",
        f"{words['what']}: {what}",
        f"{words['target']}: {target}",
        f"{words['since']}: {human_time(since)}",
        f"{words['why']}: {clean_line(reason)}",
        f"{words['evidence']}:",
        *[f"  - {clean_line(line)}" for line in incident.evidence],
        f"{words['runbook']}: {runbook}",
        f"{words['console']}: {console}",
    ]
    return Message(title, "\n".join(lines), incident.severity, runbook, console, language)
