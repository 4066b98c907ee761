"""Statistical watch of a target's series: streaming scores -> episodes -> evidence."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import itemgetter
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from services.detector.domain.anomaly import DetectorBank, DetectorConfig, Score, explain, format_value
from services.detector.domain.anomaly.corroborate import raise_scores
from services.detector.domain.anomaly.detector import score_at
from services.detector.domain.anomaly.kernel import StepResult
from services.detector.domain.anomaly.pool import StatePool
from services.detector.domain.budget import EpisodeBudget
from services.detector.domain.episodes import EpisodePolicy, EpisodeState, strength, track_episode
from services.detector.domain.evidence import Evidence
from shared import metric_names as mn
from shared.models import AnomalyKind, Impact

Column: TypeAlias = tuple[float, ...]
"""A scrape's value of each of a target's watched series, in its bank's column order (NaN: absent)."""


def _reader(metrics: tuple[str, ...]) -> Callable[[Mapping[str, float]], Column]:
    """Read ``metrics``' values out of a scrape's values, in this order (KeyError if one is missing)."""
    if len(metrics) == 1:
        (metric,) = metrics
        return lambda values: (values[metric],)
    return itemgetter(*metrics)


DEFAULT_WATCHED: Final = MappingProxyType(
    {
        mn.HOST_CPU: "up",
        mn.HOST_MEMORY: "up",
        mn.HOST_DISK: "up",
        mn.PROCESS_CPU: "up",
        mn.PROCESS_RSS: "up",
        mn.HTTP_LATENCY_P95: "up",
        mn.HTTP_ERROR_RATE: "up",
        mn.HTTP_THROUGHPUT: "down",
        mn.HOST_NET_SENT: "up",
        mn.NET_SENT: "up",
        mn.DB_ROWS: "down",
    }
)
"""Metrics the statistical detector watches, and the direction that is bad for each."""

DEFAULT_MIN_DELTA: Final = MappingProxyType(
    {
        mn.HOST_CPU: 20.0,
        mn.HOST_MEMORY: 10.0,
        mn.HOST_DISK: 5.0,
        mn.PROCESS_CPU: 10.0,
        mn.PROCESS_RSS: 64.0 * 2**20,
        mn.HTTP_LATENCY_P95: 50.0,
        mn.HTTP_ERROR_RATE: 0.005,
        mn.HTTP_THROUGHPUT: 1.0,
        mn.HOST_NET_SENT: 8.0 * 2**20,
        mn.NET_SENT: 8.0 * 2**20,
        mn.DB_ROWS: 100.0,
    }
)
"""Smallest departure from the usual value worth telling anyone about (units of the metric).

The streaming detector is scale-free: a quiet series moving from 3 % to 4 % CPU is as unusual to
it as 3 % to 100 %. These floors keep practically irrelevant records out of the incident flow.
"""


class CriticalSeries(BaseModel):
    """A watched series whose departure beyond ``ratio`` times its learned level is a Critical class.

    Up (the series' bad direction): observed at or above ``ratio`` x the usual, e.g. outbound traffic
    ten times its usual is a leak; down: at or below the usual / ``ratio``, e.g. a row count halved
    is data loss. A smaller departure keeps the series' ordinary impact.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    problem: Literal["security", "leak", "data_loss"]
    ratio: float = Field(gt=1.0)
    what: str


DEFAULT_CRITICAL: Final = MappingProxyType(
    {
        mn.HOST_NET_SENT: CriticalSeries(problem="leak", ratio=10.0, what="outbound traffic"),
        mn.NET_SENT: CriticalSeries(problem="leak", ratio=10.0, what="outbound traffic"),
        mn.DB_ROWS: CriticalSeries(problem="data_loss", ratio=2.0, what="row count"),
    }
)
"""The leak and data-loss series of the manual's Critical classes (see `critical_evidence`)."""

CRITICAL_IMPACT: Final = {"security": Impact.SECURITY, "leak": Impact.DATA_LOSS, "data_loss": Impact.DATA_LOSS}

RESOURCE_PREFIXES: Final = ("host.", "process.")
UNITS: Final = MappingProxyType({"_bytes_per_s": "B/s", "_percent": "%", "_ms": "ms", "_bytes": "B", "_per_s": "/s"})


