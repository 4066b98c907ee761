"""The improvement plan as the manual's 5.2 list, and each of its items as a follow-up action.

Sections and topics (the manual's order): monitoring (thresholds, alert rules, resource
optimisation), system (architecture, performance, automation), process (reports and documentation,
procedures, training). A topic is filled from the incident's data where it can be: threshold and rule
suggestions from the detector's evidence (`services.rca.report.improve`), resources from saturation
(CPU, memory or disk near the manual's 90 % limit in the impact window), performance from latency
against its level before the incident, architecture from recurrence (earlier incidents of the same
target with the same top cause, from the RCA results on the topic), automation from the recovery's
outcome, procedures from missed targets and escalations. A topic the data says nothing about gets a
prompt for its owner to fill in.

Owners follow the manual's tiers: L1 (operations, on call) for monitoring and process, L2 (service
engineers) for resources, performance and automation, L3 (development, architecture) for design
defects and recurrence. The due date follows the severity (Critical 7 days, Major 14, Minor 30 after
the incident opened: the same on every re-analysis, so an unchanged plan publishes no new events); an
item the incident itself shows settled (a verified recovery) is done.

A threshold item with a suggested value (a noisy rule's raised limit, a silent signal's new rule)
carries the what-if that tests it on the incident's own window (`whatif`): the ``incidentctl replay
--into whatif-<id>. --from <start> --to <end> --config <dir>`` command and the one change to make in
that folder's ``detector.yaml`` (README, "What-if").
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from services.rca.report.model import Improvement, PastIncident
from shared import metric_names as mn
from shared.ids import short_id
from shared.models import CauseCandidate, Incident

SECTIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("monitoring", ("thresholds", "alert_rules", "resources")),
    ("system", ("architecture", "performance", "automation")),
    ("process", ("documentation", "procedures", "training")),
)
SECTION_OF: Final = {topic: section for section, topics in SECTIONS for topic in topics}
OWNERS: Final = {
    "thresholds": "L1", "alert_rules": "L1", "resources": "L2", "architecture": "L3", "performance": "L2",
    "automation": "L2", "documentation": "L1", "procedures": "L1", "training": "L1",
}  # fmt: skip
TOPIC_OF_KEY: Final = {
    "noisy_threshold": "thresholds", "silent_signal_threshold": "thresholds", "noisy_rule": "alert_rules",
    "silent_signal": "alert_rules", "resource_saturation": "resources", "investigate": "architecture",
    "recurring": "architecture", "recurrence": "architecture", "latency_degraded": "performance",
    "recovery_failed": "automation", "no_recovery": "automation", "recovery_worked": "automation",
    "response_missed": "procedures", "escalated": "procedures", "postmortem": "documentation",
}  # fmt: skip
DUE_DAYS: Final = {"critical": 7, "major": 14, "minor": 30}
SATURATION_METRICS: Final = (mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.PROCESS_CPU)
LIMIT_PERCENT: Final = 90.0
NEAR_SHARE: Final = 0.85
"""A resource counts as saturated from 85 % of the manual's 90 % limit (76.5 %) on."""
LATENCY_RATIO: Final = 2.0


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def saturation(series: Mapping[str, Sequence[tuple[float, float]]], *, span: tuple[float, float]) -> list[Improvement]:
    """CPU, memory or disk series whose peak in the impact window came near the 90 % limit."""
    out: list[Improvement] = []
    for name in sorted(series):
        entity, _, metric = name.partition("|")
        if metric not in SATURATION_METRICS:
            continue
        during = [v for t, v in series[name] if span[0] <= t <= span[1] and math.isfinite(v)]
        if during and max(during) >= NEAR_SHARE * LIMIT_PERCENT:
            params = {"entity": entity, "metric": metric, "peak": _fmt(max(during)), "limit": _fmt(LIMIT_PERCENT)}
            out.append(Improvement("resources", "resource_saturation", params))
    return out


def latency(
    series: Mapping[str, Sequence[tuple[float, float]]], target: str, *, span: tuple[float, float]
) -> list[Improvement]:
    """The target's p95 latency when its peak in the impact window was at least twice its usual level before."""
    points = series.get(f"{target}|{mn.HTTP_LATENCY_P95}", ())
    before = [v for t, v in points if t < span[0] and math.isfinite(v)]
    during = [v for t, v in points if span[0] <= t <= span[1] and math.isfinite(v)]
    if not before or not during:
        return []
    usual, peak = statistics.median(before), max(during)
    if usual <= 0 or peak < LATENCY_RATIO * usual:
        return []
    params = {"entity": target, "before": _fmt(usual), "peak": _fmt(peak), "ratio": f"{peak / usual:.1f}"}
    return [Improvement("performance", "latency_degraded", params)]


