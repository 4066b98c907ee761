"""Everything the detector knows about one target, advanced one scrape at a time.

Per scrape: the threshold rules, the statistical watch of each watched metric and the degradation
engine each give evidence per signal; `evidence.combine` merges the evidence of one signal and
`tracker.track` turns it into one anomaly episode per (target, signal). Scrapes not newer than the
last one processed are ignored, so a redelivered scrape after a restart changes nothing.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

import msgspec
import numpy as np

from services.detector.domain import budget as fp_budget
from services.detector.domain.anomaly.bank import step_together
from services.detector.domain.anomaly.pool import StatePool
from services.detector.domain.degradation import Baseline
from services.detector.domain.evidence import Evidence, combine
from services.detector.domain.perf import PerfConfig, observe_perf
from services.detector.domain.rules import (
    DEFAULT_RULES,
    FRESH,
    RuleState,
    ThresholdRule,
    breach_test,
    evaluate,
    is_quiet,
)
from services.detector.domain.scrape import ScrapeView
from services.detector.domain.series import Column, JudgedStep, SeriesBank, StatisticalConfig, judged_step
from services.detector.domain.tracker import Emission, Episode, TrackerConfig, advance
from shared import wire
from shared.models import AnomalyKind, Impact


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """All detection settings of the service, the same for every target."""

    rules: tuple[ThresholdRule, ...] = DEFAULT_RULES
    statistical: StatisticalConfig = field(default_factory=StatisticalConfig)
    perf: PerfConfig = field(default_factory=PerfConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    max_gap_intervals: float = 3.0
    max_future_s: float = 300.0
    """A scrape dated further than this ahead of when it was received is ignored (it would blind the target)."""


def sample_values(scrape: ScrapeView) -> Mapping[str, float]:
    """Return one value per metric name, preferring the unlabelled sample (``wire.values_of``)."""
    if isinstance(scrape, wire.Scrape):
        return scrape.values  # taken while decoding
    return wire.values_of(scrape.samples)


@functools.lru_cache(maxsize=64)
def _max_gap(interval_s: float, intervals: float) -> timedelta:
    """The longest silence a rule's sustain survives for scrapes ``interval_s`` apart (remembered)."""
    return timedelta(seconds=max(interval_s, 1.0) * intervals)


def rule_evidence(rule: ThresholdRule, state: RuleState) -> Evidence | None:
    """Return the evidence of an active rule (None while it is not active)."""
    if not state.active or state.active_since is None:
        return None
    value = state.last_value if state.last_value is not None else rule.value
    peak = state.peak if state.peak is not None else value
    unit = f" {rule.unit}" if rule.unit and rule.unit != "%" else rule.unit
    held = f" since {state.active_since.isoformat()}" if rule.sustain_s else ""
    summary = f"{rule.metric} {value:.4g}{unit} {rule.op.value} {rule.value:.4g}{unit}{held} (peak {peak:.4g}{unit})"
    if rule.kind is AnomalyKind.TARGET_DOWN:
        summary = f"{rule.metric} = {value:g}: down since {state.active_since.isoformat()}"
    if rule.reason:
        summary = f"{rule.reason}: {summary}"
    impact = rule.impact_of(value)
    return Evidence(
        signal=rule.metric,
        kind=rule.kind,
        impact=impact,
        score=1.0,
        since=state.active_since,
        summary=summary,
        observed=value,
        threshold=rule.value,
        unit=rule.unit,
        direction="down" if rule.op.value in ("<", "<=", "==") else "up",
        labels={"rule": rule.name} | _critical_labels(rule, impact, summary),
    )


CRITICAL_PROBLEM: Final = {Impact.SECURITY: "security", Impact.DATA_LOSS: "data_loss"}


def _critical_labels(rule: ThresholdRule, impact: Impact, summary: str) -> dict[str, str]:
    """The ``problem`` and ``problem_reason`` of a rule breach with a Critical impact (a failed backup)."""
    if impact not in CRITICAL_PROBLEM:
        return {}
    reason = summary if rule.reason else f"{rule.name}: {summary}"
    return {"problem": CRITICAL_PROBLEM[impact], "problem_reason": reason}


