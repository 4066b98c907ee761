"""Assemble the report from an incident's events, its RCA ranking and the metrics around it (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from services.rca.report.improve import follow_ups, noisy_rules, silent_signals
from services.rca.report.model import Chart, Compliance, IncidentReport, PastIncident
from services.rca.report.plan import escalations, latency, plan, recurrence, saturation
from services.rca.report.timeline import describe, fold_notifications
from shared import events as ev
from shared import metric_names as mn
from shared.compliance import response_compliance
from shared.models import Anomaly, CauseCandidate, Incident, IncidentTransition

KEY_METRICS: Final = (mn.PROCESS_UP, mn.PROCESS_CPU, mn.HTTP_LATENCY_P95, mn.HTTP_ERROR_RATE)
MAX_CHARTS: Final = 5


@dataclass(frozen=True)
class ReportConfig:
    """Response targets per severity (seconds) and the noisy-rule limit."""

    response_targets_s: Mapping[str, float] = field(
        default_factory=lambda: {"critical": 900.0, "major": 7200.0, "minor": 14400.0}
    )
    noisy_min_firings: int = 5


def final_incident(events: Iterable[ev.Event]) -> Incident | None:
    """Return the incident as of its latest lifecycle event."""
    latest: Incident | None = None
    for event in events:
        if isinstance(event.data, IncidentTransition):
            latest = event.data.incident
    return latest


def compliance_of(incident: Incident, events: Sequence[ev.Event], config: ReportConfig) -> Compliance:
    """Measure the first human response against the target (`shared.compliance`); automatic recovery beside it."""
    target = config.response_targets_s.get(str(incident.severity), 0.0)
    verdict = response_compliance(incident, events, target)
    breached = any(isinstance(e, ev.ResponseTargetBreached) for e in events)
    return Compliance(
        str(incident.severity), target, verdict.human_s, verdict.human_by, verdict.met, breached,
        automatic_s=verdict.automatic_s, automatic_by=verdict.automatic_by, verdict=verdict.verdict.value,
    )  # fmt: skip


def recovery_outcome(events: Sequence[ev.Event]) -> tuple[str, str]:
    """Return (outcome, detail): verified, failed, running or none."""
    for event in reversed(events):
        if isinstance(event, ev.RecoveryVerified):
            return "verified", event.data.detail
        if isinstance(event, ev.RecoveryFailed):
            return "failed", event.data.detail
    if any(isinstance(e, ev.RecoveryPlanned) for e in events):
        return "running", ""
    return "none", ""


def pick_charts(
    incident: Incident,
    ranking: Sequence[CauseCandidate],
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    span: tuple[float, float],
    anomaly_span: tuple[float, float],
    marks: Mapping[str, tuple[float, ...]],
) -> tuple[Chart, ...]:
    """Choose the key series: the top candidates' signals, then the target's health metrics."""
    names: list[str] = []
    for cand in ranking[:3]:
        name = f"{cand.entity}|{cand.signal}"
        if name in series and name not in names:
            names.append(name)
    for metric in KEY_METRICS:
        name = f"{incident.target}|{metric}"
        if name in series and name not in names:
            names.append(name)
    return tuple(
        Chart(
            series=name, points=tuple(series[name]), start=span[0], end=span[1], anomaly_start=anomaly_span[0],
            anomaly_end=anomaly_span[1], marks=marks.get(name, ()),
        )
        for name in names[:MAX_CHARTS]
    )  # fmt: skip


def build_report(
    events: Sequence[ev.Event],
    *,
    ranking: Sequence[CauseCandidate],
    series: Mapping[str, Sequence[tuple[float, float]]],
    all_anomalies: Iterable[Anomaly] = (),
    incident_anomaly_ids: set[str] | None = None,
    config: ReportConfig | None = None,
    past: Sequence[PastIncident] = (),
    now: datetime,
) -> IncidentReport:
    """Build the report of the incident the lifecycle ``events`` describe (events of every topic, any order)."""
    config = config or ReportConfig()
    ordered = sorted(events, key=lambda e: e.time)
    incident = final_incident(ordered)
    if incident is None:
        raise ValueError("no incident lifecycle event among the events")
    resolved = next((e.time for e in reversed(ordered) if isinstance(e, ev.IncidentResolved)), None)
    anomalies = [e.data for e in ordered if isinstance(e.data, Anomaly)]
    impact_start = min([a.since for a in anomalies] + [incident.opened_at])
    verified = next((e.time for e in ordered if isinstance(e, ev.RecoveryVerified)), None)
    impact_end = verified or resolved
    compliance = compliance_of(incident, ordered, config)
    recovery, detail = recovery_outcome(ordered)
    end = (resolved or now).timestamp()
    newest = max((points[-1][0] for points in series.values() if points), default=end)
    if resolved is None:
        end = max(min(end, newest), incident.opened_at.timestamp())
    start = impact_start.timestamp() - max((end - impact_start.timestamp()), 60.0)
    oldest = min((points[0][0] for points in series.values() if points), default=start)
    start = min(max(start, oldest), impact_start.timestamp())
    marks: dict[str, list[float]] = {}
    for a in anomalies:
        marks.setdefault(f"{a.target}|{a.signal}", []).append(a.since.timestamp())
        marks.setdefault(f"{a.host}|{a.signal}", []).append(a.since.timestamp())
    charts = pick_charts(
        incident, ranking, series, span=(start, end + 0.1 * (end - start)),
        anomaly_span=(impact_start.timestamp(), (impact_end or now).timestamp()),
        marks={k: tuple(v) for k, v in marks.items()},
    )  # fmt: skip
    impact_span = (impact_start.timestamp(), (impact_end or resolved or now).timestamp())
    escalated = [str(e.data.team) for e in ordered if isinstance(e, ev.IncidentEscalated) and e.data.team]
    improvements = plan(
        [
            *noisy_rules(all_anomalies, incident_anomaly_ids or set(), min_firings=config.noisy_min_firings),
            *silent_signals(ranking, anomalies, series, anomaly_start=impact_start.timestamp()),
            *saturation(series, span=impact_span),
            *latency(series, incident.target, span=impact_span),
            *recurrence(incident, ranking, past),
            *escalations(escalated),
            *follow_ups(incident, ranking, compliance, recovery, detail),
        ],
        incident,
        opened_at=incident.opened_at,
        window=(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)),
    )
    fault = next((e.data.fault for e in ordered if isinstance(e, ev.FaultInjected)), None)
    return IncidentReport(
        incident=incident, opened_at=incident.opened_at, resolved_at=resolved, impact_start=impact_start,
        impact_end=impact_end, timeline=tuple(fold_notifications(describe(e) for e in ordered)),
        compliance=compliance, ranking=tuple(ranking), charts=charts, improvements=improvements, recovery=recovery,
        generated_at=now, fault=fault, past=tuple(past),
    )  # fmt: skip
