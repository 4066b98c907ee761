"""Payload models: the facts the services exchange, one model per kind of fact."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    """Base of every event payload: immutable, tolerant of fields added by newer producers."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Severity(StrEnum):
    """Incident severity of the operations manual, with its response target."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


SEVERITY_RANK: Final[dict[Severity, int]] = {Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}
"""Order of severities (higher is more severe)."""


class Team(StrEnum):
    """Support tiers that incidents escalate through."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class MetricSample(Payload):
    """One observed value of one metric."""

    name: str
    value: float
    unit: str = ""
    labels: dict[str, str] = Field(default_factory=dict)


class MetricsObserved(Payload):
    """One scrape of one target: all samples taken at the same instant."""

    target: str
    host: str
    observed_at: datetime
    interval_s: float
    samples: tuple[MetricSample, ...]


class AnomalyKind(StrEnum):
    """Which detector found the anomaly."""

    THRESHOLD = "threshold"
    STATISTICAL = "statistical"
    TARGET_DOWN = "target_down"
    DEGRADATION = "degradation"
    LOG_PATTERN = "log_pattern"
    EXTERNAL = "external"


class Impact(StrEnum):
    """What the anomaly means for users; the responder's severity rules read it."""

    SERVICE_DOWN = "service_down"
    DATA_LOSS = "data_loss"
    SECURITY = "security"
    MAJOR_FUNCTION = "major_function"
    SEVERE_DEGRADATION = "severe_degradation"
    PARTIAL_OUTAGE = "partial_outage"
    PARTIAL_FUNCTION = "partial_function"
    SLIGHT_DEGRADATION = "slight_degradation"
    RESOURCE_PRESSURE = "resource_pressure"


class Anomaly(Payload):
    """One anomaly episode; revisions of the same episode share ``anomaly_id``."""

    anomaly_id: str
    fingerprint: str
    kind: AnomalyKind
    target: str
    host: str = ""
    signal: str
    impact: Impact
    score: float = Field(ge=0.0, le=1.0)
    observed: float | None = None
    expected: float | None = None
    threshold: float | None = None
    unit: str = ""
    direction: str = "up"
    since: datetime
    last_seen: datetime
    revision: int = 1
    summary: str
    labels: dict[str, str] = Field(default_factory=dict)
    samples: tuple[str, ...] = ()


class IncidentStatus(StrEnum):
    """Lifecycle state of an incident."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Incident(Payload):
    """The incident as of one lifecycle event."""

    incident_id: str
    group_key: str
    target: str
    title: str
    severity: Severity
    severity_reason: str
    status: IncidentStatus
    opened_at: datetime
    anomaly_ids: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    impacts: tuple[Impact, ...] = ()
    previous_incident_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    updated_at: datetime | None = None
    severity_since: datetime | None = None
    active_fingerprints: tuple[str, ...] = ()
    cleared_at: datetime | None = None
    evidence: tuple[str, ...] = ()
    held_severity: Severity | None = None
    held_reason: str = ""
    held_until: datetime | None = None


class IncidentTransition(Payload):
    """A change to an incident: who or what caused it and why."""

    incident: Incident
    reason: str
    actor: str = "responder"
    team: Team | None = None
    escalation_step: int | None = None


class NotificationRecord(Payload):
    """A notification attempt, recorded before (dispatched) and after (delivered/failed) sending."""

    notification_id: str
    incident_id: str
    channel: str
    team: Team
    kind: str
    attempt: int = 1
    detail: str = ""


class RecoveryStep(Payload):
    """One action of a recovery plan, named from the declared catalog."""

    index: int
    action: str
    target: str
    params: dict[str, str] = Field(default_factory=dict)


class RecoveryPlan(Payload):
    """Steps chosen for an incident, and why."""

    plan_id: str
    incident_id: str
    target: str
    steps: tuple[RecoveryStep, ...]
    rationale: str
    round: int = 0  # 0 for the incident's first plan; a new down episode inside the incident gets the next
    covers: tuple[str, ...] = ()  # the incident's anomaly ids this round answers


class RecoveryProgress(Payload):
    """The outcome of a step, or of verification, of a recovery plan."""

    plan_id: str
    incident_id: str
    target: str
    step: RecoveryStep | None = None
    ok: bool = True
    detail: str = ""


class CauseCandidate(Payload):
    """One ranked root-cause candidate."""

    entity: str
    signal: str
    score: float
    evidence: str


class RootCauseAnalysis(Payload):
    """Ranked root causes of one incident and where its report was written."""

    incident_id: str
    target: str
    window_start: datetime
    window_end: datetime
    ranking: tuple[CauseCandidate, ...]
    report_path: str | None = None


class Silence(Payload):
    """A maintenance window: anomalies matching ``matchers`` raise no incident between start and end."""

    silence_id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str


class OperatorCommand(Payload):
    """An operator's request against an incident (acknowledge, resolve, note)."""

    command_id: str
    incident_id: str
    actor: str
    text: str = ""


class FaultInjected(Payload):
    """A chaos fault injected into a watched service, recorded for timelines and postmortems."""

    fault: str
    target: str
    detail: str = ""


class ConsumerStatus(Payload):
    """One consumer-group member of a service instance, as it reports itself."""

    topic: str
    group: str
    joined: bool
    partitions: tuple[int, ...] = ()
    lag: int = 0
    stalled_s: float = 0.0


class ServiceHeartbeat(Payload):
    """A service instance is alive; what it consumes and how far behind it is."""

    service: str
    instance: str
    pid: int
    ready: bool
    started_at: datetime
    sequence: int
    interval_s: float
    consumers: tuple[ConsumerStatus, ...] = ()
    last_event_at: datetime | None = None
    stopping: bool = False  # the instance's last beat before a planned stop: its silence is no outage
