"""Read models the API serves: incident summaries, timeline entries, silences (also its OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.responder.domain.windows import MaintenanceWindow
from shared.models import Impact, Incident, IncidentStatus, RootCauseAnalysis, Severity, Silence, Team


class View(BaseModel):
    """Base of the read models: immutable."""

    model_config = ConfigDict(frozen=True)


class IncidentSummary(View):
    """One incident as of its latest lifecycle event."""

    incident_id: str
    title: str
    target: str
    severity: Severity
    status: IncidentStatus
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    team: Team | None = None
    escalation_step: int | None = None
    response_target_breached: bool = False
    response: str = ""  # met / missed / pending / not needed: `shared.compliance` (first human response)
    first_response_s: float | None = None
    first_response_by: str = ""
    automatic_recovery_s: float | None = None  # the first automatic recovery step, never a response
    severity_reason: str = ""
    last_reason: str = ""
    anomaly_ids: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    impacts: tuple[Impact, ...] = ()
    previous_incident_id: str | None = None
    acknowledged_levels: tuple[Team, ...] = ()  # the levels that acknowledged (a lower one leaves the clock running)
    assigned_team: Team | None = None  # human decisions (`domain.decisions`)
    assignee: str = ""
    severity_override: Severity | None = None
    merged_into: str | None = None
    declared_by: str = ""
    has_report: bool = False
    event_count: int = 0
    awaiting_approval: str = ""  # the recovery step waiting for a person's approval ("" when none)


class TimelineEntry(View):
    """One event of an incident's timeline, with the envelope attributes that tie it to the incident."""

    id: str
    type: str = Field(description="event type without the dev.incidentctl. prefix, e.g. incident.opened")
    time: datetime
    topic: str
    source: str
    subject: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    summary: str
    data: dict[str, Any]


class IncidentDetail(View):
    """One incident: summary, latest payload, full timeline and root-cause analysis if any."""

    summary: IncidentSummary
    incident: Incident
    timeline: list[TimelineEntry]
    rca: RootCauseAnalysis | None = None


class SilenceView(View):
    """A silence and whether it is in force now."""

    silence: Silence
    state: str = Field(description="pending, active or expired")
    expired_early_at: datetime | None = None


class CommandAccepted(View):
    """A command was queued on the commands (or silences) topic; the core applies it."""

    command_id: str
    event_id: str
    event_type: str
    incident_id: str | None = None
    duplicate: bool = Field(False, description="the same request id was accepted before")


class AlertIngestResult(View):
    """What an Alertmanager webhook delivery produced."""

    received: int
    published: int
    duplicates: int
    anomaly_ids: list[str]


class OnCallNow(View):
    """A person on call (None: nobody) and why (``override`` or a layer's name); ``since``: from when."""

    person: str | None
    source: str
    since: datetime | None = None


class OnCallView(View):
    """Who is on call for a team at a time, and the next hand-off (None: none within 60 days)."""

    team: Team
    schedule: str
    at: datetime
    now: OnCallNow
    next: OnCallNow | None = None


class WindowView(View):
    """A maintenance window and whether it holds now."""

    window: MaintenanceWindow
    active: bool
