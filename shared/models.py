"""Payload models: the facts the services exchange, one model per kind of fact."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

MAX_TEXT: Final = 16_384
"""Longest string any event field may hold (summaries, evidence, log samples); ids are far shorter."""
MAX_ITEMS: Final = 1_000
"""Most items any list or mapping of an event may hold."""
MAX_REFS: Final = 10_000
"""Most anomaly ids, fingerprints or signals one incident may gather (an incident grows with a storm)."""
MAX_ID: Final = 200
"""Longest identifier (event, incident, anomaly, plan, silence ids)."""


def to_utc(value: datetime) -> datetime:
    """Return an aware datetime expressed in UTC."""
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc)]
"""A point in time with its zone, normalised to UTC; a zone-less time is rejected."""

ID_PATTERN: Final = r"^([A-Za-z0-9][A-Za-z0-9._:@/+=-]*)?$"
NAME_PATTERN: Final = r"^[^\x00-\x1f\x7f]*$"

Identifier = Annotated[str, Field(max_length=MAX_ID, pattern=ID_PATTERN)]
"""An id from an event: printable, no spaces, no leading separator (empty where none applies)."""

FileSafeId = Annotated[str, Field(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
"""An id that may become a file name (incident ids): letters, digits, ``_`` and ``-`` only."""

Name = Annotated[str, Field(max_length=MAX_ID, pattern=NAME_PATTERN)]
"""A short name (target, host, channel): bounded, no control characters."""

STRICT: Final = ConfigDict(
    frozen=True, extra="ignore", allow_inf_nan=False, str_max_length=MAX_TEXT, ser_json_inf_nan="null"
)
"""Model config of the contract: finite numbers only, bounded strings."""


class Payload(BaseModel):
    """Base of every event payload: immutable, tolerant of fields added by newer producers, strict on values."""

    model_config = STRICT


class ValueEnum(StrEnum):
    """A ``StrEnum`` whose ``value`` is the member's own attribute, read without a Python-level descriptor.

    On Python 3.11 ``Enum.value`` is ``enum.property``, written in Python, and pydantic's serializer
    reads it for every enum field of every event it encodes (in the responder's profile, 5 % of its
    samples). A plain property that returns ``_value_`` answers the same for a quarter fewer
    instructions per enum field: a 1.1 kB incident event encodes in 59,886 instead of 63,180.
    """

    @property
    def value(self) -> str:
        """The member's value."""
        return self._value_


class Severity(ValueEnum):
    """Incident severity of the operations manual, with its response target."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


SEVERITY_RANK: Final[dict[Severity, int]] = {Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}
"""Order of severities (higher is more severe)."""


class Team(ValueEnum):
    """Support tiers that incidents escalate through."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class MetricSample(Payload):
    """One observed value of one metric."""

    name: str
    value: float
    unit: str = ""
    labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_ITEMS)


class MetricsObserved(Payload):
    """One scrape of one target: all samples taken at the same instant."""

    target: Name
    host: Name
    observed_at: UtcDatetime
    interval_s: float
    samples: tuple[MetricSample, ...] = Field(max_length=MAX_ITEMS)


class AnomalyKind(ValueEnum):
    """Which detector found the anomaly."""

    THRESHOLD = "threshold"
    STATISTICAL = "statistical"
    TARGET_DOWN = "target_down"
    DEGRADATION = "degradation"
    LOG_PATTERN = "log_pattern"
    EXTERNAL = "external"


class Impact(ValueEnum):
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

    anomaly_id: Identifier
    fingerprint: str
    kind: AnomalyKind
    target: Name
    host: Name = ""
    signal: str
    impact: Impact
    score: float = Field(ge=0.0, le=1.0)
    observed: float | None = None
    expected: float | None = None
    threshold: float | None = None
    unit: str = ""
    direction: str = "up"
    since: UtcDatetime
    last_seen: UtcDatetime
    revision: int = 1
    summary: str
    labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_ITEMS)
    samples: tuple[str, ...] = Field((), max_length=MAX_ITEMS)


RESOLVED_BY: Final = "resolved_by"
"""Label of a resolved anomaly whose signal was not seen to clear: what resolved it."""
RESOLVED_BY_RETENTION: Final = "retention"
"""``resolved_by``: its target was no longer scraped and the detector forgot it (``target_retention_s``)."""


