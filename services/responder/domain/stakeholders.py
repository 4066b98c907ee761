"""Stakeholders: people told about an incident's course by e-mail, apart from the responders who are paged.

A subscriber names services (an incident's ``service`` label, or its target; ``*`` for every one),
one or more e-mail addresses, a language and which updates it wants: ``opened`` (the incident was
opened), ``mitigated`` (an automatic recovery was verified) and ``resolved``. Each update of an
incident owes one e-mail per subscribed subscriber, whose id derives from the update's event and the
subscriber, and which is recorded as a ``NotificationDispatched`` before it is sent, exactly as pages
are: a replayed event, a redelivered input or a restarted responder never sends a second e-mail.

Everything here is pure: the config, the fold of updates, what is owed, the records and the
message (plain text and HTML, in English or Korean; every field from an event is escaped in HTML).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.responder.domain import lifecycle
from services.responder.domain.state import IncidentState
from shared import events as ev
from shared.ids import derive_id
from shared.models import Impact, Incident, NotificationRecord, Team
from shared.phrases import translate
from shared.text import clean_line, human_time, is_http_url, url_with_path

Language = Literal["en", "ko"]
EMAIL: Final = re.compile(r"[^@\s<>,;\"'()\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+")


class UpdateKind(StrEnum):
    """The status updates a stakeholder can subscribe to."""

    OPENED = "opened"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class SmtpSettings(BaseModel):
    """The SMTP server status updates go through. The password is a secret (env only), named in ``password_secret``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field("incidents@localhost", alias="from", description="the From address")
    starttls: bool = False
    username: str = ""
    password_secret: str | None = Field(None, description="names RESPONDER_SECRETS__<NAME> holding the password")
    timeout_s: float = Field(10.0, gt=0)
    attempts: int = Field(3, ge=1)
    backoff_s: float = Field(0.5, ge=0)

    @field_validator("sender")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if not EMAIL.fullmatch(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value


class Subscriber(BaseModel):
    """Who is told about which services' incidents, where, in which language, and which updates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    services: tuple[str, ...] = Field(min_length=1, description="service label or target; '*' for every service")
    emails: tuple[str, ...] = Field(min_length=1, max_length=50)
    language: Language = "en"
    updates: tuple[UpdateKind, ...] = (UpdateKind.OPENED, UpdateKind.MITIGATED, UpdateKind.RESOLVED)

    @field_validator("services")
    @classmethod
    def _named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not s.strip() or s != clean_line(s) for s in value):
            raise ValueError("a service is a non-empty name on one line ('*' for every service)")
        return value

    @field_validator("emails")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if not EMAIL.fullmatch(address):
                raise ValueError(f"not an e-mail address: {address!r}")
        return value

    def follows(self, incident: Incident) -> bool:
        """Tell whether this subscriber follows the incident's service."""
        return any(s in ("*", service_of(incident), incident.target) for s in self.services)


class StakeholderConfig(BaseModel):
    """The ``stakeholders:`` section: the SMTP server, the subscribers and the status page's address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    smtp: SmtpSettings = Field(default_factory=lambda: SmtpSettings.model_validate({}))
    subscribers: tuple[Subscriber, ...] = ()
    status_page_url: str = Field("", description="base of the status page links (the API's URL); none when empty")

    @field_validator("status_page_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not is_http_url(value):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> StakeholderConfig:
        names = [s.name for s in self.subscribers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"subscriber names must be unique: {', '.join(twice)} declared twice")
        return self


def service_of(incident: Incident) -> str:
    """Return the service an incident is about: its ``service`` label, else its target."""
    return incident.labels.get("service") or incident.target


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """An event stakeholders are told about: which, of what incident, when, and a detail."""

    event_id: str
    incident_id: str
    kind: UpdateKind
    at: datetime
    detail: str = ""


def update_of(event: ev.Event) -> StatusUpdate | None:
    """Return the status update an event is, or None (opened, recovery verified, resolved)."""
    match event:
        case ev.IncidentOpened():
            return StatusUpdate(event.id, event.data.incident.incident_id, UpdateKind.OPENED, event.time)
        case ev.IncidentResolved():
            reason = event.data.reason
            return StatusUpdate(event.id, event.data.incident.incident_id, UpdateKind.RESOLVED, event.time, reason)
        case ev.RecoveryVerified():
            detail = event.data.detail
            return StatusUpdate(event.id, event.data.incident_id, UpdateKind.MITIGATED, event.time, detail)
    return None


@dataclass
class UpdateLog:
    """The status updates seen per incident (a replayed event id adds nothing)."""

    by_incident: dict[str, list[StatusUpdate]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def observe(self, event: ev.Event) -> None:
        """Remember ``event`` if it is a status update."""
        update = update_of(event)
        if update is None or update.event_id in self.seen:
            return
        self.seen.add(update.event_id)
        self.by_incident.setdefault(update.incident_id, []).append(update)

    def forget(self, incident_ids: set[str]) -> None:
        """Drop the updates of ``incident_ids`` (resolved long ago: ``domain.retention``)."""
        for incident_id in incident_ids:
            for update in self.by_incident.pop(incident_id, ()):
                self.seen.discard(update.event_id)


@dataclass(frozen=True, slots=True)
class Mail:
    """One status update owed to one subscriber."""

    notification_id: str
    incident_id: str
    subscriber: Subscriber
    update: StatusUpdate

    @property
    def channel(self) -> str:
        """The channel name recorded on the notification events."""
        return f"email:{self.subscriber.name}"


def mail_id(update_event_id: str, subscriber: str) -> str:
    """Return the stable notification id of one update to one subscriber."""
    return "stk-" + derive_id("stakeholder", update_event_id, subscriber).replace("-", "")[:16]


def owed_mails(
    log: UpdateLog,
    incidents: Mapping[str, IncidentState],
    config: StakeholderConfig,
    dispatched: Container[str],
    *,
    owns: Callable[[Incident], bool],
    now: datetime,
    max_age_s: float,
) -> list[Mail]:
    """Return the e-mails owed and not yet dispatched (updates older than ``max_age_s`` are never sent late).

    A mitigation that came after the incident was resolved is not told (the resolution was).
    """
    oldest = now - timedelta(seconds=max_age_s)
    owed: list[Mail] = []
    for incident_id, updates in log.by_incident.items():
        state = incidents.get(incident_id)
        if state is None or not owns(state.incident):
            continue
        for update in updates:
            if update.at < oldest:
                continue
            resolved = state.resolved_at
            if update.kind is UpdateKind.MITIGATED and resolved is not None and resolved <= update.at:
                continue
            for subscriber in config.subscribers:
                if update.kind not in subscriber.updates or not subscriber.follows(state.incident):
                    continue
                nid = mail_id(update.event_id, subscriber.name)
                if nid not in dispatched:
                    owed.append(Mail(nid, incident_id, subscriber, update))
    return owed


def mail_record(
    cls: type[ev.NotificationEvent], mail: Mail, state: IncidentState, *, now: datetime, attempt: int = 1, detail: str
) -> ev.NotificationEvent:
    """Return the notification event (dispatched, delivered or failed) of ``mail``.

    The record's team is the first team paged for the incident (L1 before any page): the team that owns it.
    """
    data = NotificationRecord(
        notification_id=mail.notification_id,
        incident_id=mail.incident_id,
        channel=mail.channel,
        team=state.paged[0] if state.paged else Team.L1,
        kind=f"status:{mail.update.kind.value}",
        attempt=attempt,
        detail=clean_line(detail),
    )
    return cls.create(
        data,
        source=lifecycle.SOURCE,
        id_parts=(mail.notification_id,),
        time=now,
        subject=mail.incident_id,
        correlationid=mail.incident_id,
    )


def failure_note(mail: Mail, state: IncidentState, detail: str, *, now: datetime) -> ev.IncidentEvent:
    """Return the note put on the incident when a status update could not be sent."""
    reason = f"status update {mail.update.kind.value} to stakeholders {mail.subscriber.name} failed: {detail}"
    return lifecycle.transition(
        ev.IncidentNoteAdded, state.incident, reason, id_parts=("stakeholder", mail.notification_id), now=now
    )


WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "opened": "Investigating",
        "mitigated": "Mitigated",
        "resolved": "Resolved",
        "service": "Service",
        "incident": "Incident",
        "title": "What happened",
        "severity": "Severity",
        "impact": "Impact",
        "since": "Since",
        "status": "Status",
        "doing": "What is being done",
        "doing_opened": "The {team} team has been alerted and is investigating.",
        "doing_mitigated": "An automatic recovery action restored the service; we are watching it.",
        "doing_resolved": "The incident is resolved; no further action is needed from you.",
        "details": "Details",
        "page": "Status page",
        "critical": "Critical",
        "major": "Major",
        "minor": "Minor",
        "no_impact": "being assessed",
        "footer": "You receive this because you subscribed to status updates of {service}.",
    },
    "ko": {
        "opened": "조사 중",
        "mitigated": "완화됨",
        "resolved": "해결됨",
        "service": "서비스",
        "incident": "인시던트",
        "title": "발생 내용",
        "severity": "심각도",
        "impact": "영향",
        "since": "발생 시각",
        "status": "상태",
        "doing": "조치 내용",
        "doing_opened": "{team} 팀이 알림을 받고 조사하고 있습니다.",
        "doing_mitigated": "자동 복구 조치로 서비스가 복구되었으며, 계속 지켜보고 있습니다.",
        "doing_resolved": "인시던트가 해결되었습니다. 별도로 하실 일은 없습니다.",
        "details": "세부 내용",
        "page": "상태 페이지",
        "critical": "심각(Critical)",
        "major": "중대(Major)",
        "minor": "경미(Minor)",
        "no_impact": "확인 중",
        "footer": "{service} 서비스의 상태 알림을 구독하셨기 때문에 이 메일을 받으셨습니다.",
    },
}
IMPACT_WORDS: Final[dict[str, dict[Impact, str]]] = {
    "en": {
        Impact.SERVICE_DOWN: "service unavailable",
        Impact.DATA_LOSS: "possible data loss",
        Impact.SECURITY: "security incident",
        Impact.MAJOR_FUNCTION: "a major function unavailable",
        Impact.SEVERE_DEGRADATION: "severely degraded",
        Impact.PARTIAL_OUTAGE: "partial outage",
        Impact.PARTIAL_FUNCTION: "some functions unavailable",
        Impact.SLIGHT_DEGRADATION: "slightly degraded",
        Impact.RESOURCE_PRESSURE: "resources under pressure",
    },
    "ko": {
        Impact.SERVICE_DOWN: "서비스 중단",
        Impact.DATA_LOSS: "데이터 유실 가능성",
        Impact.SECURITY: "보안 사고",
        Impact.MAJOR_FUNCTION: "주요 기능 사용 불가",
        Impact.SEVERE_DEGRADATION: "심각한 성능 저하",
        Impact.PARTIAL_OUTAGE: "부분 장애",
        Impact.PARTIAL_FUNCTION: "일부 기능 사용 불가",
        Impact.SLIGHT_DEGRADATION: "경미한 성능 저하",
        Impact.RESOURCE_PRESSURE: "자원 부족",
    },
}


@dataclass(frozen=True, slots=True)
class Summary:
    """The human summary of one update: a subject, labelled lines (plain values) and a status page link."""

    subject: str
    lines: tuple[tuple[str, str], ...]
    footer: str
    link: str


def summarise(incident: Incident, update: StatusUpdate, team: Team, *, language: Language, page_url: str) -> Summary:
    """Return the summary of ``update`` of ``incident``: title, severity, impact, since, what is being done."""
    words = WORDS.get(language, WORDS["en"])
    service = clean_line(service_of(incident), limit=200)
    title = clean_line(translate(incident.title, language))
    status = words[update.kind.value]
    impacts = ", ".join(IMPACT_WORDS[language].get(i, i.value) for i in incident.impacts) or words["no_impact"]
    since = min(incident.opened_at, incident.severity_since or incident.opened_at)
    lines: list[tuple[str, str]] = [
        (words["service"], service),
        (words["status"], status),
        (words["title"], title),
        (words["severity"], words[incident.severity.value]),
        (words["impact"], impacts),
        (words["since"], human_time(since)),
        (words["doing"], words[f"doing_{update.kind.value}"].format(team=team.value)),
    ]
    if update.detail:
        lines.append((words["details"], clean_line(translate(update.detail, language))))
    lines.append((words["incident"], clean_line(incident.incident_id)))
    link = url_with_path(page_url.rstrip("/"), "status", service_of(incident)) if page_url else ""
    return Summary(f"[{status}] {service}: {title}", tuple(lines), words["footer"].format(service=service), link)


def build_email(
    incident: Incident,
    mail: Mail,
    team: Team,
    *,
    sender: str,
    page_url: str,
    now: datetime,
) -> EmailMessage:
    """Return the e-mail of ``mail``: plain text plus an HTML alternative (every event field escaped)."""
    language = mail.subscriber.language
    summary = summarise(incident, mail.update, team, language=language, page_url=page_url)
    words = WORDS[language]
    text = [f"{label}: {value}" for label, value in summary.lines]
    if summary.link:
        text.append(f"{words['page']}: {summary.link}")
    text += ["", summary.footer]
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in summary.lines
    )
    link = (
        f'<p><a href="{html.escape(summary.link, quote=True)}">{html.escape(words["page"])}</a></p>'
        if summary.link
        else ""
    )
    body = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(summary.subject)}</title></head><body>"
        f"<h1>{html.escape(summary.subject)}</h1><table>{rows}</table>{link}"
        f"<p><small>{html.escape(summary.footer)}</small></p></body></html>"
    )
    message = EmailMessage()
    message["Subject"] = clean_line(summary.subject, limit=250)
    message["From"] = sender
    message["To"] = ", ".join(mail.subscriber.emails)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{mail.notification_id}@incidentctl>"
    message["X-Incident-Id"] = clean_line(incident.incident_id)
    message["Content-Language"] = language
    message.set_content("\n".join(text) + "\n")
    message.add_alternative(body, subtype="html")
    return message
