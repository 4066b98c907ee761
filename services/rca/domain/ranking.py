"""Rank root-cause candidates of an incident: metric deviations, propagation, logs, hints combined.

Steps: (1) score every metric column against its own history (robust scale, running median,
significance plus effect size), discount columns that other entities' columns predict when the
history is long enough (cross-entity invariants), and fold the columns into one score per entity;
(2) when the topology is known, discount entities whose deviation is explained by something they
depend on (propagation) -- without a topology this step is skipped: guessing who calls whom from a
few incident samples misled more than it helped on the development cases; (3) weigh the leading
candidates by the absolute excess work (failed requests, waiting time) they added, which a call path
conserves while relative deviations grow on callers (impact), and put a leading candidate right
behind a deeper one whose excess covers its own, in total and per request (conservation; depth from
the topology, else from nested names and usual latency; busy threads count as the latency behind
them, waiting.py), and likewise behind a candidate whose own fault-event counter (retransmits,
drops, restarts) rose (fault_events), and a slow caller behind a deeper entity whose latency rose
with it where no excess work ties them (depth_cover: network delay and loss show on the callers);
(4) add log evidence (new error templates) and the live detector's hints, then put every symptom
back behind its cause (its callers' timeout logs must not lift it above it); (5) give a small bonus
to a strong candidate that deviated clearly first; (6) write the evidence a human can check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from services.rca.domain.config import RcaConfig
from services.rca.domain.conservation import apply_covers, apply_scores, find_covers
from services.rca.domain.depth import depth_order
from services.rca.domain.depth_cover import find_depth_covers
from services.rca.domain.entity_score import EntityScore, sampling_interval, scan_start, score_entities
from services.rca.domain.fault_events import find_event_causes
from services.rca.domain.impact import excess_work, weigh_by_impact
from services.rca.domain.log_evidence import LogFinding, MergingMiner, TemplateMiner, find_log_evidence
from services.rca.domain.model import Candidate, Case
from services.rca.domain.outage import Outage, before_outages, explained_by_outage, find_outages, outage_score
from services.rca.domain.propagation import Explanation, discount_explained, downstream
from services.rca.domain.signals import MetricKind

_FAILING: Final = frozenset({MetricKind.LATENCY, MetricKind.ERRORS, MetricKind.SUCCESS_SHARE})
HINT_SIGNAL: Final = "detector-hint"
"""Signal name of a candidate ranked only on a live detector's anomaly."""


@dataclass(frozen=True)
class _Draft:
    entity: str
    score: float
    metrics: EntityScore | None
    log: LogFinding | None
    hint: float
    onset: float | None
    outage: Outage | None = None


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M:%S UTC")


def _format_value(value: float) -> str:
    return f"{value:.4g}"


def _metric_phrase(entity: EntityScore) -> str:
    signal = entity.best
    result = signal.result
    shown_base, shown_peak = result.baseline, result.peak
    if result.full_scale is not None:
        moved = "fell" if result.direction > 0 else "rose"
        shown_base, shown_peak = result.full_scale - result.baseline, result.full_scale - result.peak
    else:
        moved = "rose" if result.direction > 0 else "fell"
    size = (
        f"{result.ratio:.1f}×"
        if signal.kind not in (MetricKind.SUCCESS_SHARE, MetricKind.ERRORS)
        and result.ratio >= 1.5
        and result.baseline > 0
        and result.peak > 0
        else f"from {_format_value(shown_base)} to {_format_value(shown_peak)}"
    )
    shown_z = f"robust z {result.z:.1f}" if result.z < 1000 else "robust z > 1000"
    phrase = f"{signal.metric} {moved} {size} ({shown_z})"
    if result.onset is not None:
        phrase += f" at {_clock(result.onset)}"
    return phrase


