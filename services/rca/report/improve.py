"""Improvement plan computed from the data: noisy rules with threshold suggestions, silent signals, follow-ups.

A rule (target, signal, detector kind) that fired many times without ever being part of an
incident is noise: its suggested threshold is just above the largest value it fired on, so those
firings would not have happened. A top root-cause signal no anomaly was raised on is silent: its
suggested threshold lies halfway between its highest pre-incident value and its incident peak.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from services.rca.report.model import Compliance, Improvement
from shared.models import Anomaly, CauseCandidate, Incident

NOISY_SHARE = 0.2
SILENT_MIN_SHARE = 0.5
"""A candidate is a silent signal only if it scores at least this share of the top candidate."""


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def noisy_rules(anomalies: Iterable[Anomaly], incident_anomaly_ids: set[str], *, min_firings: int) -> list[Improvement]:
    """Rules that fired at least ``min_firings`` times with (almost) no incident, with a threshold suggestion."""
    groups: dict[tuple[str, str, str], list[Anomaly]] = defaultdict(list)
    for a in anomalies:
        groups[(a.target, a.signal, str(a.kind))].append(a)
    out: list[Improvement] = []
    for (target, signal, kind), firings in sorted(groups.items()):
        linked = sum(1 for a in firings if a.anomaly_id in incident_anomaly_ids)
        if len(firings) < min_firings or linked > NOISY_SHARE * len(firings):
            continue
        params = {"rule": f"{target} {signal} ({kind})", "fired": str(len(firings)), "linked": str(linked)}
        observed = [a.observed for a in firings if a.observed is not None and math.isfinite(a.observed)]
        thresholds = [a.threshold for a in firings if a.threshold is not None]
        if observed:
            down = firings[-1].direction == "down"
            edge = min(observed) if down else max(observed)
            suggested = edge * (0.9 if down else 1.1) if edge else 0.0
            params |= {"current": _fmt(thresholds[-1]) if thresholds else "?", "suggested": _fmt(suggested)}
            if rule_name := firings[-1].labels.get("rule", ""):
                params["rule_name"] = rule_name
            out.append(Improvement("threshold", "noisy_threshold", params))
        else:
            out.append(Improvement("noisy", "noisy_rule", params))
    return out


def silent_signals(
    ranking: Sequence[CauseCandidate],
    incident_anomalies: Iterable[Anomaly],
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    anomaly_start: float,
    top: int = 3,
) -> list[Improvement]:
    """Strong top-ranked metric signals no anomaly was raised on, with a threshold computed from their data.

    A weak runner-up (below half the top candidate's score) is not evidence that an alert is
    missing: suggesting a rule for it would only add noise.
    """
    alerted = {(a.target, a.signal) for a in incident_anomalies} | {("", a.signal) for a in incident_anomalies}
    out: list[Improvement] = []
    floor = SILENT_MIN_SHARE * ranking[0].score if ranking else 0.0
    for cand in ranking[:top]:
        if cand.signal.startswith("log:") or cand.score <= 0 or cand.score < floor:
            continue
        if (cand.entity, cand.signal) in alerted or any(cand.signal.endswith(s) for _, s in alerted if s):
            continue
        points = series.get(f"{cand.entity}|{cand.signal}", ())
        before = [v for t, v in points if t < anomaly_start and math.isfinite(v)]
        during = [v for t, v in points if t >= anomaly_start and math.isfinite(v)]
        params = {"entity": cand.entity, "signal": cand.signal}
        high, low = (max(before), min(before)) if before else (0.0, 0.0)
        peak_up, peak_down = (max(during), min(during)) if during else (high, low)
        if before and during and (peak_up > high or peak_down < low):  # a bound only where the data left its range
            if peak_up - high >= low - peak_down:
                params |= {"op": ">", "suggested": _fmt((high + peak_up) / 2)}
            else:
                params |= {"op": "<", "suggested": _fmt((low + peak_down) / 2)}
            out.append(Improvement("silent", "silent_signal_threshold", params))
        else:
            out.append(Improvement("silent", "silent_signal", params))
    return out


def follow_ups(
    incident: Incident, ranking: Sequence[CauseCandidate], compliance: Compliance, recovery: str, recovery_detail: str
) -> list[Improvement]:
    """Follow-up actions from the incident's course."""
    out: list[Improvement] = []
    if ranking:
        top = ranking[0]
        out.append(Improvement("follow-up", "investigate", {"entity": top.entity, "signal": top.signal}))
    if recovery == "failed":
        out.append(Improvement("follow-up", "recovery_failed", {"detail": recovery_detail or "-"}))
    elif recovery == "none":
        out.append(Improvement("follow-up", "no_recovery", {"target": incident.target}))
    elif recovery == "verified":
        out.append(Improvement("follow-up", "recovery_worked", {"target": incident.target}))
    if compliance.met is False:
        params = {"severity": compliance.severity, "target": _fmt(compliance.target_s)}
        out.append(Improvement("follow-up", "response_missed", params))
    if incident.previous_incident_id:
        out.append(Improvement("follow-up", "recurring", {"previous": incident.previous_incident_id}))
    out.append(Improvement("follow-up", "postmortem", {"target": incident.target}))
    return out