class IncidentStatus(ValueEnum):
    """Lifecycle state of an incident."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Incident(Payload):
    """The incident as of one lifecycle event."""

    incident_id: FileSafeId
    group_key: str
    target: Name
    title: str
    severity: Severity
    severity_reason: str
    status: IncidentStatus
    opened_at: UtcDatetime
    anomaly_ids: tuple[str, ...] = Field((), max_length=MAX_REFS)
    signals: tuple[str, ...] = Field((), max_length=MAX_REFS)
    impacts: tuple[Impact, ...] = Field((), max_length=MAX_ITEMS)
    previous_incident_id: FileSafeId | None = None
    labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_ITEMS)
    updated_at: UtcDatetime | None = None
    severity_since: UtcDatetime | None = None
    active_fingerprints: tuple[str, ...] = Field((), max_length=MAX_REFS)
    cleared_at: UtcDatetime | None = None
    evidence: tuple[str, ...] = Field((), max_length=MAX_ITEMS)
    held_severity: Severity | None = None
    held_reason: str = ""
    held_until: UtcDatetime | None = None
    held_by: tuple[str, ...] = Field((), max_length=MAX_REFS)  # anomaly ids whose rise is held (outage or cure?)
    problem: str = ""  # the problem class the incident is about now (`shared.problems`); "" before classes
    title_fingerprint: str = ""  # the signal the title describes; when it clears, the title follows what still fires
    recovery_caused: tuple[str, ...] = Field((), max_length=MAX_REFS)  # anomaly ids a recovery action caused
    acknowledged_levels: tuple[Team, ...] = Field((), max_length=8)  # the levels that acknowledged (per-level ack)
    clock_since: UtcDatetime | None = None  # a hand escalation restarted the escalation clock (`clock_start`)
    assigned_team: Team | None = None  # reassigned by hand to a team
    assignee: Name = ""  # reassigned by hand to a person
    severity_override: Severity | None = None  # set by hand: automatic re-grading leaves it until cleared
    merged_into: FileSafeId | None = None  # resolved by a merge into that incident
    declared_by: Name = ""  # declared by hand by this person (no anomaly opened it)
    # anomaly id -> last evidence of the revision that cleared its signal (a firing revision seen no later is stale)
    cleared_through: dict[str, UtcDatetime] = Field(default_factory=dict, max_length=MAX_REFS)


class IncidentTransition(Payload):
    """A change to an incident: who or what caused it and why."""

    incident: Incident
    reason: str
    actor: str = "responder"
    team: Team | None = None
    escalation_step: int | None = None


class NotificationRecord(Payload):
    """A notification attempt, recorded before (dispatched) and after (delivered/failed) sending."""

    notification_id: Identifier
    incident_id: FileSafeId
    channel: str
    team: Team
    kind: str
    attempt: int = 1
    detail: str = ""


class RecoveryStep(Payload):
    """One action of a recovery plan, named from the declared catalog."""

    index: int
    action: str
    target: Name
    params: dict[str, str] = Field(default_factory=dict, max_length=MAX_ITEMS)


class RecoveryPlan(Payload):
    """Steps chosen for an incident, and why."""

    plan_id: Identifier
    incident_id: FileSafeId
    target: Name
    steps: tuple[RecoveryStep, ...] = Field(max_length=MAX_ITEMS)
    rationale: str
    round: int = Field(0, ge=0)  # 0 for the incident's first plan; a new down episode inside it gets the next
    covers: tuple[Identifier, ...] = Field(default=(), max_length=10_000)  # the anomaly ids this round answers


class RecoveryProgress(Payload):
    """The outcome of a step, or of verification, of a recovery plan."""

    plan_id: Identifier
    incident_id: FileSafeId
    target: Name
    step: RecoveryStep | None = None
    ok: bool = True
    detail: str = ""


class ApprovalDefault(ValueEnum):
    """What happens to a step awaiting approval when nobody decides before its timeout."""

    APPROVE = "approve"
    DENY = "deny"


class RecoveryApproval(Payload):
    """A recovery step that waits for a person: the request, or the decision (``actor`` and ``reason``)."""

    plan_id: Identifier
    incident_id: FileSafeId
    target: Name
    step: RecoveryStep
    severity: Severity
    timeout_s: float
    default: ApprovalDefault
    actor: str = ""
    reason: str = ""


class CauseCandidate(Payload):
    """One ranked root-cause candidate."""

    entity: str
    signal: str
    score: float
    evidence: str


class RootCauseAnalysis(Payload):
    """Ranked root causes of one incident and where its report was written."""

    incident_id: FileSafeId
    target: Name
    window_start: UtcDatetime
    window_end: UtcDatetime
    ranking: tuple[CauseCandidate, ...] = Field(max_length=MAX_ITEMS)
    report_path: str | None = None


class Silence(Payload):
    """A maintenance window: anomalies matching ``matchers`` raise no incident between start and end."""

    silence_id: Identifier
    matchers: dict[str, str] = Field(max_length=MAX_ITEMS)
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    author: str
    reason: str


class ScheduleChange(Payload):
    """An on-call schedule put through the API: the whole schedule document, who and why."""

    schedule_name: Identifier
    team: Team
    schedule: dict[str, Any] = Field(max_length=MAX_ITEMS)
    author: str
    reason: str = ""


class OnCallChange(Payload):
    """The on-call of a team's schedule changed at ``at``: a hand-off, or a gap (``person`` None)."""

    schedule_name: Identifier
    team: Team
    at: UtcDatetime
    previous: Name | None = None
    person: Name | None = None
    source: str = ""