@dataclass(frozen=True, slots=True)
class StatisticalConfig:
    """Which series are watched and how their scores become evidence."""

    enabled: bool = True
    watched: MappingProxyType[str, str] = field(default_factory=lambda: DEFAULT_WATCHED)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    episodes: EpisodePolicy = field(default_factory=lambda: EpisodePolicy(close_after_s=0.0))
    min_delta: MappingProxyType[str, float] = field(default_factory=lambda: DEFAULT_MIN_DELTA)
    severe_ratio: float = 3.0
    max_hold_s: float = 3600.0
    confirm_samples: int = 2
    """Unusual samples in a row before evidence begins: one slow request is not an anomaly."""
    budget: EpisodeBudget = field(default_factory=EpisodeBudget)
    """At most this many statistical episodes per signal per day (see `budget`)."""
    critical: MappingProxyType[str, CriticalSeries] = field(default_factory=lambda: DEFAULT_CRITICAL)
    """Series whose far departure is a leak or data loss (see `CriticalSeries`)."""


def unit_of(metric: str) -> str:
    """Return the display unit of a metric from its name's suffix."""
    return next((u for suffix, u in UNITS.items() if metric.endswith(suffix)), "")


def statistical_impact(metric: str, observed: float, expected: float, *, severe_ratio: float) -> Impact:
    """Return what an unusual value of ``metric`` means for users.

    Latency: severe degradation at ``severe_ratio`` times the usual, else slight; host and process
    resources: resource pressure; anything else (error rate, throughput): partial function.
    """
    if "latency" in metric:
        ratio = observed / expected if expected > 0 else float("inf")
        return Impact.SEVERE_DEGRADATION if ratio >= severe_ratio else Impact.SLIGHT_DEGRADATION
    if metric.startswith(RESOURCE_PREFIXES):
        return Impact.RESOURCE_PRESSURE
    return Impact.PARTIAL_FUNCTION


def critical_labels(
    metric: str, observed: float, expected: float, direction: str, config: StatisticalConfig
) -> dict[str, str]:
    """Return the ``problem`` and ``problem_reason`` labels of a far departure of a Critical series, else {}.

    ``outbound traffic 52 MB/s, 40 times its learned level 1.3 MB/s``.
    """
    rule = config.critical.get(metric)
    if rule is None:
        return {}
    unit = unit_of(metric)
    usual = format_value(expected, unit)
    if direction == "up":
        far = observed >= rule.ratio * expected if expected > 0 else observed > 0
        times = f"{observed / expected:.3g} times" if expected > 0 else "far above"
        reason = f"{rule.what} {format_value(observed, unit)}, {times} its learned level {usual}"
    else:
        far = observed * rule.ratio <= expected
        reason = f"{rule.what} {format_value(observed, unit)}, collapsed from its learned level {usual}"
    return {"problem": rule.problem, "problem_reason": reason} if far else {}


@dataclass(frozen=True, slots=True)
class Hold:
    """The usual value and band of a series frozen when its evidence began."""

    since: float
    expected: float
    lower: float
    upper: float


