"""Synthetic incident data for the rca service's unit tests (no files, no broker)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import events as ev
from shared import models as m

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FAULT_AT = 300.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def scrape(target: str, host: str, t: float, values: dict[str, float]) -> ev.MetricsObserved:
    samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
    data = m.MetricsObserved(target=target, host=host, observed_at=at(t), interval_s=2.0, samples=samples)
    return ev.MetricsObserved.create(data, source="/t", id_parts=(target, t), time=at(t), subject=target)


def metric_events(fault: str = "cpu-hog", *, until: float = 400.0, seed: int = 3) -> list[ev.MetricsObserved]:
    """Scrapes of the demo target (every 2 s) and its host (every 2 s, offset) with ``fault`` at FAULT_AT."""
    rng = random.Random(seed)
    out: list[ev.MetricsObserved] = []
    t = 0.0
    while t <= until:
        faulty = t >= FAULT_AT
        cpu = 5 + rng.gauss(0, 1) + (90 if faulty and fault == "cpu-hog" else 0)
        latency = 20 + rng.gauss(0, 1) + (400 if faulty and fault == "slow" else 0)
        errors = max(0.0, rng.gauss(0.002, 0.001)) + (0.5 if faulty and fault == "error-burst" else 0)
        up = 0.0 if faulty and fault == "crash" else 1.0
        demo = {"process.up": up, "http.up": up, "http.error_rate": errors, "http.latency_p95_ms": latency,
                "http.requests_per_s": 10 + rng.gauss(0, 0.5)}  # fmt: skip
        if up:
            demo["process.cpu_percent"] = cpu
        out.append(scrape("demo", "host-1", t, demo))
        host = {"host.cpu_percent": 20 + rng.gauss(0, 2) + (8 if faulty and fault == "cpu-hog" else 0),
                "host.memory_percent": 50 + rng.gauss(0, 0.5)}  # fmt: skip
        out.append(scrape("host:host-1", "host-1", t + 0.7, host))
        t += 2.0
    return out


def anomaly_event(signal: str, *, t: float = FAULT_AT + 4, kind: m.AnomalyKind = m.AnomalyKind.THRESHOLD,
                  samples: tuple[str, ...] = (), target: str = "demo") -> ev.AnomalyDetected:  # fmt: skip
    data = m.Anomaly(
        anomaly_id=f"an-{target}-{signal}", fingerprint=f"{target}/{signal}", kind=kind, target=target, host="host-1",
        signal=signal, impact=m.Impact.PARTIAL_FUNCTION, score=0.9, since=at(t), last_seen=at(t + 10),
        summary=f"{signal} anomalous", samples=samples, observed=95.0, threshold=90.0,
    )  # fmt: skip
    return ev.AnomalyDetected.create(data, source="/t", id_parts=(data.anomaly_id,), time=at(t))


def incident(anomaly_ids: tuple[str, ...], *, status: m.IncidentStatus = m.IncidentStatus.TRIGGERED,
             severity: m.Severity = m.Severity.MAJOR) -> m.Incident:  # fmt: skip
    return m.Incident(
        incident_id="inc-1", group_key="demo", target="demo", title="demo degraded", severity=severity,
        severity_reason="partial function loss on demo", status=status, opened_at=at(FAULT_AT + 6),
        anomaly_ids=anomaly_ids, signals=("process.cpu_percent",),
    )  # fmt: skip


def lifecycle(anomaly_ids: tuple[str, ...], *, resolve_at: float = 380.0, ack_at: float | None = 320.0,
              severity: m.Severity = m.Severity.MAJOR) -> list[ev.Envelope[Any]]:  # fmt: skip
    """Opened, notified, recovery planned/started/completed/verified, acknowledged, resolved."""
    inc = incident(anomaly_ids, severity=severity)
    tr = m.IncidentTransition
    out: list[ev.Envelope[Any]] = [
        ev.IncidentOpened.create(tr(incident=inc, reason="anomaly on demo"), source="/r", id_parts=("o",),
                                 time=at(FAULT_AT + 6), correlationid="inc-1"),
        ev.NotificationDispatched.create(
            m.NotificationRecord(notification_id="n1", incident_id="inc-1", channel="slack", team=m.Team.L1,
                                 kind="opened"), source="/r", id_parts=("n",), time=at(FAULT_AT + 7),
            correlationid="inc-1"),
    ]  # fmt: skip
    step = m.RecoveryStep(index=0, action="restart_process", target="demo")
    plan = m.RecoveryPlan(plan_id="plan-1", incident_id="inc-1", target="demo", steps=(step,), rationale="cpu")
    prog = m.RecoveryProgress(plan_id="plan-1", incident_id="inc-1", target="demo", step=step, detail="new pid 2")
    out += [
        ev.RecoveryPlanned.create(plan, source="/rec", id_parts=("p",), time=at(FAULT_AT + 8), correlationid="inc-1"),
        ev.RecoveryStepStarted.create(prog, source="/rec", id_parts=("s",), time=at(FAULT_AT + 8.5),
                                      correlationid="inc-1"),
        ev.RecoveryStepCompleted.create(prog, source="/rec", id_parts=("c",), time=at(FAULT_AT + 9),
                                        correlationid="inc-1"),
        ev.RecoveryVerified.create(prog.model_copy(update={"step": None}), source="/rec", id_parts=("v",),
                                   time=at(FAULT_AT + 30), correlationid="inc-1"),
    ]  # fmt: skip
    if ack_at is not None:
        acked = inc.model_copy(update={"status": m.IncidentStatus.ACKNOWLEDGED})
        out.append(ev.IncidentAcknowledged.create(tr(incident=acked, reason="ack", actor="alice"), source="/r",
                                                  id_parts=("a",), time=at(ack_at), correlationid="inc-1"))  # fmt: skip
    resolved = inc.model_copy(update={"status": m.IncidentStatus.RESOLVED})
    out.append(ev.IncidentResolved.create(tr(incident=resolved, reason="recovered"), source="/r", id_parts=("r",),
                                          time=at(resolve_at), correlationid="inc-1"))  # fmt: skip
    return out
