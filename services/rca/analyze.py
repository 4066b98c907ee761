"""One RCA run: incident window -> case -> engine ranking -> RootCauseIdentified, plus its report."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from services.rca.domain import Candidate, RcaConfig, RcaError, Topology, rank_causes
from services.rca.domain.ranking import HINT_SIGNAL
from services.rca.gather import Window, build_case, incident_window
from services.rca.report.build import ReportConfig, build_report
from services.rca.report.collect import IncidentHistory
from services.rca.report.model import IncidentReport
from services.rca.store import StoredAnomaly, WindowStore
from shared import events as ev
from shared.models import CauseCandidate, Incident, IncidentStatus, RootCauseAnalysis

log = logging.getLogger(__name__)
SIGNAL_DEPTH = ("process.", "log:", "host.", "http.")


@dataclass(frozen=True)
class Analysis:
    """The window analysed and the ranked causes."""

    window: Window
    ranking: tuple[CauseCandidate, ...]


def analyse(
    store: WindowStore,
    incident: Incident,
    *,
    end: float,
    lookback_s: float,
    top: int,
    anomaly_since: Iterable[float],
    recovery_started: float | None = None,
    recovery_verified: bool = False,
    config: RcaConfig | None = None,
    topology: Topology | None = None,
    others: Iterable[Incident] = (),
) -> Analysis:
    """Rank the causes of ``incident`` from the store's data in its window (engine errors give no ranking).

    The window ends at ``end``, at the newest sample the store holds, or when the first recovery
    began (`Recoveries`), whichever is earliest: what a restart does to the target (a moment down, CPU
    back to idle) is a consequence of the recovery, never a cause of the incident. For the same
    reason anomalies that began during any recovery step on their target, and those of an earlier
    incident of the same target that had finished before this one opened (``others``), give no
    evidence, and a candidate naming only such signals goes to the end of the ranking.
    """
    opened = incident.opened_at.timestamp()
    end = min(end, max(store.latest, opened))
    began = recovery_began(store, incident, recovery_started, verified=recovery_verified)
    if began is not None:
        end = min(end, max(began, opened))
    window = incident_window(opened_at=opened, anomaly_since=anomaly_since, end=end, lookback_s=lookback_s)
    excluded = not_evidence(store, incident, others)
    case = build_case(store, window, topology=topology, exclude=excluded)
    try:
        found = rank_causes(case, config=config) if case.metrics.columns or case.logs or case.hints else []
    except (RcaError, ValueError, FloatingPointError) as exc:
        log.warning("rca engine failed for %s: %s", incident.incident_id, exc)
        found = []
    kept = [s for s in store.anomalies_between(window.start, window.end) if s.anomaly.anomaly_id not in excluded]
    hints = strongest_hints(kept)
    ranked = [c for c in found if c.score > 0] or found
    ranking = demote(
        [_candidate(c, hints.get(c.entity)) for c in ranked],
        dropped=[store.anomalies[a] for a in excluded if a in store.anomalies],
        kept=kept,
        hints=strongest_hints(s for s in kept if s.anomaly.anomaly_id in incident.anomaly_ids),
    )
    return Analysis(window, tuple(ranking[:top]))


def recovery_began(
    store: WindowStore, incident: Incident, started: float | None, *, verified: bool = False
) -> float | None:
    """When a recovery began on the incident's target, as its data shows it: the window ends just before.

    ``started``: when the incident's recovery was planned or first acted (`Recoveries`). Earlier if an
    anomaly the responder put down to a recovery (``recovery_caused``; once the incident's recovery
    verified, also the outages whose rise it holds, about to be dropped as the recovery's doing)
    began before that: a scrape is stamped when it begins, so one begun just before the plan can
    see the restart.
    """
    cured = (*incident.recovery_caused, *(incident.held_by if verified else ()))
    marks = [store.anomalies[a].anomaly.since.timestamp() - CURE_LEAD_S for a in cured if a in store.anomalies]
    return min((t for t in (started, *marks) if t is not None), default=None)


CURE_LEAD_S: Final = 0.001
"""The window ends this long before the first sample a recovery caused (window bounds are inclusive)."""


def not_evidence(store: WindowStore, incident: Incident, others: Iterable[Incident]) -> set[str]:
    """Return the ids of anomalies that are no evidence of ``incident``'s cause.

    Those a recovery step caused (the store's rule, or marked so on the incident by the responder),
    and those of another incident of the same target whose signals had all cleared before this
    one opened (an earlier fault, already over).
    """
    caused = {a for a, s in store.anomalies.items() if store.caused_by_recovery(s)} | set(incident.recovery_caused)
    earlier = {
        a
        for other in others
        if other.incident_id != incident.incident_id
        and other.target == incident.target
        and _finished_by(other, incident.opened_at)
        for a in other.anomaly_ids
    }
    return caused | (earlier - set(incident.anomaly_ids))


def _finished_by(incident: Incident, at: datetime) -> bool:
    if incident.cleared_at is not None and not incident.active_fingerprints:
        return incident.cleared_at <= at
    return incident.status is IncidentStatus.RESOLVED and (incident.updated_at or incident.opened_at) <= at


def demote(
    ranking: list[CauseCandidate],
    *,
    dropped: Iterable[StoredAnomaly],
    kept: Iterable[StoredAnomaly],
    hints: Mapping[str, StoredAnomaly] | None = None,
) -> list[CauseCandidate]:
    """Move candidates that name only signals of dropped anomalies (entity and signal) to the end.

    A candidate whose named signal is dropped but that has live evidence of this very incident
    (``hints``: the strongest kept anomaly of the incident's own, per entity) keeps its place, named
    by it: a restart for another incident of the target must not hide the target's own cause (a table
    dropped while a restart answered the write errors it caused). Another entity's live anomalies do
    not save it: they may be symptoms of this incident's cause.
    """
    live = {name for s in kept for name in _names(s)}
    gone = {name for s in dropped for name in _names(s)} - live
    first, last = [], []
    for c in ranking:
        hint = (hints or {}).get(c.entity)
        if (c.entity, c.signal) not in gone:
            first.append(c)
        elif hint is not None:
            evidence = f"flagged by the live detector: {hint.anomaly.summary}; its {c.signal}: {DEMOTED}"
            first.append(c.model_copy(update={"signal": hint.display_signal, "evidence": evidence}))
        else:
            last.append(c.model_copy(update={"evidence": f"{c.evidence}; {DEMOTED}"}))
    return first + last


def _names(stored: StoredAnomaly) -> tuple[tuple[str, str], ...]:
    return (stored.entity, stored.anomaly.signal), (stored.entity, stored.display_signal)


DEMOTED = "caused by a recovery action or an earlier fault: not a root cause of this incident"


def strongest_hints(anomalies: Iterable[StoredAnomaly]) -> dict[str, StoredAnomaly]:
    """Return each entity's strongest detector anomaly: peak score, then the deeper signal, then the earliest.

    On a tie a process signal wins over a log pattern, a host metric and an HTTP probe, in that order:
    the process is closer to the cause than the endpoint it serves.
    """
    best: dict[str, StoredAnomaly] = {}
    for s in anomalies:
        known = best.get(s.entity)
        if known is None or _hint_key(s) < _hint_key(known):
            best[s.entity] = s
    return best


def _hint_key(s: StoredAnomaly) -> tuple[float, int, float]:
    signal = s.anomaly.signal
    depth = next((i for i, p in enumerate(SIGNAL_DEPTH) if signal.startswith(p)), len(SIGNAL_DEPTH))
    return (-s.peak_score, depth, s.anomaly.since.timestamp())


def _candidate(found: Candidate, hint: StoredAnomaly | None) -> CauseCandidate:
    """Convert an engine candidate; one ranked on the detector's word alone names the detector's signal."""
    signal, evidence = found.signal, found.evidence
    if signal == HINT_SIGNAL and hint is not None:
        signal = hint.display_signal
        evidence = f"{evidence}; detector: {hint.anomaly.summary}"
    score = found.score if math.isfinite(found.score) else 0.0
    return CauseCandidate(entity=found.entity, signal=signal, score=score, evidence=evidence)


def incident_anomaly_since(store: WindowStore, incident: Incident) -> list[float]:
    """Start times of the incident's anomalies the store knows."""
    return [store.anomalies[a].anomaly.since.timestamp() for a in incident.anomaly_ids if a in store.anomalies]


def rca_event(
    incident: Incident, analysis: Analysis, *, trigger: ev.Event, source: str, report_path: Path | None
) -> ev.RootCauseIdentified:
    """The RCA result event; its id derives from the incident and the triggering event (idempotent)."""
    data = RootCauseAnalysis(
        incident_id=incident.incident_id,
        target=incident.target,
        window_start=datetime.fromtimestamp(analysis.window.start, UTC),
        window_end=datetime.fromtimestamp(analysis.window.end, UTC),
        ranking=analysis.ranking,
        report_path=str(report_path) if report_path else None,
    )
    return ev.RootCauseIdentified.create(
        data, source=source, id_parts=(incident.incident_id, trigger.id), correlationid=incident.incident_id,
        causation=trigger, subject=incident.target,
    )  # fmt: skip


def report_of(
    history: IncidentHistory,
    store: WindowStore,
    *,
    ranking: tuple[CauseCandidate, ...],
    window: Window,
    config: ReportConfig,
    extra: Iterable[ev.Event] = (),
    until: float | None = None,
    now: datetime,
) -> IncidentReport:
    """Build the report from the incident's history, the ranking and the store's metrics (charts to ``until``)."""
    known = {e.id for e in history.events}
    events = history.events + [e for e in extra if e.id not in known]
    last = max(until or window.end, window.end)
    series = store.window(window.start, last + max(last - window.anomaly_start, 60.0))
    return build_report(
        events, ranking=ranking, series=series, all_anomalies=history.anomalies.values(),
        incident_anomaly_ids=history.incident_anomaly_ids, config=config, past=history.past, now=now,
    )  # fmt: skip