@dataclass(slots=True)
class SeriesWatch:
    """The episode state of one series and the frozen baseline of its ongoing anomaly.

    The streaming detector adapts: after a minute of a CPU hog the high level is its new usual and
    the score falls. An anomaly should last as long as the fault, so once evidence begins the usual
    band is frozen (`Hold`), and evidence continues while the value stays beyond that band - for at
    most `max_hold_s`, after which a lasting shift is accepted as the new normal. Evidence begins
    only after `confirm_samples` unusual samples in a row, and dates from the first of them.
    """

    metric: str
    index: int
    episode: EpisodeState = field(default_factory=EpisodeState)
    hold: Hold | None = None
    streak: int = 0
    pending: Hold | None = None
    corroborated_by: str = ""
    """The metric whose concurrent alert opened this series' episode (see `anomaly.corroborate`); "" if
    its own samples did. Shown in the explanation; not checkpointed (a restart drops the note only)."""

    @property
    def idle(self) -> bool:
        """Nothing under way: no open episode, no frozen baseline, no unusual samples counted."""
        return self.episode.since is None and self.hold is None and self.streak == 0

    def judge(self, score: Score, config: StatisticalConfig) -> Evidence | None:
        """Take one sample's score; return evidence while it is unusual enough (see the class docstring)."""
        ts, value = score.ts, score.observed
        self.episode, _ = track_episode(self.episode, score, config.episodes)
        bad = config.watched.get(self.metric, "up")
        floor = config.min_delta.get(self.metric, 0.0)
        active = self.episode.since is not None and self.episode.last_active_ts == ts and score.direction == bad
        if self.hold is None:
            if not active or abs(value - score.expected) < floor:
                self.streak = 0
                return None
            self.streak += 1
            if self.streak == 1:
                self.pending = Hold(ts, score.expected, score.lower, score.upper)
            if self.streak < config.confirm_samples or self.pending is None:
                return None
            self.hold, self.pending, self.streak = self.pending, None, 0
        else:
            hold = self.hold
            beyond = value > hold.upper if bad == "up" else value < hold.lower
            held = beyond and ts - hold.since < config.max_hold_s
            if not (active or held) or abs(value - hold.expected) < floor:
                self.hold = None
                return None
        return self._evidence(score, self.hold, active, config)

    def _evidence(self, score: Score, hold: Hold, active: bool, config: StatisticalConfig) -> Evidence:
        unit = unit_of(self.metric)
        since = datetime.fromtimestamp(hold.since, UTC)
        if active:
            summary = explain(score, metric=self.metric, unit=unit)
        else:
            side = "above" if score.observed > hold.expected else "below"
            summary = (
                f"{self.metric} {format_value(score.observed, unit)}, still {side} its usual "
                f"{format_value(hold.expected, unit)} of before {since.isoformat()}"
            )
        direction = config.watched.get(self.metric, "up")
        impact = statistical_impact(self.metric, score.observed, hold.expected, severe_ratio=config.severe_ratio)
        critical = critical_labels(self.metric, score.observed, hold.expected, direction, config)
        if critical:
            impact, summary = CRITICAL_IMPACT[critical["problem"]], f"{critical['problem_reason']}; {summary}"
        return Evidence(
            signal=self.metric,
            kind=AnomalyKind.STATISTICAL,
            impact=impact,
            score=strength(score) if active else max(strength(score), config.episodes.open_threshold),
            since=since,
            summary=summary,
            observed=score.observed,
            expected=hold.expected,
            unit=unit,
            direction=direction,
            labels={"expected_range": f"{hold.lower:.4g}..{hold.upper:.4g}", "feature": score.feature} | critical,
        )


