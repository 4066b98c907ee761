"""Meta-monitoring: which pipeline stages went silent or keep falling behind, judged from their heartbeats.

Like Alertmanager's Watchdog with a dead man's switch: a stage instance that misses its heartbeats
is stalled (killed, frozen, cut off from the broker); one whose consumer lag rises beat after beat
is falling behind. Each problem is an anomaly episode on the target ``pipeline:<service>``, so it
opens an incident and pages through the normal path; the responder's own silence is also paged
directly to a fallback channel, since the normal path runs through it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from shared import models as m
from shared.ids import derive_id

TARGET_PREFIX: Final = "pipeline:"


class Problem(StrEnum):
    """What is wrong with a stage instance."""

    SILENT = "silent"
    FALLING_BEHIND = "falling_behind"


@dataclass(frozen=True)
class StagePolicy:
    """When a stage counts as stalled or falling behind."""

    missed_beats: float = 3.0
    lag_beats: int = 3
    min_lag: int = 100
    max_beat_age: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class StageSeen:
    """The newest heartbeat of one instance and the total lag of its recent beats (newest last)."""

    beat: m.ServiceHeartbeat
    beat_id: str
    beat_time: datetime
    lags: tuple[int, ...] = ()


@dataclass(frozen=True)
class StageProblem:
    """One problem of one stage instance, an anomaly episode while it lasts."""

    service: str
    instance: str
    problem: Problem
    since: datetime
    episode_id: str
    lag: int
    detail: str

    @property
    def fingerprint(self) -> str:
        """Stable name of the problem across its revisions."""
        return f"{TARGET_PREFIX}{self.service}/{self.instance}/{self.problem.value}"


Key = tuple[str, str]


def record(
    seen: dict[Key, StageSeen], beat: m.ServiceHeartbeat, *, beat_id: str, beat_time: datetime, now: datetime,
    policy: StagePolicy,
) -> dict[Key, StageSeen]:  # fmt: skip
    """Fold one heartbeat into what is known; a planned stop forgets the instance, an old beat is ignored."""
    key = (beat.service, beat.instance)
    if now - beat_time > policy.max_beat_age:
        return seen
    if beat.stopping:
        return {k: v for k, v in seen.items() if k != key}
    previous = seen.get(key)
    if previous is not None and previous.beat.started_at == beat.started_at and previous.beat.sequence >= beat.sequence:
        return seen  # a redelivered or older beat
    same_run = previous is not None and previous.beat.started_at == beat.started_at
    lags = ((previous.lags if same_run and previous else ()) + (sum(c.lag for c in beat.consumers),))[
        -policy.lag_beats :
    ]
    return {**seen, key: StageSeen(beat, beat_id, beat_time, lags)}


def assess(seen: dict[Key, StageSeen], now: datetime, policy: StagePolicy) -> list[StageProblem]:
    """Every current problem: silent instances (not replaced by a newer one) and instances falling behind."""
    problems: list[StageProblem] = []
    for (service, instance), stage in sorted(seen.items()):
        beat = stage.beat
        silent_for = (now - stage.beat_time).total_seconds()
        lag = stage.lags[-1] if stage.lags else 0
        if silent_for > policy.missed_beats * beat.interval_s:
            if _replaced(seen, service, beat):
                continue
            detail = (
                f"{service} stalled: no heartbeat from {instance} for {silent_for:.0f}s "
                f"(expected every {beat.interval_s:g}s; last said {_readiness(beat)}, lag {lag:,})"
            )
            problems.append(_problem(stage, Problem.SILENT, stage.beat_time, lag, detail))
        elif _falling_behind(stage.lags, policy):
            detail = f"{service} falling behind: lag {lag:,} and growing over {len(stage.lags)} heartbeats ({instance})"
            problems.append(_problem(stage, Problem.FALLING_BEHIND, stage.beat_time, lag, detail))
    return problems


def _problem(stage: StageSeen, problem: Problem, since: datetime, lag: int, detail: str) -> StageProblem:
    beat = stage.beat
    episode = derive_id("stage-problem", beat.service, beat.instance, problem.value, beat.started_at.isoformat(),
                        stage.beat_id if problem is Problem.SILENT else stage.lags[0])  # fmt: skip
    return StageProblem(beat.service, beat.instance, problem, since, episode, lag, detail)


def _replaced(seen: dict[Key, StageSeen], service: str, beat: m.ServiceHeartbeat) -> bool:
    """Another instance of the service started after this one and still beats (a replaced pod)."""
    return any(
        s.beat.service == service and s.beat.started_at > beat.started_at and s.beat.instance != beat.instance
        for s in seen.values()
    )


def _readiness(beat: m.ServiceHeartbeat) -> str:
    return "ready" if beat.ready else "not ready"


def _falling_behind(lags: tuple[int, ...], policy: StagePolicy) -> bool:
    if len(lags) < policy.lag_beats or lags[-1] < policy.min_lag:
        return False
    return all(b >= a for a, b in itertools.pairwise(lags)) and lags[-1] > lags[0]


def changes(
    open_: dict[str, StageProblem], current: list[StageProblem]
) -> tuple[list[StageProblem], list[StageProblem]]:
    """Episodes that start (new fingerprint or a new episode of it) and end, given the open ones."""
    now_by_fp = {p.fingerprint: p for p in current}
    started = [p for fp, p in now_by_fp.items() if fp not in open_ or open_[fp].episode_id != p.episode_id]
    ended = [p for fp, p in open_.items() if fp not in now_by_fp or now_by_fp[fp].episode_id != p.episode_id]
    return started, ended


def to_anomaly(problem: StageProblem, *, host: str, now: datetime, resolved: bool = False) -> m.Anomaly:
    """The anomaly of a stage problem (revision 2 when it ends)."""
    silent = problem.problem is Problem.SILENT
    return m.Anomaly(
        anomaly_id=problem.episode_id,
        fingerprint=problem.fingerprint,
        kind=m.AnomalyKind.THRESHOLD,
        target=TARGET_PREFIX + problem.service,
        host=host,
        signal="pipeline.heartbeat" if silent else "pipeline.consumer_lag",
        impact=m.Impact.MAJOR_FUNCTION if silent else m.Impact.SEVERE_DEGRADATION,
        score=1.0,
        observed=float(problem.lag),
        unit="records" if not silent else "",
        since=problem.since,
        last_seen=now,
        summary=problem.detail,
        labels={"service": problem.service, "instance": problem.instance, "problem": problem.problem.value},
        revision=2 if resolved else 1,
    )
