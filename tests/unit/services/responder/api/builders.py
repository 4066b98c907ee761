"""Incident-side event builders for the API's tests (anomalies come from tests.factories)."""

from __future__ import annotations

from typing import Any

from shared import events as ev
from shared import models as m
from tests.factories import anomaly, at

__all__ = ["anomaly", "at", "command", "fault", "incident", "notification", "rca", "recovery_step", "transition"]


def incident(
    incident_id: str = "inc-1",
    *,
    target: str = "demo",
    severity: m.Severity = m.Severity.MAJOR,
    status: m.IncidentStatus = m.IncidentStatus.TRIGGERED,
    anomaly_ids: tuple[str, ...] = ("an-demo-cpu_percent",),
    t: float = 0.0,
) -> m.Incident:
    return m.Incident(
        incident_id=incident_id,
        group_key=f"service={target}",
        target=target,
        title=f"{target} is unhealthy",
        severity=severity,
        severity_reason="cpu saturation",
        status=status,
        opened_at=at(t),
        anomaly_ids=anomaly_ids,
        signals=("cpu_percent",),
        impacts=(m.Impact.RESOURCE_PRESSURE,),
    )


def transition(
    cls: type[ev.Envelope[m.IncidentTransition]],
    inc: m.Incident,
    *,
    t: float,
    actor: str = "responder",
    reason: str = "",
    team: m.Team | None = None,
    step: int | None = None,
) -> ev.Envelope[m.IncidentTransition]:
    data = m.IncidentTransition(incident=inc, reason=reason, actor=actor, team=team, escalation_step=step)
    return cls.create(
        data,
        source="/services/responder",
        id_parts=(inc.incident_id, cls.event_type, t),
        time=at(t),
        subject=inc.incident_id,
        correlationid=inc.incident_id,
    )


def notification(incident_id: str, *, t: float, cls: type[ev.Envelope[Any]] = ev.NotificationDelivered) -> Any:
    data = m.NotificationRecord(
        notification_id=f"n-{incident_id}-{t}", incident_id=incident_id, channel="log", team=m.Team.L1, kind="page"
    )
    return cls.create(data, source="/services/responder", id_parts=(data.notification_id, cls.event_type),
                      time=at(t), correlationid=incident_id)  # fmt: skip


def recovery_step(incident_id: str, *, t: float, ok: bool = True) -> ev.RecoveryStepCompleted:
    step = m.RecoveryStep(index=0, action="restart_process", target="demo")
    data = m.RecoveryProgress(plan_id="plan-1", incident_id=incident_id, target="demo", step=step, ok=ok)
    return ev.RecoveryStepCompleted.create(data, source="/services/recovery", id_parts=(incident_id, t),
                                           time=at(t), correlationid=incident_id)  # fmt: skip


def rca(incident_id: str, *, t: float, report_path: str | None = None) -> ev.RootCauseIdentified:
    cand = m.CauseCandidate(entity="demo", signal="cpu_percent", score=0.92, evidence="cpu 99% from 12:00:01")
    data = m.RootCauseAnalysis(incident_id=incident_id, target="demo", window_start=at(t - 60), window_end=at(t),
                               ranking=(cand,), report_path=report_path)  # fmt: skip
    return ev.RootCauseIdentified.create(data, source="/services/rca", id_parts=(incident_id,), time=at(t),
                                         correlationid=incident_id)  # fmt: skip


def command(incident_id: str, *, t: float, cls: type[ev.Envelope[m.OperatorCommand]] = ev.AcknowledgeRequested) -> Any:
    data = m.OperatorCommand(command_id=f"cmd-{t}", incident_id=incident_id, actor="alice")
    return cls.create(data, source="/tests", id_parts=(incident_id, t), time=at(t), correlationid=incident_id)


def fault(target: str = "demo", *, t: float, name: str = "cpu-hog") -> ev.FaultInjected:
    data = m.FaultInjected(fault=name, target=target)
    return ev.FaultInjected.create(data, source="/tests", id_parts=(target, name, t), time=at(t), subject=target)
