"""CloudEvents-style envelopes: one class per event type, all parsed through one discriminated union."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Final, Generic, Literal, Protocol, Self, TypeAlias, TypeVar, get_args

from pydantic import BaseModel, Field, TypeAdapter

from shared import models as m
from shared.ids import derive_id
from shared.models import MAX_ID, STRICT, Identifier, UtcDatetime

SCHEMA_VERSION: Final = 1
TYPE_PREFIX: Final = "dev.incidentctl."

D = TypeVar("D", bound=m.Payload)


class Cause(Protocol):
    """What an event takes from the event that caused it: its id and its correlation id."""

    @property
    def id(self) -> str: ...

    @property
    def correlationid(self) -> str | None: ...


V_co = TypeVar("V_co", covariant=True)


class EventView(Protocol[V_co]):
    """What a hot-path reader needs of an event: the schema's envelope, or a fast view of it (``shared.wire``)."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def correlationid(self) -> str | None: ...

    @property
    def data(self) -> V_co: ...


class Envelope(BaseModel, Generic[D]):
    """CloudEvents 1.0 attributes (structured JSON mode) plus correlation and causation ids.

    Extension attribute names follow the CloudEvents rule (lower-case letters and digits only):
    ``correlationid`` is the incident the event belongs to, ``causationid`` the id of the event
    that caused it, ``schemaversion`` the payload's schema version within the topic's major version.
    """

    model_config = STRICT

    specversion: Literal["1.0"] = "1.0"
    id: Identifier = Field(min_length=1)
    source: str = Field(max_length=MAX_ID)
    type: str = Field(max_length=MAX_ID)
    subject: m.Name | None = None
    time: UtcDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = SCHEMA_VERSION
    correlationid: Identifier | None = None
    causationid: Identifier | None = None
    data: D

    event_type: ClassVar[str]

    @classmethod
    def create(
        cls,
        data: D,
        *,
        source: str,
        id_parts: tuple[object, ...],
        time: datetime | None = None,
        subject: str | None = None,
        correlationid: str | None = None,
        causation: Cause | None = None,
    ) -> Self:
        """Build an event whose id is derived from its type and ``id_parts`` (idempotent on replay)."""
        return cls(
            id=derive_id(cls.event_type, *id_parts),
            source=source,
            type=cls.event_type,
            subject=subject,
            time=time or datetime.now(UTC),
            correlationid=correlationid if correlationid is not None else _inherit(causation),
            causationid=causation.id if causation is not None else None,
            data=data,
        )


def _inherit(causation: Cause | None) -> str | None:
    return causation.correlationid if causation is not None else None


class MetricsObserved(Envelope[m.MetricsObserved]):
    """A target was scraped."""

    type: Literal["dev.incidentctl.metrics.observed"] = "dev.incidentctl.metrics.observed"
    event_type: ClassVar[str] = "dev.incidentctl.metrics.observed"


class AnomalyDetected(Envelope[m.Anomaly]):
    """A new anomaly episode started."""

    type: Literal["dev.incidentctl.anomaly.detected"] = "dev.incidentctl.anomaly.detected"
    event_type: ClassVar[str] = "dev.incidentctl.anomaly.detected"


class AnomalyUpdated(Envelope[m.Anomaly]):
    """An ongoing anomaly episode changed materially (score, peak, samples)."""

    type: Literal["dev.incidentctl.anomaly.updated"] = "dev.incidentctl.anomaly.updated"
    event_type: ClassVar[str] = "dev.incidentctl.anomaly.updated"


class AnomalyResolved(Envelope[m.Anomaly]):
    """An anomaly episode ended: the signal is back to normal."""

    type: Literal["dev.incidentctl.anomaly.resolved"] = "dev.incidentctl.anomaly.resolved"
    event_type: ClassVar[str] = "dev.incidentctl.anomaly.resolved"


class IncidentOpened(Envelope[m.IncidentTransition]):
    """An incident was opened (triggered)."""

    type: Literal["dev.incidentctl.incident.opened"] = "dev.incidentctl.incident.opened"
    event_type: ClassVar[str] = "dev.incidentctl.incident.opened"


class IncidentUpdated(Envelope[m.IncidentTransition]):
    """An incident gained anomalies or changed severity."""

    type: Literal["dev.incidentctl.incident.updated"] = "dev.incidentctl.incident.updated"
    event_type: ClassVar[str] = "dev.incidentctl.incident.updated"


class IncidentAcknowledged(Envelope[m.IncidentTransition]):
    """Someone took ownership of an incident; escalation stops."""

    type: Literal["dev.incidentctl.incident.acknowledged"] = "dev.incidentctl.incident.acknowledged"
    event_type: ClassVar[str] = "dev.incidentctl.incident.acknowledged"