class OperatorCommand(Payload):
    """An operator's request against an incident (acknowledge, resolve, note, and the decisions below).

    ``text`` is the comment or, for decisions, the reason. The optional fields serve the decisions:
    ``level`` the level acknowledging or escalated to, ``team`` / ``person`` a reassignment,
    ``severity`` a declaration's or override's severity (none with ``declare`` false: clear the
    override), ``impact`` / ``title`` / ``target`` a declaration, ``other_incident_id`` the incident a
    merge goes into, ``anomaly_ids`` the anomalies a split moves to a new incident.
    """

    command_id: Identifier
    incident_id: FileSafeId
    actor: str
    text: str = ""
    level: Team | None = None
    team: Team | None = None
    person: Name = ""
    severity: Severity | None = None
    impact: Impact | None = None
    title: str = Field("", max_length=500)
    target: Name = ""
    other_incident_id: FileSafeId | None = None
    anomaly_ids: tuple[Identifier, ...] = Field((), max_length=MAX_ITEMS)


class FaultInjected(Payload):
    """A chaos fault injected into a watched service, recorded for timelines and postmortems."""

    fault: str
    target: Name
    detail: str = ""


class ActionState(ValueEnum):
    """Where a follow-up action stands."""

    OPEN = "open"
    DONE = "done"


class FollowUpAction(Payload):
    """One follow-up action of an incident's improvement plan (the manual's 5.2 list), with owner, due date, state.

    ``action_id`` is stable across re-analyses of the incident; the latest event of an id is its state.
    ``text`` holds the sentence per language (``en``, ``ko``); ``prompt`` marks a question the incident's
    data could not answer, left to the owner to fill in.
    """

    action_id: Identifier = Field(min_length=1)
    incident_id: FileSafeId
    target: Name
    section: Name
    topic: Name
    key: Name
    text: dict[str, str] = Field(max_length=8)
    owner: Team
    due: UtcDatetime
    state: ActionState = ActionState.OPEN
    prompt: bool = False
    actor: Name = "rca"


class ConsumerStatus(Payload):
    """One consumer-group member of a service instance, as it reports itself."""

    topic: Name
    group: Name
    joined: bool
    partitions: tuple[int, ...] = Field(default=(), max_length=10_000)
    lag: int = Field(0, ge=0)
    stalled_s: float = Field(0.0, ge=0)


class ServiceHeartbeat(Payload):
    """A service instance is alive; what it consumes and how far behind it is."""

    service: Name
    instance: Name
    pid: int = Field(ge=0)
    ready: bool
    started_at: UtcDatetime
    sequence: int = Field(ge=0)
    interval_s: float = Field(gt=0)
    consumers: tuple[ConsumerStatus, ...] = Field(default=(), max_length=1_000)
    last_event_at: UtcDatetime | None = None
    stopping: bool = False  # the instance's last beat before a planned stop: its silence is no outage