def recurrence(
    incident: Incident, ranking: Sequence[CauseCandidate], past: Iterable[PastIncident]
) -> list[Improvement]:
    """Earlier incidents of the same target with the same top cause: a design defect, not bad luck."""
    if not ranking:
        return []
    top = ranking[0]
    same = sorted(
        (p for p in past if p.incident_id != incident.incident_id and p.target == incident.target
         and (p.entity, p.signal) == (top.entity, top.signal) and p.at < incident.opened_at),
        key=lambda p: p.at,
    )  # fmt: skip
    if not same:
        return []
    params = {"count": str(len(same)), "entity": top.entity, "signal": top.signal, "target": incident.target,
              "previous": ", ".join(p.incident_id for p in same[-3:])}  # fmt: skip
    return [Improvement("architecture", "recurrence", params)]


def escalations(teams: Sequence[str]) -> list[Improvement]:
    """The incident went past L1: the escalation path and the first responders' runbook deserve a look."""
    if not teams:
        return []
    return [Improvement("procedures", "escalated", {"teams": ", ".join(dict.fromkeys(teams))})]


WHATIF_KEYS: Final = {"noisy_threshold": "whatif_set", "silent_signal_threshold": "whatif_add"}
"""Plan items whose suggested threshold a what-if replay can test, and the sentence that says how."""
STACK_DIR: Final = ".stack"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whatif(item: Improvement, incident_id: str, window: tuple[datetime, datetime]) -> Improvement:
    """``item`` with the what-if that tests its suggested threshold on ``window`` (unchanged if it has none).

    Adds ``whatif_key`` (the sentence), ``config`` (the folder to fill: a copy of the stack's config
    with the one change), ``change`` (that change, YAML for ``detector.yaml``) and ``command``.
    """
    sentence = WHATIF_KEYS.get(item.key)
    if sentence is None or "suggested" not in item.params:
        return item
    p = item.params
    if item.key == "noisy_threshold":
        if not p.get("rule_name"):
            return item
        change = f"value: {p['suggested']}"
    else:
        name = f"whatif-{_UNSAFE.sub('-', p['signal'])}"
        change = (
            f'- {{name: {name}, metric: {p["signal"]}, op: "{p["op"]}", value: {p["suggested"]}, '
            f"targets: {p['entity']}, impact: partial_outage}}"
        )
    safe = _UNSAFE.sub("-", incident_id).strip("-")[:50] or "incident"
    prefix, config = f"whatif-{safe}.", f"{STACK_DIR}/whatif-{safe}/"
    start = window[0].replace(microsecond=0)
    end = (window[1] + timedelta(seconds=1)).replace(microsecond=0)  # --to is exclusive: keep the last scrape
    command = f"incidentctl replay --into {prefix} --from {_instant(start)} --to {_instant(end)} --config {config}"
    added = {"whatif_key": sentence, "stack": STACK_DIR, "config": config, "change": change, "command": command}
    return replace(item, params={**p, **added})


def plan(
    items: Iterable[Improvement], incident: Incident, *, opened_at: datetime,
    due_days: Mapping[str, int] = DUE_DAYS, window: tuple[datetime, datetime] | None = None,
) -> tuple[Improvement, ...]:  # fmt: skip
    """Place ``items`` in the 5.2 list, add a prompt to every topic left empty, make each a follow-up action.

    With the incident's ``window`` (the span the report charts), a threshold suggestion carries the
    what-if replay that tests it (`whatif`).
    """
    due = opened_at + timedelta(days=due_days.get(str(incident.severity), 30))
    by_topic: dict[str, list[Improvement]] = {topic: [] for topic in SECTION_OF}
    for item in items:
        if window is not None:
            item = whatif(item, incident.incident_id, window)
        topic = TOPIC_OF_KEY.get(item.key, item.category)
        by_topic.setdefault(topic, []).append(item)
    out: list[Improvement] = []
    for topic, found in by_topic.items():
        if not found:
            found = [Improvement(topic, f"prompt_{topic}", {"target": incident.target}, prompt=True)]
        for item in found:
            state = "done" if item.key == "recovery_worked" else item.state
            out.append(
                replace(
                    item, category=topic, section=SECTION_OF.get(topic, "process"), owner=OWNERS.get(topic, "L1"),
                    due=due, state=state, action_id=action_id(incident.incident_id, item),
                )
            )  # fmt: skip
    return tuple(out)


def action_id(incident_id: str, item: Improvement) -> str:
    """A follow-up's id, stable across re-analyses of the incident: its key and what it is about."""
    about = [item.params.get(k, "") for k in ("entity", "signal", "rule", "metric")]
    return short_id("act", incident_id, item.key, *about)