def _evidence(
    draft: _Draft, lead_s: float | None, explanation: Explanation | None, impact: str | None, cover: str | None
) -> str:
    parts: list[str] = []
    if draft.metrics is not None:
        phrase = _metric_phrase(draft.metrics)
        if lead_s is not None and lead_s > 0:
            phrase += f", {lead_s:.0f} s before any other entity"
        others = [s.metric for s in draft.metrics.signals[1:4] if s.result.z >= 3.0]
        if others:
            phrase += f"; also {', '.join(others)}"
        parts.append(phrase)
    if draft.outage is not None:
        o = draft.outage
        parts.insert(0, f"stopped: {o.silenced} of {o.judged} series missing or at zero from {_clock(o.onset)}")
    if draft.log is not None and draft.log.quiet:
        parts.append(f"its logging went quiet ({draft.log.count} lines, {draft.log.share:.0%} fewer than usual)")
    elif draft.log is not None:
        kind = "error-log template" if draft.log.is_error else "log template"
        how = "appeared" if draft.log.is_new else "surged"
        when = _clock(draft.log.first_seen)
        size = f"{draft.log.count} lines, {draft.log.share:.0%} of its logging"
        parts.append(f"its {kind} `{draft.log.template[:120]}` {how} at {when} ({size})")
    if draft.hint > 0:
        parts.append(f"flagged by the live detector (score {draft.hint:.2f})")
    if impact is not None:
        parts.append(impact)
    if explanation is not None:
        parts.append(f"partly explained by {explanation.by_entity} ({explanation.metric})")
    if cover is not None:
        parts.append(cover)
    return "; ".join(parts) if parts else "no deviation found"


@dataclass(frozen=True)
class _MetricFindings:
    """Steps (1)-(3): entity scores, discounted, weighed by impact, symptoms put behind their causes."""

    entities: list[EntityScore]
    explanations: dict[str, Explanation]  # entity -> what it depends on that explains its deviation
    impact_notes: dict[str, str]
    covers: dict[str, str]  # symptom -> cause, by conservation of excess work or by fault events
    notes: dict[str, str]  # symptom -> why it is one


@dataclass(frozen=True)
class _Notes:
    """What the evidence of a candidate says beside its own deviation."""

    explanations: dict[str, Explanation]
    impact: dict[str, str]
    symptom_of: dict[str, str]  # symptom -> why it is one

    def evidence(self, draft: _Draft, lead_s: float | None) -> str:
        """Return the evidence text of `draft`."""
        name = draft.entity
        return _evidence(draft, lead_s, self.explanations.get(name), self.impact.get(name), self.symptom_of.get(name))


def rank_causes(
    case: Case, *, config: RcaConfig | None = None, miner: TemplateMiner | MergingMiner | None = None
) -> list[Candidate]:
    """Return root-cause candidates of `case`, best first, each entity at most once.

    Args:
        case: the incident's metrics, window, logs, topology and detector hints.
        config: engine settings; the defaults when None.
        miner: log template miner; a simple masking miner when None.

    """
    config = config or RcaConfig()
    start = scan_start(case, config)
    interval = sampling_interval(case.metrics.timestamps)
    # A lead shorter than this is within sampling and detection noise.
    min_lead_s = max(2.0 * interval, config.min_lead_s)
    metrics = _metric_findings(case, start, interval, min_lead_s, config)
    logs = find_log_evidence(
        case.logs,
        incident_start=start,
        window_end=case.window_end,
        miner=miner,
        vetted_s=case.logs_vetted_s,
        entities=case.metrics.entities(),
    )
    outages = _find_stops(case, start, interval)
    hints = _strongest_hints(case, start)
    drafts, order = _initial_drafts(metrics.entities, case.metrics.entities(), [*logs, *hints, *outages])
    _add_logs(drafts, logs, config)
    outages = _unexplained_stops(drafts, outages, interval, config)
    _add_stops(drafts, outages, config)
    _add_hints(drafts, hints, config)
    later = _stop_and_log_covers(drafts, logs, outages, metrics.notes, min_lead_s)
    # Log evidence and stops came after the metric covers: a symptom they lifted goes back behind its cause.
    drafts = _cover_drafts(drafts, {**metrics.covers, **later})
    notes = _Notes(metrics.explanations, metrics.impact_notes, metrics.notes)
    return _rank(drafts, order, {*metrics.covers, *later}, notes, min_lead_s, config)