class IncidentEscalated(Envelope[m.IncidentTransition]):
    """An incident was routed to a (further) support tier."""

    type: Literal["dev.incidentctl.incident.escalated"] = "dev.incidentctl.incident.escalated"
    event_type: ClassVar[str] = "dev.incidentctl.incident.escalated"


class ResponseTargetBreached(Envelope[m.IncidentTransition]):
    """An incident was not acknowledged within its severity's response target."""

    type: Literal["dev.incidentctl.incident.response_target_breached"] = (
        "dev.incidentctl.incident.response_target_breached"
    )
    event_type: ClassVar[str] = "dev.incidentctl.incident.response_target_breached"


class IncidentNoteAdded(Envelope[m.IncidentTransition]):
    """A note was added to an incident's timeline."""

    type: Literal["dev.incidentctl.incident.note_added"] = "dev.incidentctl.incident.note_added"
    event_type: ClassVar[str] = "dev.incidentctl.incident.note_added"


class IncidentResolved(Envelope[m.IncidentTransition]):
    """An incident was resolved, by an operator or automatically."""

    type: Literal["dev.incidentctl.incident.resolved"] = "dev.incidentctl.incident.resolved"
    event_type: ClassVar[str] = "dev.incidentctl.incident.resolved"


class NotificationDispatched(Envelope[m.NotificationRecord]):
    """A notification is about to be sent (recorded first, so it is never sent twice)."""

    type: Literal["dev.incidentctl.notification.dispatched"] = "dev.incidentctl.notification.dispatched"
    event_type: ClassVar[str] = "dev.incidentctl.notification.dispatched"


class NotificationDelivered(Envelope[m.NotificationRecord]):
    """A channel accepted a notification."""

    type: Literal["dev.incidentctl.notification.delivered"] = "dev.incidentctl.notification.delivered"
    event_type: ClassVar[str] = "dev.incidentctl.notification.delivered"


class NotificationFailed(Envelope[m.NotificationRecord]):
    """A channel rejected a notification after its retries."""

    type: Literal["dev.incidentctl.notification.failed"] = "dev.incidentctl.notification.failed"
    event_type: ClassVar[str] = "dev.incidentctl.notification.failed"


class RecoveryPlanned(Envelope[m.RecoveryPlan]):
    """A recovery plan was chosen for an incident."""

    type: Literal["dev.incidentctl.recovery.planned"] = "dev.incidentctl.recovery.planned"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.planned"


class RecoveryStepStarted(Envelope[m.RecoveryProgress]):
    """A recovery action is about to run (recorded first, so it never runs twice)."""

    type: Literal["dev.incidentctl.recovery.step_started"] = "dev.incidentctl.recovery.step_started"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.step_started"


class RecoveryStepCompleted(Envelope[m.RecoveryProgress]):
    """A recovery action finished (``ok`` tells how)."""

    type: Literal["dev.incidentctl.recovery.step_completed"] = "dev.incidentctl.recovery.step_completed"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.step_completed"


class RecoveryVerified(Envelope[m.RecoveryProgress]):
    """Fresh metrics show the target healthy after recovery."""

    type: Literal["dev.incidentctl.recovery.verified"] = "dev.incidentctl.recovery.verified"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.verified"


class RecoveryFailed(Envelope[m.RecoveryProgress]):
    """Recovery did not restore the target; humans must take over."""

    type: Literal["dev.incidentctl.recovery.failed"] = "dev.incidentctl.recovery.failed"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.failed"


class RecoveryApprovalRequested(Envelope[m.RecoveryApproval]):
    """A recovery step waits for a person's approval (recorded before the wait; the default applies at timeout)."""

    type: Literal["dev.incidentctl.recovery.approval_requested"] = "dev.incidentctl.recovery.approval_requested"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.approval_requested"


class RecoveryApproved(Envelope[m.RecoveryApproval]):
    """A step awaiting approval may run: approved by ``actor`` (or by the declared default at timeout)."""

    type: Literal["dev.incidentctl.recovery.approved"] = "dev.incidentctl.recovery.approved"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.approved"


class RecoveryDenied(Envelope[m.RecoveryApproval]):
    """A step awaiting approval will not run: denied by ``actor`` (or by the declared default at timeout)."""

    type: Literal["dev.incidentctl.recovery.denied"] = "dev.incidentctl.recovery.denied"
    event_type: ClassVar[str] = "dev.incidentctl.recovery.denied"


