"""Alert suppression: turn one series' successive Scores into opened / updated / closed episodes.

One long anomaly must reach people as one incident that is kept up to date, not as a stream of
duplicates. An episode opens when a score reaches `open_threshold`; it stays open while the
sample strength (the larger of score and unsuppressed severity) stays at or above
`close_threshold`, and closes once it has stayed below for `close_after_s`. In between, an update
is emitted only when the peak grows by `update_min_delta`, or as a heartbeat every
`update_interval_s` while the episode is still active. Time comes from the samples only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .anomaly.detector import Score


@dataclass(frozen=True, slots=True)
class EpisodePolicy:
    """Thresholds and timings of the episode state machine."""

    open_threshold: float = 0.5
    close_threshold: float = 0.3
    close_after_s: float = 900.0
    update_min_delta: float = 0.1
    update_interval_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.close_threshold <= self.open_threshold <= 1.0:
            raise ValueError("need 0 <= close_threshold <= open_threshold <= 1")


@dataclass(frozen=True, slots=True)
class EpisodeState:
    """Where one series' episode stands (`since is None` means no open episode)."""

    since: float | None = None
    peak: float = 0.0
    peak_score: Score | None = None
    last_active_ts: float = 0.0
    last_emit_ts: float = 0.0
    reported_peak: float = 0.0


@dataclass(frozen=True, slots=True)
class EpisodeOpened:
    """An anomaly episode began at `since` (the first alerting sample)."""

    since: float
    score: Score


@dataclass(frozen=True, slots=True)
class EpisodeUpdated:
    """An open episode got worse, or is still going (heartbeat)."""

    since: float
    ts: float
    peak: float
    peak_score: Score
    score: Score


@dataclass(frozen=True, slots=True)
class EpisodeClosed:
    """An episode ended: `ended` is its last active sample, `ts` the sample that closed it."""

    since: float
    ended: float
    ts: float
    peak: float
    peak_score: Score


EpisodeEvent = EpisodeOpened | EpisodeUpdated | EpisodeClosed


def strength(score: Score) -> float:
    """Return how anomalous a sample is for episode purposes (0 while warming up or missing)."""
    if score.warming_up or not math.isfinite(score.observed):
        return 0.0
    return max(score.score, score.severity)


def track_episode(
    state: EpisodeState, score: Score, policy: EpisodePolicy | None = None
) -> tuple[EpisodeState, list[EpisodeEvent]]:
    """Advance the episode state machine by one Score; return the new state and any transitions."""
    p = policy or EpisodePolicy()
    level = strength(score)
    if state.since is None:
        if level < p.open_threshold or score.score < p.open_threshold:
            return state, []
        opened = EpisodeState(score.ts, level, score, score.ts, score.ts, level)
        return opened, [EpisodeOpened(since=score.ts, score=score)]

    if level < p.close_threshold:
        if score.ts - state.last_active_ts >= p.close_after_s:
            peak = state.peak_score or score
            closed = EpisodeClosed(state.since, state.last_active_ts, score.ts, state.peak, peak)
            return EpisodeState(), [closed]
        return state, []

    new = replace(state, last_active_ts=score.ts)
    if level > state.peak:
        new = replace(new, peak=level, peak_score=score)
    grew = new.peak - state.reported_peak >= p.update_min_delta
    heartbeat = score.ts - state.last_emit_ts >= p.update_interval_s
    if not (grew or heartbeat):
        return new, []
    peak_score = new.peak_score or score
    new = replace(new, last_emit_ts=score.ts, reported_peak=new.peak)
    return new, [EpisodeUpdated(state.since, score.ts, new.peak, peak_score, score)]