class SeriesBank:
    """The statistical watches of one target: one detector column per metric, advanced in one step.

    The columns live in ``pool`` when given (shared by the targets of one handler), else in the bank's own.
    """

    def __init__(self, config: DetectorConfig, pool: StatePool | None = None) -> None:
        self.bank = DetectorBank(0, config, pool)
        self.watches: dict[str, SeriesWatch] = {}
        self._column_order: list[SeriesWatch] = []
        self._underway = True
        """Whether a watch may have something under way (False: every watch was idle after the last judge)."""
        self._layout: tuple[tuple[str, ...], Mapping[str, str], int, Callable[[Mapping[str, float]], Column]] | None
        self._layout = None
        """The last scrape's metric names, the watched metrics, how many watches there were, and a reader of
        their values in column order (all were in it)."""

    def __len__(self) -> int:
        return len(self.watches)

    def add(self, metric: str) -> SeriesWatch:
        """Start watching ``metric`` with a fresh detector."""
        watch = self.watches[metric] = SeriesWatch(metric, self.bank.add_series(1)[0])
        self._underway = True  # its caller may set what is under way (a restored checkpoint)
        return watch

    def observe(
        self,
        now: datetime,
        values: Mapping[str, float],
        config: StatisticalConfig,
        open_thresholds: Mapping[str, float] | None = None,
    ) -> list[Evidence]:
        """Score this scrape's watched metrics together; return the evidence of the unusual ones.

        ``open_thresholds`` raises the open threshold of some metrics (a noisy series over its budget).
        """
        column = self.column(values, config)
        if column is None:
            return []
        ts = now.timestamp()
        result = self.bank.update(np.full(self.bank.n_series, ts), np.array(column))
        return self.judge(judged_step(result, [self.bank.n_series], config), 0, ts, values, config, open_thresholds)

    def column(self, values: Mapping[str, float], config: StatisticalConfig) -> Column | None:
        """Return a scrape's value of each watched series, in bank order (NaN where absent); None if none is.

        Starts watching the metrics seen for the first time.
        """
        names, layout = tuple(values), self._layout
        if layout and layout[0] == names and layout[1] is config.watched and layout[2] == len(self.watches):
            return layout[3](values)  # the last scrape's metrics again
        present = [metric for metric in config.watched if metric in values]
        if not present:
            return None
        watches = self.watches
        if new := [metric for metric in present if metric not in watches]:  # one bank resize for all
            for metric, index in zip(new, self.bank.add_series(len(new)), strict=True):
                watches[metric] = SeriesWatch(metric, index)
        by_column = self._by_column()
        if len(present) == len(by_column):  # every series is present (the common case): read in column order
            read = _reader(tuple(watch.metric for watch in by_column))
            self._layout = (names, config.watched, len(watches), read)
            return read(values)
        row = [math.nan] * self.bank.n_series
        for metric in present:
            row[watches[metric].index] = values[metric]
        return tuple(row)

    def judge(
        self,
        step: JudgedStep,
        offset: int,
        ts: float,
        values: Mapping[str, float],
        config: StatisticalConfig,
        open_thresholds: Mapping[str, float] | None = None,
    ) -> list[Evidence]:
        """Turn a judged step's scores (this bank's columns start at ``offset``) into evidence of unusual series."""
        found: list[Evidence] = []
        by_column, threshold = self._by_column(), config.episodes.open_threshold
        # Only a series at or above the threshold, or with something under way, can change or give
        # evidence (a raised threshold is higher still): usually none.
        levels = step.levels[offset : offset + len(by_column)]
        if not self._underway and max(levels, default=0.0) < threshold:
            return found  # the common case, told without reading any watch
        stirring = {
            watch.metric for watch, level in zip(by_column, levels, strict=True) if level >= threshold or not watch.idle
        }
        self._underway = bool(stirring)
        if not stirring:
            return found
        for metric in config.watched:
            if metric not in stirring:
                continue
            value = values.get(metric)
            if value is None:
                continue
            watch = self.watches[metric]
            col = offset + watch.index
            own = _with_threshold(config, open_thresholds.get(metric)) if open_thresholds else config
            score = score_at(step.result, col, ts, value)
            raised_by = int(step.raised_by[col])
            if raised_by >= 0:
                corroborated = float(step.scores[col])
                if strength(score) < own.episodes.open_threshold <= corroborated:
                    watch.corroborated_by = self._metric_at(raised_by - offset)
                score = replace(score, score=corroborated)
            item = watch.judge(score, own)
            if item is None:
                watch.corroborated_by = "" if watch.idle else watch.corroborated_by
                continue
            if by := watch.corroborated_by:
                summary = f"{item.summary}; flagged because {by} alerted at the same time"
                item = replace(item, summary=summary, labels={**item.labels, "corroborated_by": by})
            found.append(item)
        return found

    def _by_column(self) -> list[SeriesWatch]:
        """The watches in bank column order (remembered until a watch is added)."""
        if len(self._column_order) != len(self.watches):
            self._column_order = sorted(self.watches.values(), key=lambda watch: watch.index)
        return self._column_order

    def _metric_at(self, index: int) -> str:
        """Return the watched metric of bank column ``index``."""
        return next(metric for metric, watch in self.watches.items() if watch.index == index)


@dataclass(frozen=True, slots=True)
class JudgedStep:
    """One statistical step over the series of one or more targets, ready for each target to judge."""

    result: StepResult
    scores: np.ndarray
    """Each series' score corroborated across its own target's series (`anomaly.corroborate`)."""
    raised_by: np.ndarray
    """Column of the series whose alert raised each series' score (-1: not raised)."""
    levels: list[float]
    """How unusual each series is: 0 while warming, else its corroborated score or its severity."""


def judged_step(result: StepResult, widths: Sequence[int], config: StatisticalConfig) -> JudgedStep:
    """Corroborate a step's scores within each target at once; ``widths[i]``: target ``i``'s series, in column order.

    The same as corroborating each target's columns alone: a series is only ever raised by one of its own target.
    """
    size = result.score.size
    if config.detector.corroborate and size > 1:
        groups = np.repeat(np.arange(len(widths), dtype=np.int64), widths)
        detector = config.detector
        recent = result.recent if detector.corroborate_recent else None
        usable = result.valid & ~result.warming
        scores, raised_by = raise_scores(
            result.score,
            result.severity,
            usable,
            groups,
            detector.corroborate_cap,
            recent,
            detector.corroborate_share_power,
        )
    else:
        scores, raised_by = result.score, np.full(size, -1)
    levels = np.where(result.warming, 0.0, np.maximum(scores, result.severity)).tolist()
    return JudgedStep(result, scores, raised_by, levels)


def _with_threshold(config: StatisticalConfig, threshold: float | None) -> StatisticalConfig:
    if threshold is None or threshold <= config.episodes.open_threshold:
        return config
    close = min(config.episodes.close_threshold, threshold)
    return replace(config, episodes=replace(config.episodes, open_threshold=threshold, close_threshold=close))