class RootCauseIdentified(Envelope[m.RootCauseAnalysis]):
    """RCA ranked the likely causes of an incident."""

    type: Literal["dev.incidentctl.rca.completed"] = "dev.incidentctl.rca.completed"
    event_type: ClassVar[str] = "dev.incidentctl.rca.completed"


class ActionRecorded(Envelope[m.FollowUpAction]):
    """A follow-up action of an incident's improvement plan was recorded (or its state changed)."""

    type: Literal["dev.incidentctl.action.recorded"] = "dev.incidentctl.action.recorded"
    event_type: ClassVar[str] = "dev.incidentctl.action.recorded"


class SilenceCreated(Envelope[m.Silence]):
    """A silence (maintenance window) was created."""

    type: Literal["dev.incidentctl.silence.created"] = "dev.incidentctl.silence.created"
    event_type: ClassVar[str] = "dev.incidentctl.silence.created"


class SilenceExpired(Envelope[m.Silence]):
    """A silence was expired early by an operator."""

    type: Literal["dev.incidentctl.silence.expired"] = "dev.incidentctl.silence.expired"
    event_type: ClassVar[str] = "dev.incidentctl.silence.expired"


class ScheduleUpdated(Envelope[m.ScheduleChange]):
    """An on-call schedule was replaced (through the API); it overrides the one of the same name in the config."""

    type: Literal["dev.incidentctl.oncall.schedule_updated"] = "dev.incidentctl.oncall.schedule_updated"
    event_type: ClassVar[str] = "dev.incidentctl.oncall.schedule_updated"


class OnCallHandedOff(Envelope[m.OnCallChange]):
    """A team's on-call passed from one person to another at a hand-off."""

    type: Literal["dev.incidentctl.oncall.handed_off"] = "dev.incidentctl.oncall.handed_off"
    event_type: ClassVar[str] = "dev.incidentctl.oncall.handed_off"


class OnCallGapStarted(Envelope[m.OnCallChange]):
    """Nobody is on call for a team's schedule from ``at`` (its pages go to the team's channels only)."""

    type: Literal["dev.incidentctl.oncall.gap_started"] = "dev.incidentctl.oncall.gap_started"
    event_type: ClassVar[str] = "dev.incidentctl.oncall.gap_started"


class AcknowledgeRequested(Envelope[m.OperatorCommand]):
    """An operator asked to acknowledge an incident."""

    type: Literal["dev.incidentctl.command.acknowledge"] = "dev.incidentctl.command.acknowledge"
    event_type: ClassVar[str] = "dev.incidentctl.command.acknowledge"


class ResolveRequested(Envelope[m.OperatorCommand]):
    """An operator asked to resolve an incident."""

    type: Literal["dev.incidentctl.command.resolve"] = "dev.incidentctl.command.resolve"
    event_type: ClassVar[str] = "dev.incidentctl.command.resolve"


class NoteRequested(Envelope[m.OperatorCommand]):
    """An operator asked to add a note to an incident."""

    type: Literal["dev.incidentctl.command.note"] = "dev.incidentctl.command.note"
    event_type: ClassVar[str] = "dev.incidentctl.command.note"


class RcaRequested(Envelope[m.OperatorCommand]):
    """An operator asked for root-cause analysis of an incident now."""

    type: Literal["dev.incidentctl.command.rca"] = "dev.incidentctl.command.rca"
    event_type: ClassVar[str] = "dev.incidentctl.command.rca"


class DeclareRequested(Envelope[m.OperatorCommand]):
    """An operator declared an incident by hand (severity, impact, title)."""

    type: Literal["dev.incidentctl.command.declare"] = "dev.incidentctl.command.declare"
    event_type: ClassVar[str] = "dev.incidentctl.command.declare"


class EscalateRequested(Envelope[m.OperatorCommand]):
    """An operator asked to escalate an incident to the next (or a named) level now."""

    type: Literal["dev.incidentctl.command.escalate"] = "dev.incidentctl.command.escalate"
    event_type: ClassVar[str] = "dev.incidentctl.command.escalate"


class ReassignRequested(Envelope[m.OperatorCommand]):
    """An operator asked to reassign an incident to a team or a person."""

    type: Literal["dev.incidentctl.command.reassign"] = "dev.incidentctl.command.reassign"
    event_type: ClassVar[str] = "dev.incidentctl.command.reassign"


class SeverityRequested(Envelope[m.OperatorCommand]):
    """An operator overrode an incident's severity with a reason (or cleared the override)."""

    type: Literal["dev.incidentctl.command.severity"] = "dev.incidentctl.command.severity"
    event_type: ClassVar[str] = "dev.incidentctl.command.severity"