class Taken(msgspec.Struct, gc=False):
    """A scrape a target has taken in, waiting for its statistical step (see ``TargetDetector.take``)."""

    now: datetime
    ts: float
    """``now`` in Unix seconds, read once (a ``timestamp()`` costs about 2,000 instructions)."""
    values: Mapping[str, float]
    evidence: defaultdict[str, list[Evidence]]
    column: Column | None
    """This scrape's value of each of the target's watched series (None: nothing to score)."""


class TargetDetector:
    """Rule states, statistical watches, degradation baseline and open episodes of one target.

    ``pool``: where the statistical state lives, shared by the targets stepped together (see
    `observe_together`); None: a pool of this target's own.
    """

    def __init__(self, target: str, config: DetectionConfig, pool: StatePool | None = None) -> None:
        self.target = target
        self.config = config
        self.watched_by = tuple(rule for rule in config.rules if rule.applies_to(target))
        self._checks = tuple((rule, rule.name, rule.metric, *breach_test(rule)) for rule in self.watched_by)
        self._max_future = timedelta(seconds=config.max_future_s)
        self.host = ""
        self.last_observed: datetime | None = None
        self.rules: dict[str, RuleState] = {}
        self.series = SeriesBank(config.statistical.detector, pool)
        self.baseline = Baseline()
        self.perf_signal: str | None = None
        self.episodes: dict[str, Episode] = {}
        self.budgets: dict[str, fp_budget.BudgetState] = {}

    def observe(self, scrape: ScrapeView, *, received_at: datetime | None = None) -> list[Emission]:
        """Process one scrape of this target; return the anomaly revisions to publish.

        With ``received_at`` (the consumer's clock), a scrape dated more than ``max_future_s`` ahead
        is ignored, and a newest-scrape time that far ahead (taken in before, e.g. from an old
        checkpoint) is forgotten: otherwise every real scrape would look older and be skipped for good.
        ``observe_together`` gives the same result for many targets with one statistical step.
        """
        taken = self.take(scrape, received_at=received_at)
        if taken is None:
            return []
        if taken.column is not None:
            width = len(taken.column)
            result = self.series.bank.update(np.full(width, taken.ts), np.array(taken.column))
            return self.finish(taken, judged_step(result, [width], self.config.statistical), 0)
        return self.finish(taken, None, 0)

    def take(self, scrape: ScrapeView, *, received_at: datetime | None = None) -> Taken | None:
        """First half of ``observe``: the threshold rules; None if the scrape is skipped (not newer, or future)."""
        now = scrape.observed_at
        if received_at is not None:
            horizon = received_at + self._max_future
            if now > horizon:
                return None
            if self.last_observed is not None and self.last_observed > horizon:
                self.last_observed = None
        if self.last_observed is not None and now <= self.last_observed:
            return None
        self.last_observed, self.host = now, scrape.host
        values = sample_values(scrape)
        evidence: defaultdict[str, list[Evidence]] = defaultdict(list)
        max_gap = _max_gap(scrape.interval_s, self.config.max_gap_intervals)
        rules, value_of = self.rules, values.get
        for rule, name, metric, breached, limit in self._checks:
            state = rules.get(name)
            if (value := value_of(metric)) is None:  # a missing sample changes no rule (``evaluate``)
                if state is None:
                    continue
            elif state is None and not breached(value, limit):
                continue  # the common case: quiet (not active, nothing pending), and a quiet rule keeps no state
            else:
                state = evaluate(rule, state or FRESH, value, now=now, max_gap=max_gap)
                if is_quiet(state):
                    rules.pop(name, None)
                    continue
                rules[name] = state
            if state.active and (found := rule_evidence(rule, state)) is not None:
                evidence[found.signal].append(found)
        statistical = self.config.statistical
        column = self.series.column(values, statistical) if statistical.enabled else None
        return Taken(now, now.timestamp(), values, evidence, column)

    def finish(self, taken: Taken, step: JudgedStep | None, offset: int) -> list[Emission]:
        """Second half of ``observe``: statistical evidence, degradation, episodes.

        ``step`` is the statistical step that scored this target's series, from column ``offset`` on.
        """
        now, values, evidence = taken.now, taken.values, taken.evidence
        if step is not None:
            for found in self._statistical(taken.ts, values, step, offset):
                evidence[found.signal].append(found)
        if self.config.perf.enabled:
            ongoing = self.perf_signal
            self.baseline, perf = observe_perf(self.baseline, taken.ts, values, self.config.perf, ongoing=ongoing)
            self.perf_signal = perf.signal if perf is not None else None
            if perf is not None:
                evidence[perf.signal].append(perf)
        return self._track(now, evidence)

    def _statistical(self, ts: float, values: Mapping[str, float], step: JudgedStep, offset: int) -> list[Evidence]:
        cfg = self.config.statistical
        base = cfg.episodes.open_threshold
        if not self.budgets:  # no statistical episode yet: no threshold raised
            return self.series.judge(step, offset, ts, values, cfg)
        raised = {
            signal: fp_budget.open_threshold(state, base, ts, cfg.budget)
            for signal, state in self.budgets.items()
            if fp_budget.raise_now(state, ts, cfg.budget) > 0.0
        }
        return self.series.judge(step, offset, ts, values, cfg, raised)

    def _track(self, now: datetime, evidence: Mapping[str, list[Evidence]]) -> list[Emission]:
        out: list[Emission] = []
        if not evidence and not self.episodes:
            return out  # no signal to advance (the common case)
        for signal in sorted(set(evidence) | set(self.episodes)):
            found, tracker = self._budget(signal, combine(evidence.get(signal, ())), now)
            emission = advance(
                self.episodes, signal, found, target=self.target, host=self.host, now=now, config=tracker
            )
            if emission is not None:
                out.append(emission)
        return out

    def _budget(self, signal: str, found: Evidence | None, now: datetime) -> tuple[Evidence | None, TrackerConfig]:
        """Apply the false-positive budget: count statistical episodes, keep and merge over budget."""
        budget, tracker = self.config.statistical.budget, self.config.tracker
        if budget.per_day == 0:
            return found, tracker
        ts, state = now.timestamp(), self.budgets.get(signal, fp_budget.BudgetState())
        episode = self.episodes.get(signal)
        if episode is None:
            if found is not None and found.kind is AnomalyKind.STATISTICAL:
                self.budgets[signal] = fp_budget.opened(state, ts, budget)
            return found, tracker
        if episode.anomaly.kind is not AnomalyKind.STATISTICAL or not fp_budget.exhausted(state, ts, budget):
            return found, tracker
        if found is not None and (now - episode.last_evidence).total_seconds() >= tracker.close_delay_s:
            state = self.budgets[signal] = fp_budget.merged(state, ts, budget)
        if found is not None and state.merged:
            base = self.config.statistical.episodes.open_threshold
            summary = f"{found.summary}; {fp_budget.note(state, base, ts, budget)}"
            found = replace(found, summary=summary, labels={**found.labels, "budget": f"merged {state.merged}"})
        return found, replace(tracker, close_delay_s=max(tracker.close_delay_s, budget.window_s))


