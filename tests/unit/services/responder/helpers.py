"""In-memory driver of the responder's pure core for unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.responder.domain import clocks, decisions, lifecycle
from services.responder.domain.policy import EscalationPolicy, EscalationStep, GroupingPolicy, ResponsePolicy
from services.responder.domain.state import (
    Book,
    IncidentState,
    fold_incident_event,
    fold_recovery_event,
    fold_silence_event,
    fold_suppressed,
)
from services.responder.notify.channel import Outbound
from shared import events as ev
from shared import models as m
from tests.factories import T0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def anomaly(
    target: str = "api",
    signal: str = "latency",
    *,
    t: float = 0.0,
    impact: m.Impact = m.Impact.SEVERE_DEGRADATION,
    episode: str = "1",
    host: str = "h1",
    labels: dict[str, str] | None = None,
    revision: int = 1,
    cls: type[ev.AnomalyEvent] = ev.AnomalyDetected,
    kind: m.AnomalyKind = m.AnomalyKind.THRESHOLD,
) -> ev.AnomalyEvent:
    data = m.Anomaly(
        anomaly_id=f"an-{target}-{signal}-{episode}",
        fingerprint=f"{target}/{signal}",
        kind=kind,
        target=target,
        host=host,
        signal=signal,
        impact=impact,
        score=0.9,
        observed=900.0,
        expected=100.0,
        unit="ms",
        since=at(t),
        last_seen=at(t),
        revision=revision,
        summary=f"{signal} anomalous on {target}",
        labels=labels or {},
    )
    return cls.create(
        data, source="/tests", id_parts=(data.anomaly_id, revision, cls.event_type), time=at(t), subject=target
    )


def policy(**overrides: Any) -> ResponsePolicy:
    """A policy in seconds: Major L1 at 0, L2 at 10 s (target), L3 at 20 s; no group wait."""
    base: dict[str, Any] = {
        "grouping": GroupingPolicy(group_wait_s=0, group_interval_s=5, repeat_interval_s=60),
        "auto_resolve_after_s": 30,
        "escalation": {
            m.Severity.CRITICAL: EscalationPolicy(
                response_target_s=5,
                steps=(
                    EscalationStep(after_s=0, teams=(m.Team.L1, m.Team.L2)),
                    EscalationStep(after_s=15, teams=(m.Team.L3,)),
                ),
            ),
            m.Severity.MAJOR: EscalationPolicy(
                response_target_s=10,
                steps=(
                    EscalationStep(after_s=0, teams=(m.Team.L1,)),
                    EscalationStep(after_s=10, teams=(m.Team.L2,)),
                    EscalationStep(after_s=20, teams=(m.Team.L3,)),
                ),
            ),
            m.Severity.MINOR: EscalationPolicy(
                response_target_s=40,
                steps=(EscalationStep(after_s=0, teams=(m.Team.L1,)), EscalationStep(after_s=40, teams=(m.Team.L2,))),
            ),
        },
    }
    return ResponsePolicy(**(base | overrides))


class Sim:
    """Decide and fold, as the responder does, without a broker."""

    def __init__(self, pol: ResponsePolicy | None = None) -> None:
        self.book = Book()
        self.policy = pol or policy()
        self.log: list[ev.Envelope[Any]] = []

    def _emit(self, events: Sequence[ev.IncidentEvent]) -> list[ev.IncidentEvent]:
        for event in events:
            fold_incident_event(self.book, event)
            self.log.append(event)
        return list(events)

    def anomaly(self, event: ev.AnomalyEvent, *, t: float) -> lifecycle.Decision:
        decision = lifecycle.decide_anomaly(self.book, event, now=at(t), policy=self.policy)
        self._emit(decision.events)
        fold_suppressed(self.book, event, silenced=decision.outcome.startswith("silenced"))
        return decision

    def tick(self, t: float) -> list[ev.IncidentEvent]:
        out: list[ev.IncidentEvent] = []
        for freed in lifecycle.silence_ended(self.book, now=at(t)):
            out += self._emit(lifecycle.decide_anomaly(self.book, freed, now=at(t), policy=self.policy).events)
            self.book.suppressed.pop(freed.data.anomaly_id, None)
        recovering_targets = self.book.recovering_targets()
        for state in list(self.book.incidents.values()):
            recovering = state.incident.target in recovering_targets
            out += self._emit(clocks.decide_tick(state, now=at(t), policy=self.policy, recovering=recovering))
        return out

    def command(self, event: ev.CommandEvent, *, t: float) -> lifecycle.Decision:
        decision = lifecycle.decide_command(self.book.incidents[event.data.incident_id], event, now=at(t))
        self._emit(decision.events)
        return decision

    def decide(self, event: ev.DecisionEvent, *, t: float) -> lifecycle.Decision:
        decision = decisions.decide(self.book, event, now=at(t), policy=self.policy)
        self._emit(decision.events)
        return decision

    def recovery(self, event: ev.RecoveryEvent, *, t: float) -> lifecycle.Decision:
        fold_recovery_event(self.book, event)
        if not isinstance(event, ev.RecoveryVerified | ev.RecoveryFailed):
            return lifecycle.Decision(outcome="tracked")
        decision = lifecycle.decide_recovery(self.book.incidents[event.data.incident_id], event, now=at(t))
        self._emit(decision.events)
        if isinstance(event, ev.RecoveryVerified):
            released = self._emit(lifecycle.release_target_holds(self.book, event, now=at(t)))
            return lifecycle.Decision([*decision.events, *released], outcome=decision.outcome)
        return decision

    def silence(self, event: ev.SilenceEvent) -> None:
        fold_silence_event(self.book, event)

    def only(self) -> IncidentState:
        assert len(self.book.incidents) == 1, list(self.book.incidents)
        return next(iter(self.book.incidents.values()))

    def of_type(self, cls: type[ev.Envelope[Any]]) -> list[ev.Envelope[Any]]:
        return [e for e in self.log if isinstance(e, cls)]


def command(cls: type[ev.Envelope[m.OperatorCommand]], incident_id: str, *, t: float, text: str = "") -> Any:
    data = m.OperatorCommand(command_id=f"c-{cls.event_type}-{t}", incident_id=incident_id, actor="alice", text=text)
    return cls.create(data, source="/tests", id_parts=(data.command_id,), time=at(t), subject=incident_id)


def decision(
    cls: type[ev.DecisionEvent], incident_id: str = "", *, t: float, actor: str = "alice", text: str = "", **fields: Any
) -> Any:
    """An operator decision command (its id from the class and ``t``; declare: the incident id derives from it)."""
    command_id = f"c-{cls.event_type.rsplit('.', 1)[-1]}-{t}"
    if cls is ev.DeclareRequested:
        incident_id = decisions.declared_incident_id(command_id)
    data = m.OperatorCommand(command_id=command_id, incident_id=incident_id, actor=actor, text=text, **fields)
    return cls.create(data, source="/tests", id_parts=(data.command_id,), time=at(t), subject=incident_id)


def silence(matchers: dict[str, str], *, start: float, end: float, sid: str = "s1") -> ev.SilenceCreated:
    data = m.Silence(
        silence_id=sid, matchers=matchers, starts_at=at(start), ends_at=at(end), author="bob", reason="maint"
    )
    return ev.SilenceCreated.create(data, source="/tests", id_parts=(sid,), time=at(start), subject=sid)


class Recorder:
    """A notification channel that records the notices it sends; ``down``: it never answers."""

    kind = "test"

    def __init__(self, name: str, *, down: bool = False) -> None:
        self.name = name
        self.down = down
        self.sent: list[str] = []

    async def send_once(self, outbound: Outbound) -> str:
        if self.down:
            await asyncio.sleep(3600)
        self.sent.append(outbound.notification_id)
        return "ok"