class MergeRequested(Envelope[m.OperatorCommand]):
    """An operator asked to merge an incident into another (``other_incident_id``)."""

    type: Literal["dev.incidentctl.command.merge"] = "dev.incidentctl.command.merge"
    event_type: ClassVar[str] = "dev.incidentctl.command.merge"


class SplitRequested(Envelope[m.OperatorCommand]):
    """An operator asked to move some anomalies of an incident to a new incident."""

    type: Literal["dev.incidentctl.command.split"] = "dev.incidentctl.command.split"
    event_type: ClassVar[str] = "dev.incidentctl.command.split"


class ApproveRequested(Envelope[m.OperatorCommand]):
    """An operator approved the recovery step of an incident that awaits approval."""

    type: Literal["dev.incidentctl.command.approve"] = "dev.incidentctl.command.approve"
    event_type: ClassVar[str] = "dev.incidentctl.command.approve"


class DenyRequested(Envelope[m.OperatorCommand]):
    """An operator denied the recovery step of an incident that awaits approval (``text``: why)."""

    type: Literal["dev.incidentctl.command.deny"] = "dev.incidentctl.command.deny"
    event_type: ClassVar[str] = "dev.incidentctl.command.deny"


class FaultInjected(Envelope[m.FaultInjected]):
    """A chaos fault was injected (demo and game days)."""

    type: Literal["dev.incidentctl.chaos.fault_injected"] = "dev.incidentctl.chaos.fault_injected"
    event_type: ClassVar[str] = "dev.incidentctl.chaos.fault_injected"


class ServiceHeartbeat(Envelope[m.ServiceHeartbeat]):
    """A service instance reports that it is alive (the pipeline's dead man's switch)."""

    type: Literal["dev.incidentctl.service.heartbeat"] = "dev.incidentctl.service.heartbeat"
    event_type: ClassVar[str] = "dev.incidentctl.service.heartbeat"


AnomalyEvent: TypeAlias = AnomalyDetected | AnomalyUpdated | AnomalyResolved
IncidentEvent: TypeAlias = (
    IncidentOpened
    | IncidentUpdated
    | IncidentAcknowledged
    | IncidentEscalated
    | ResponseTargetBreached
    | IncidentNoteAdded
    | IncidentResolved
)
NotificationEvent: TypeAlias = NotificationDispatched | NotificationDelivered | NotificationFailed
RecoveryEvent: TypeAlias = (
    RecoveryPlanned
    | RecoveryStepStarted
    | RecoveryStepCompleted
    | RecoveryVerified
    | RecoveryFailed
    | RecoveryApprovalRequested
    | RecoveryApproved
    | RecoveryDenied
)
SilenceEvent: TypeAlias = SilenceCreated | SilenceExpired
OnCallEvent: TypeAlias = ScheduleUpdated | OnCallHandedOff | OnCallGapStarted
DecisionEvent: TypeAlias = (
    DeclareRequested | EscalateRequested | ReassignRequested | SeverityRequested | MergeRequested | SplitRequested
)
"""Operator decisions on incidents (applied by the responder's `domain.decisions`)."""
ApprovalCommand: TypeAlias = ApproveRequested | DenyRequested
"""Operator decisions on a recovery step awaiting approval (applied by the recovery service)."""
CommandEvent: TypeAlias = (
    AcknowledgeRequested | ResolveRequested | NoteRequested | RcaRequested | DecisionEvent | ApprovalCommand
)

Event: TypeAlias = (
    MetricsObserved
    | AnomalyEvent
    | IncidentEvent
    | NotificationEvent
    | RecoveryEvent
    | RootCauseIdentified
    | ActionRecorded
    | SilenceEvent
    | OnCallEvent
    | CommandEvent
    | FaultInjected
    | ServiceHeartbeat
)
"""Any event of the contract: the closed union of every event class (``match`` on it is checked for exhaustiveness)."""

ALL_EVENTS: Final[tuple[type[Event], ...]] = get_args(Event)
_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Annotated[Event, Field(discriminator="type")])
EVENT_TYPES: Final[dict[str, type[Event]]] = {cls.event_type: cls for cls in ALL_EVENTS}


def parse_event(raw: bytes | str) -> Event:
    """Parse one structured-mode CloudEvent; raises ``pydantic.ValidationError`` on bad input."""
    return _ADAPTER.validate_json(raw)


def encode_event(event: Event) -> bytes:
    """Serialise an event to its structured-mode JSON bytes.

    ``model_dump_json(exclude_none=True).encode()`` without its round trip through ``str``: the
    serializer writes these bytes, which ``model_dump_json`` decodes (1.6 kB incident events: 5.5 -> 4.6 us).
    """
    encoded: bytes = event.__pydantic_serializer__.to_json(event, exclude_none=True)
    return encoded