def observe_together(
    taking: Sequence[tuple[TargetDetector, ScrapeView]], *, received_at: datetime | None = None
) -> list[list[Emission]]:
    """``observe`` for many targets, one scrape each, with one statistical step over all their series.

    The kernel works column by column, so this gives exactly what one ``observe`` per target gives,
    at the cost of one numpy step instead of one per target. A target may appear only once.
    """
    detectors = [detector for detector, _ in taking]
    if len(set(detectors)) != len(detectors):
        raise ValueError("a target may appear only once in observe_together")
    taken = [detector.take(scrape, received_at=received_at) for detector, scrape in taking]
    scored = [
        (detector.series.bank, item.ts, item.column)
        for detector, item in zip(detectors, taken, strict=True)
        if item is not None and item.column is not None
    ]
    banks = [bank for bank, _, _ in scored]
    result, offsets = step_together(banks, [ts for _, ts, _ in scored], [column for _, _, column in scored])
    step = None
    if result is not None:
        step = judged_step(result, [bank.n_series for bank in banks], detectors[0].config.statistical)
    offset = iter(offsets)  # the scored targets' offsets, in order
    emitted: list[list[Emission]] = []
    for detector, item in zip(detectors, taken, strict=True):
        if item is None:
            emitted.append([])
        elif item.column is None:
            emitted.append(detector.finish(item, None, 0))
        else:
            emitted.append(detector.finish(item, step, next(offset)))
    return emitted
