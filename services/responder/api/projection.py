"""The API's read model: a pure fold over every topic's events into incident summaries and timelines.

Timelines are assembled at query time from three indexes, so events may arrive in any order across
topics: events whose ``correlationid`` (or payload ``incident_id``) is the incident, the revisions of
the anomalies the incident's latest payload lists, the events those caused (``causationid``), and
chaos faults that touch the incident's target and window (`shared.timeline`). Event ids are
remembered, so replaying or redelivering an event is a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from services.responder.api.describe import describe, short_type
from services.responder.api.views import IncidentDetail, IncidentSummary, SilenceView, TimelineEntry
from services.responder.domain.policy import MANUAL_ESCALATION
from shared import events as ev
from shared import models as m
from shared.compliance import response_compliance
from shared.models import IncidentStatus, Severity
from shared.timeline import FAULT_LEAD_S, caused_by, episode_start, fault_touches
from shared.topics import topic_of

DEFAULT_TARGETS: Final[Mapping[str, float]] = {s.value: p.response_target_s for s, p in MANUAL_ESCALATION.items()}
RESPONSE_FACTS: Final = (
    ev.IncidentAcknowledged, ev.IncidentResolved, ev.ResponseTargetBreached, ev.AcknowledgeRequested,
    ev.ResolveRequested, ev.RecoveryStepStarted,
)  # fmt: skip
"""The events `shared.compliance` judges a response by (kept per incident, a few each)."""


@dataclass
class _IncidentState:
    incident: m.Incident
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    team: m.Team | None = None
    escalation_step: int | None = None
    breached: bool = False
    last_reason: str = ""
    rca: m.RootCauseAnalysis | None = None


@dataclass
class _SilenceState:
    silence: m.Silence
    expired_at: datetime | None = None


@dataclass
class Projection:
    """Incidents, timelines and silences folded from events; ``apply`` is the only writer."""

    chaos_lookback: timedelta = timedelta(minutes=10)
    max_events_per_anomaly: int = 50
    _seen: set[str] = field(default_factory=set)
    _incidents: dict[str, _IncidentState] = field(default_factory=dict)
    _by_incident: dict[str, list[TimelineEntry]] = field(default_factory=lambda: defaultdict(list))
    _by_anomaly: dict[str, list[TimelineEntry]] = field(default_factory=lambda: defaultdict(list))
    _faults: list[tuple[str, TimelineEntry]] = field(default_factory=list)
    _by_cause: dict[str, list[tuple[str, TimelineEntry]]] = field(default_factory=lambda: defaultdict(list))
    response_targets_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    _responses: dict[str, list[ev.Event]] = field(default_factory=lambda: defaultdict(list))
    _silences: dict[str, _SilenceState] = field(default_factory=dict)
    _awaiting: dict[str, str] = field(default_factory=dict)  # incident id -> the step awaiting approval
    language: str = "en"
    """Language of the timeline sentences (``en`` or ``ko``), the API's ``language`` setting."""

    def __len__(self) -> int:
        return len(self._seen)

    def has_event(self, event_id: str) -> bool:
        """Tell whether an event with this id was applied."""
        return event_id in self._seen

    def apply(self, event: ev.Event) -> bool:
        """Fold one event in; return False if it was applied before (or belongs to no view)."""
        if event.id in self._seen or isinstance(event, ev.MetricsObserved):
            return False
        self._seen.add(event.id)
        entry = _entry(event, self.language)
        match event:
            case ev.AnomalyDetected() | ev.AnomalyUpdated() | ev.AnomalyResolved():
                self._add_anomaly(event.data.anomaly_id, entry)
            case ev.FaultInjected():
                self._faults.append((event.data.target, entry))
            case ev.SilenceCreated() | ev.SilenceExpired():
                self._apply_silence(event)
            case ev.RootCauseIdentified() if event.data.incident_id in self._incidents:
                self._incidents[event.data.incident_id].rca = event.data
            case ev.RecoveryApprovalRequested():  # kept even before the incident's own events (another topic)
                a = event.data
                self._awaiting[a.incident_id] = (
                    f"{a.step.action} on {a.target} (no decision within {a.timeout_s:g}s: {a.default.value})"
                )
            case ev.RecoveryApproved() | ev.RecoveryDenied() | ev.RecoveryFailed() | ev.RecoveryVerified():
                self._awaiting.pop(event.data.incident_id, None)
        if isinstance(event, ev.IncidentEvent):
            self._apply_transition(event)
        incident_id = _incident_of(event)
        if incident_id is not None:
            self._by_incident[incident_id].append(entry)
            if isinstance(event, RESPONSE_FACTS):
                self._responses[incident_id].append(event)
        elif event.causationid and not isinstance(event, ev.AnomalyEvent | ev.FaultInjected):
            self._by_cause[event.causationid].append((event.id, entry))
        return True

    def _add_anomaly(self, anomaly_id: str, entry: TimelineEntry) -> None:
        revisions = self._by_anomaly[anomaly_id]
        revisions.append(entry)
        if len(revisions) > self.max_events_per_anomaly:
            del revisions[1]  # keep the first (detection) and the latest revisions

    def _apply_silence(self, event: ev.SilenceEvent) -> None:
        data = event.data
        state = self._silences.setdefault(data.silence_id, _SilenceState(data))
        if isinstance(event, ev.SilenceExpired):
            state.expired_at = min(event.time, data.ends_at)
        else:
            state.silence = data

    def _apply_transition(self, event: ev.IncidentEvent) -> None:
        t = event.data
        inc = t.incident
        state = self._incidents.get(inc.incident_id)
        if state is None:
            state = self._incidents[inc.incident_id] = _IncidentState(inc, event.time)
            rca = [e for e in self._by_incident.get(inc.incident_id, ()) if e.type == "rca.completed"]
            if rca:
                state.rca = m.RootCauseAnalysis.model_validate(rca[-1].data)
        state.incident, state.updated_at, state.last_reason = inc, max(state.updated_at, event.time), t.reason
        if t.team is not None:
            state.team = t.team
        match event:
            case ev.IncidentEscalated():
                state.escalation_step = t.escalation_step
            case ev.IncidentAcknowledged():
                state.acknowledged_at, state.acknowledged_by = event.time, t.actor
            case ev.ResponseTargetBreached():
                state.breached = True
            case ev.IncidentResolved():
                state.resolved_at, state.resolved_by = event.time, t.actor

    def knows(self, incident_id: str) -> bool:
        """Tell whether any lifecycle event of this incident was applied."""
        return incident_id in self._incidents

    def awaiting_approval(self, incident_id: str) -> str:
        """The recovery step of the incident awaiting approval, described ("" when none)."""
        return self._awaiting.get(incident_id, "")

    def incidents(
        self,
        *,
        status: IncidentStatus | None = None,
        severity: Severity | None = None,
        target: str | None = None,
        limit: int = 200,
    ) -> list[IncidentSummary]:
        """Return incident summaries matching the filters, newest first."""
        found = [
            s
            for s in self._incidents.values()
            if (status is None or s.incident.status == status)
            and (severity is None or s.incident.severity == severity)
            and (target is None or s.incident.target == target)
        ]
        found.sort(key=lambda s: (s.incident.opened_at, s.incident.incident_id), reverse=True)
        return [self._summary(s) for s in found[:limit]]

    def service_incidents(self, service: str, *, limit: int = 20) -> list[IncidentSummary]:
        """Return the incidents of ``service`` (its ``service`` label, or its target), newest first."""
        found = [
            s for s in self._incidents.values() if service in (s.incident.labels.get("service"), s.incident.target)
        ]
        found.sort(key=lambda s: (s.incident.opened_at, s.incident.incident_id), reverse=True)
        return [self._summary(s) for s in found[:limit]]

    def incident(self, incident_id: str) -> IncidentDetail | None:
        """Return one incident with its whole timeline, or None if unknown."""
        state = self._incidents.get(incident_id)
        if state is None:
            return None
        return IncidentDetail(
            summary=self._summary(state),
            incident=state.incident,
            timeline=self.timeline(incident_id),
            rca=state.rca,
        )

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        """Return the incident's events, its anomalies, their causal chain and the faults that touch it, oldest first.

        The rule is `shared.timeline`'s: a fault counts only when it hit the incident's target from
        shortly before the incident's first abnormal sample until its resolution.
        """
        entries = {e.id: e for e in self._by_incident.get(incident_id, ())}
        state = self._incidents.get(incident_id)
        if state is not None:
            since: list[datetime] = []
            for anomaly_id in state.incident.anomaly_ids:
                revisions = self._by_anomaly.get(anomaly_id, ())
                entries.update((e.id, e) for e in revisions)
                since += [datetime.fromisoformat(e.data["since"]) for e in revisions[:1] if "since" in e.data]
            start = episode_start(state.incident.opened_at, since)
            lead = min(self.chaos_lookback.total_seconds(), FAULT_LEAD_S)
            for target, e in self._faults:
                if fault_touches(target, e.time, targets={state.incident.target}, start=start,
                                 end=state.resolved_at, lead_s=lead):  # fmt: skip
                    entries[e.id] = e
        entries.update((e.id, e) for e in caused_by(set(entries), self._by_cause))
        return sorted(entries.values(), key=lambda e: (e.time, e.topic, e.id))

    def silences(self, *, now: datetime) -> list[SilenceView]:
        """Return every silence with its state at ``now``, latest start first."""
        views = [_silence_view(s, now) for s in self._silences.values()]
        return sorted(views, key=lambda v: (v.silence.starts_at, v.silence.silence_id), reverse=True)

    def silence(self, silence_id: str) -> m.Silence | None:
        """Return the silence with this id, or None."""
        state = self._silences.get(silence_id)
        return state.silence if state is not None else None

    def _summary(self, s: _IncidentState) -> IncidentSummary:
        inc = s.incident
        target = self.response_targets_s.get(inc.severity.value, DEFAULT_TARGETS[inc.severity.value])
        response = response_compliance(inc, self._responses.get(inc.incident_id, ()), target)
        return IncidentSummary(
            incident_id=inc.incident_id,
            title=inc.title,
            target=inc.target,
            severity=inc.severity,
            status=inc.status,
            opened_at=inc.opened_at,
            updated_at=s.updated_at,
            acknowledged_at=s.acknowledged_at,
            acknowledged_by=s.acknowledged_by,
            resolved_at=s.resolved_at,
            resolved_by=s.resolved_by,
            team=s.team,
            escalation_step=s.escalation_step,
            response_target_breached=s.breached,
            response=response.verdict.value,
            first_response_s=response.human_s,
            first_response_by=response.human_by,
            automatic_recovery_s=response.automatic_s,
            severity_reason=inc.severity_reason,
            last_reason=s.last_reason,
            anomaly_ids=inc.anomaly_ids,
            signals=inc.signals,
            impacts=inc.impacts,
            previous_incident_id=inc.previous_incident_id,
            acknowledged_levels=inc.acknowledged_levels,
            assigned_team=inc.assigned_team,
            assignee=inc.assignee,
            severity_override=inc.severity_override,
            merged_into=inc.merged_into,
            declared_by=inc.declared_by,
            has_report=bool(s.rca and s.rca.report_path),
            event_count=len(self._by_incident.get(inc.incident_id, ())),
            awaiting_approval=self._awaiting.get(inc.incident_id, ""),
        )


def _incident_of(event: ev.Event) -> str | None:
    """The incident an event belongs to: its correlation id, else the payload's incident id."""
    if event.correlationid:
        return event.correlationid
    data = event.data
    if isinstance(data, m.IncidentTransition):
        return data.incident.incident_id
    incident_id = getattr(data, "incident_id", None)
    return incident_id if isinstance(incident_id, str) else None


def _entry(event: ev.Event, language: str = "en") -> TimelineEntry:
    return TimelineEntry(
        id=event.id,
        type=short_type(event),
        time=event.time,
        topic=topic_of(type(event)).name,
        source=event.source,
        subject=event.subject,
        correlationid=event.correlationid,
        causationid=event.causationid,
        summary=describe(event, language),
        data=event.data.model_dump(mode="json"),
    )


def _silence_view(s: _SilenceState, now: datetime) -> SilenceView:
    ends = s.expired_at or s.silence.ends_at
    state = "pending" if now < s.silence.starts_at else "active" if now < ends else "expired"
    return SilenceView(silence=s.silence, state=state, expired_early_at=s.expired_at)