def _metric_findings(
    case: Case, start: float, interval: float, min_lead_s: float, config: RcaConfig
) -> _MetricFindings:
    """Score the entities on their metrics, discount what the topology explains, weigh by impact, cover."""
    entities = score_entities(case, config)
    explanations: dict[str, Explanation] = {}
    if case.topology is not None:
        entities, explanations = discount_explained(
            entities, topology=case.topology, onset_slack=interval, config=config
        )
    works = excess_work(
        case.metrics.columns,
        case.metrics.timestamps,
        history_end=start,
        scan_start=start,
        window_end=case.window_end,
    )
    entities, impact_notes = weigh_by_impact(entities, works, config)
    deeper = _deeper(case, start)
    covers = find_covers(entities, works, deeper, onset_slack=interval, config=config)
    notes = {a: f"a symptom of {b}, which sits deeper and added about as much or more" for a, b in covers.items()}
    slow = find_depth_covers(entities, works, deeper, onset_slack=interval, config=config)
    slow = {a: b for a, b in slow.items() if a not in covers}
    notes.update({a: f"likely waiting on {b}, which sits deeper and slowed with it" for a, b in slow.items()})
    covers = {**slow, **covers}
    events = find_event_causes(entities, lead_s=min_lead_s, config=config)
    notes.update({a: f"likely an effect of {b}'s own fault events" for a, b in events.items() if a not in covers})
    covers = {**events, **covers}
    return _MetricFindings(apply_covers(entities, covers), explanations, impact_notes, covers, notes)


def _find_stops(case: Case, start: float, interval: float) -> dict[str, Outage]:
    """Return the entities whose series stopped or fell to zero in the window."""
    # Silence is measured from the given start: the search margin before it would dilute a short stop.
    return find_outages(
        case.metrics.columns,
        case.metrics.timestamps,
        history_end=start,
        scan_start=max(start, case.anomaly_start - interval),
        window_end=case.window_end,
    )


def _strongest_hints(case: Case, start: float) -> dict[str, float]:
    """Return each entity's strongest finite detector hint within the scanned window."""
    hints: dict[str, float] = {}
    for hint in case.hints:
        if start <= hint.ts <= case.window_end and math.isfinite(hint.score):
            hints[hint.entity] = max(hints.get(hint.entity, 0.0), hint.score)
    return hints


def _initial_drafts(
    entities: list[EntityScore], order: list[str], others: list[str]
) -> tuple[dict[str, _Draft], list[str]]:
    """Return a draft per entity, from its metric score, and the order that breaks ties of score.

    Every entity of `order` takes part (with no judgeable metric, last); `others` (entities known
    only from logs, hints or stops) are appended to it.
    """
    order = list(order)
    drafts = {e.entity: _Draft(e.entity, e.score, e, None, 0.0, e.onset) for e in entities}
    for name in order:
        if name not in drafts:
            drafts[name] = _Draft(name, 0.0, None, None, 0.0, None)
    for name in others:
        if name not in drafts:
            drafts[name] = _Draft(name, 0.0, None, None, 0.0, None)
            order.append(name)
    return drafts, order


def _add_logs(drafts: dict[str, _Draft], logs: dict[str, LogFinding], config: RcaConfig) -> None:
    """Add each entity's log finding to its draft (step 4); a quiet log does not date the onset."""
    for name, finding in logs.items():
        d = drafts[name]
        onset = (
            d.onset if finding.quiet else finding.first_seen if d.onset is None else min(d.onset, finding.first_seen)
        )
        drafts[name] = _Draft(name, d.score + config.log_weight * finding.score, d.metrics, finding, 0.0, onset)


def _unexplained_stops(
    drafts: dict[str, _Draft], outages: dict[str, Outage], interval: float, config: RcaConfig
) -> dict[str, Outage]:
    """Return the stops that no strong failing deviation of another entity clearly preceded."""
    # The leading deviations other than the stops themselves: one clearly before a stop explains it.
    best = max((d.score for n, d in drafts.items() if n not in outages), default=0.0)
    strong = {
        n: d.onset
        for n, d in drafts.items()
        if d.score > 0
        and d.score >= config.onset_pool_share * best
        and d.metrics is not None
        and d.metrics.best.kind in _FAILING
    }
    # A lead shorter than a sample or than `min_lead_s` is within sampling and scraping noise.
    return before_outages(outages, strong, lead_s=max(interval, config.min_lead_s))


def _add_stops(drafts: dict[str, _Draft], outages: dict[str, Outage], config: RcaConfig) -> None:
    """Lift each stopped entity's draft to at least the stop's score, dated no later than the stop."""
    full = math.log1p(config.z_saturation) + math.log(config.ratio_saturation)
    for name, outage in outages.items():
        d = drafts[name]
        score = max(d.score, outage_score(outage, full))
        onset = outage.onset if d.onset is None else min(d.onset, outage.onset)
        drafts[name] = replace(d, score=score, onset=onset, outage=outage)


def _add_hints(drafts: dict[str, _Draft], hints: dict[str, float], config: RcaConfig) -> None:
    """Add each entity's live detector hint to its draft (step 4)."""
    for name, value in hints.items():
        d = drafts[name]
        bonus = config.hint_weight * math.log1p(max(value, 0.0))
        drafts[name] = _Draft(name, d.score + bonus, d.metrics, d.log, value, d.onset)


