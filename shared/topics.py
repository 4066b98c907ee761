"""Every topic, its events, key and partitioning, declared once (the public interface users consume)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Generic, Never, TypeVar

from shared import events as ev

E_co = TypeVar("E_co", bound=ev.Event, covariant=True)


@dataclass(frozen=True, slots=True)
class Topic(Generic[E_co]):
    """A Kafka topic of the event contract; ``E_co`` is the union of the event classes allowed on it."""

    name: str
    events: tuple[type[E_co], ...]
    key: str
    producer: str
    partitions: int = 3
    compacted: bool = False
    retention_ms: int = 7 * 24 * 3600 * 1000
    doc: str = ""
    dead_letters: bool = True

    @property
    def has_dlq(self) -> bool:
        """A consumer group dead-letters what it cannot process (topics only the API's read model follows have none)."""
        return bool(self.events) and self.dead_letters

    @property
    def dlq(self) -> str:
        """Dead-letter topic of this topic's consumers."""
        return f"{self.name}.dlq"


METRICS: Final[Topic[ev.MetricsObserved]] = Topic(
    "collector.metrics.v1",
    (ev.MetricsObserved,),
    key="target",
    producer="collector",
    doc="One event per scrape of a target (host metrics, process state, probe latency, error rate).",
)
ANOMALIES: Final[Topic[ev.AnomalyEvent]] = Topic(
    "detector.anomalies.v1",
    (ev.AnomalyDetected, ev.AnomalyUpdated, ev.AnomalyResolved),
    key="target",
    producer="detector, responder (Alertmanager ingest)",
    doc="Anomaly episodes from thresholds, the statistical detector, degradation and log patterns.",
)
INCIDENTS: Final[Topic[ev.IncidentEvent]] = Topic(
    "responder.incidents.v1",
    (
        ev.IncidentOpened,
        ev.IncidentUpdated,
        ev.IncidentAcknowledged,
        ev.IncidentEscalated,
        ev.ResponseTargetBreached,
        ev.IncidentNoteAdded,
        ev.IncidentResolved,
    ),
    key="incident_id",
    producer="responder",
    doc="Incident lifecycle; the responder rebuilds its state from this topic after a restart.",
)
NOTIFICATIONS: Final[Topic[ev.NotificationEvent]] = Topic(
    "responder.notifications.v1",
    (ev.NotificationDispatched, ev.NotificationDelivered, ev.NotificationFailed),
    key="incident_id",
    producer="responder",
    doc="Every notification attempt; 'dispatched' is written before sending, so none is sent twice.",
)
COMMANDS: Final[Topic[ev.CommandEvent]] = Topic(
    "responder.commands.v1",
    (
        ev.AcknowledgeRequested,
        ev.ResolveRequested,
        ev.NoteRequested,
        ev.RcaRequested,
        ev.DeclareRequested,
        ev.EscalateRequested,
        ev.ReassignRequested,
        ev.SeverityRequested,
        ev.MergeRequested,
        ev.SplitRequested,
        ev.ApproveRequested,
        ev.DenyRequested,
    ),
    key="incident_id",
    producer="API / incidentctl",
    doc="Operator requests (acknowledge, resolve, note, run RCA now), decisions (declare, escalate, reassign, "
    "override severity, merge, split) and approvals of recovery steps (approve, deny; read by recovery).",
)
SILENCES: Final[Topic[ev.SilenceEvent | ev.OnCallEvent]] = Topic(
    "responder.silences.v1",
    (ev.SilenceCreated, ev.SilenceExpired, ev.ScheduleUpdated, ev.OnCallHandedOff, ev.OnCallGapStarted),
    key="silence_id (schedule name)",
    producer="API / incidentctl, responder (on-call)",
    partitions=1,
    doc="Silences; on-call schedule changes, hand-offs and gaps (nobody on call).",
)
RECOVERY: Final[Topic[ev.RecoveryEvent]] = Topic(
    "recovery.actions.v1",
    (
        ev.RecoveryPlanned,
        ev.RecoveryStepStarted,
        ev.RecoveryStepCompleted,
        ev.RecoveryVerified,
        ev.RecoveryFailed,
        ev.RecoveryApprovalRequested,
        ev.RecoveryApproved,
        ev.RecoveryDenied,
    ),
    key="incident_id",
    producer="recovery",
    doc="Recovery plans, each catalog action before and after it runs, verification, approvals of steps.",
)
RCA: Final[Topic[ev.RootCauseIdentified]] = Topic(
    "rca.results.v1",
    (ev.RootCauseIdentified,),
    key="incident_id",
    producer="rca",
    dead_letters=False,  # followed by the API's read model only, which skips (and counts) bad records
    doc="Ranked root causes with evidence, and the incident report's location.",
)
ACTIONS: Final[Topic[ev.ActionRecorded]] = Topic(
    "rca.actions.v1",
    (ev.ActionRecorded,),
    key="incident_id",
    producer="rca, incidentctl actions",
    dead_letters=False,  # read by `incidentctl actions`, which skips bad records; no consumer group follows it
    doc="Follow-up actions of improvement plans: owner team, due date, state (open/done); latest per action id.",
)
CHAOS: Final[Topic[ev.FaultInjected]] = Topic(
    "chaos.faults.v1",
    (ev.FaultInjected,),
    key="target",
    producer="incidentctl chaos",
    dead_letters=False,  # followed by the API's read model only, which skips (and counts) bad records
    partitions=1,
    doc="Faults injected on purpose, for timelines and scenario scoring.",
)
HEARTBEATS: Final[Topic[ev.ServiceHeartbeat]] = Topic(
    "ops.heartbeats.v1",
    (ev.ServiceHeartbeat,),
    key="service",
    producer="every service",
    partitions=1,
    retention_ms=24 * 3600 * 1000,
    doc="Liveness, readiness and consumer lag of every service instance; a missing one opens an incident.",
)
DETECTOR_STATE: Final[Topic[Never]] = Topic(
    "detector.state.v1",
    (),
    key="series key",
    producer="detector",
    compacted=True,
    retention_ms=-1,
    doc="Compacted checkpoints of the detector's per-series state (binary values, not CloudEvents).",
)

ALL_TOPICS: Final[tuple[Topic[ev.Event], ...]] = (
    METRICS,
    ANOMALIES,
    INCIDENTS,
    NOTIFICATIONS,
    COMMANDS,
    SILENCES,
    RECOVERY,
    RCA,
    ACTIONS,
    CHAOS,
    HEARTBEATS,
    DETECTOR_STATE,
)


def topic_of(event_type: type[ev.Event]) -> Topic[ev.Event]:
    """Return the one topic an event type is published on."""
    for topic in ALL_TOPICS:
        if event_type in topic.events:
            return topic
    raise KeyError(f"no topic declared for {event_type.__name__}")


TABLE_WORDS: Final = {"head": "| topic | key | partitions | producer | events | what |", "binary": "(binary)",
                      "compacted": " (compacted)"}  # fmt: skip
"""The fixed words of `markdown_table`; ``incidentctl topics`` passes them in the CLI's language."""


def markdown_table(words: Mapping[str, str] = TABLE_WORDS) -> str:
    """Render the topic table for the README (``words``: its heading and fixed words, by `TABLE_WORDS` key)."""
    rows = [words["head"], "|---|---|---|---|---|---|"]
    for t in ALL_TOPICS:
        names = ", ".join(f"`{e.event_type.removeprefix(ev.TYPE_PREFIX)}`" for e in t.events) or words["binary"]
        extra = words["compacted"] if t.compacted else ""
        rows.append(f"| `{t.name}`{extra} | {t.key} | {t.partitions} | {t.producer} | {names} | {t.doc} |")
    return "\n".join(rows)