def _stop_and_log_covers(
    drafts: dict[str, _Draft],
    logs: dict[str, LogFinding],
    outages: dict[str, Outage],
    notes: dict[str, str],
    lead_s: float,
) -> dict[str, str]:
    """Return symptom -> cause: entities that deviated after a stop, or whose error log names another.

    Each symptom gets a note in `notes` unless it has one already.
    """
    stopped = explained_by_outage({n: d.onset for n, d in drafts.items()}, outages, lead_s=lead_s)
    named = {n: f.mentions[0] for n, f in logs.items() if f.mentions and f.mentions[0] in drafts and n not in stopped}
    for a, b in stopped.items():
        notes.setdefault(a, f"likely an effect of {b}, which stopped")
    for a, b in named.items():
        notes.setdefault(a, f"its error log names {b}")
    return {**named, **stopped}


def _rank(
    drafts: dict[str, _Draft],
    order: list[str],
    covered: set[str],
    notes: _Notes,
    min_lead_s: float,
    config: RcaConfig,
) -> list[Candidate]:
    """Return the best candidates, the sole earliest leader lifted by the earliness bonus (step 5)."""
    ranked = sorted(drafts.values(), key=lambda d: (-d.score, order.index(d.entity)))
    first, lead_s = _sole_first_onset(ranked, config)
    candidates: list[Candidate] = []
    for draft in ranked:
        score = draft.score
        # A symptom put behind its cause keeps no timing bonus: it would lift it back above it.
        lead = lead_s if first is not None and draft.onset == first and draft.entity not in covered else None
        if lead is not None and lead >= min_lead_s:
            score += config.earliness_weight
        candidates.append(
            Candidate(
                entity=draft.entity,
                signal=_signal_name(draft),
                score=round(score, 6) if math.isfinite(score) else 0.0,
                evidence=notes.evidence(draft, lead),
                first_deviation=draft.onset,
            )
        )
    candidates.sort(key=lambda c: (-c.score, order.index(c.entity)))
    return candidates[: config.max_candidates]


def _sole_first_onset(ranked: list[_Draft], config: RcaConfig) -> tuple[float | None, float | None]:
    """Return the earliest onset among the leading drafts if only one has it, and its lead over the next leader.

    Both are None when the earliest onset is shared; the lead is None when no other leader has an onset.
    """
    top_score = ranked[0].score if ranked else 0.0
    leaders = [
        d
        for d in ranked[: config.onset_pool]
        if d.onset is not None and d.score > 0 and d.score >= config.onset_pool_share * top_score
    ]
    earliest = min((d.onset for d in leaders if d.onset is not None), default=None)
    if earliest is None or sum(1 for d in leaders if d.onset == earliest) != 1:
        return None, None
    later = [d.onset for d in leaders if d.onset is not None and d.onset > earliest]
    return earliest, (min(later) - earliest) if later else None


def _cover_drafts(drafts: dict[str, _Draft], covers: dict[str, str]) -> dict[str, _Draft]:
    """Give each cover the best score of what it covers and put the covered right behind it (see conservation)."""
    if not covers:
        return drafts
    scores = apply_scores({n: d.score for n, d in drafts.items()}, covers)
    return {n: replace(d, score=scores[n]) for n, d in drafts.items()}


def _deeper(case: Case, history_end: float) -> Callable[[str, str], bool]:
    """Return whether an entity sits below another: from the topology, else from names and latency."""
    if case.topology is None:
        return depth_order(case.metrics.columns, case.metrics.timestamps < history_end).deeper
    below = downstream(case.topology)
    return lambda inner, outer: inner in below.get(outer, set())


def _signal_name(draft: _Draft) -> str:
    """Name the signal that points at the entity: its strongest evidence, a new error template first.

    An error rate that rises and a new error template are two faces of one failure; the template
    says what failed, so it names the signal even when the rate scores higher.
    """
    best = draft.metrics.best if draft.metrics is not None else None
    metric_score = best.result.score if best is not None else -math.inf
    log = draft.log
    explains_errors = log is not None and log.is_error and best is not None and best.kind is MetricKind.ERRORS
    if log is not None and (log.score >= metric_score or explains_errors):
        return f"log:{log.template[:80]}"
    if draft.metrics is not None:
        return draft.metrics.best.metric
    return HINT_SIGNAL
