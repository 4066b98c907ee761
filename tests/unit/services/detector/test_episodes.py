from __future__ import annotations

import math

import pytest

from services.detector.domain.anomaly import Score
from services.detector.domain.episodes import (
    EpisodeClosed,
    EpisodeOpened,
    EpisodePolicy,
    EpisodeState,
    EpisodeUpdated,
    track_episode,
)

POLICY = EpisodePolicy(
    open_threshold=0.7, close_threshold=0.3, close_after_s=600, update_min_delta=0.1, update_interval_s=3600
)


def sc(ts: float, score: float, severity: float | None = None, *, warming: bool = False) -> Score:
    sev = score if severity is None else severity
    return Score(ts, 100.0, score, "up" if sev else "none", 50.0, 40.0, 60.0, warming, severity=sev)


def run(samples: list[Score]) -> list[object]:
    state, events = EpisodeState(), []
    for s in samples:
        state, new = track_episode(state, s, POLICY)
        events.extend(new)
    return events


def test_one_long_episode_is_one_open_few_updates_one_close():
    samples = [sc(0, 0.1), sc(60, 0.75)]
    samples += [sc(60 * i, 0.0, 0.6) for i in range(2, 30)]  # suppressed score, still severe
    samples += [sc(60 * i, 0.0, 0.1) for i in range(30, 45)]
    events = run(samples)
    assert isinstance(events[0], EpisodeOpened)
    assert events[0].since == 60
    assert isinstance(events[-1], EpisodeClosed)
    assert events[-1].since == 60
    assert events[-1].ended == 60 * 29
    assert events[-1].ts >= 60 * 29 + 600
    assert not [e for e in events if isinstance(e, EpisodeUpdated)]


def test_update_only_when_peak_grows_meaningfully():
    samples = [sc(0, 0.75), sc(60, 0.78), sc(120, 0.80), sc(180, 0.86), sc(240, 0.9), sc(300, 0.99)]
    events = run(samples)
    updates = [e for e in events if isinstance(e, EpisodeUpdated)]
    assert [u.ts for u in updates] == [180, 300]
    assert updates[-1].peak == pytest.approx(0.99)
    assert updates[-1].peak_score.ts == 300


def test_heartbeat_update_while_active():
    samples = [sc(0, 0.8)] + [sc(600 * i, 0.0, 0.5) for i in range(1, 14)]
    updates = [e for e in run(samples) if isinstance(e, EpisodeUpdated)]
    assert [u.ts for u in updates] == [3600, 7200]


def test_short_dip_does_not_close():
    samples = [sc(0, 0.9), sc(60, 0.1), sc(120, 0.1), sc(180, 0.5), sc(240, 0.1)]
    events = run(samples)
    assert len(events) == 1
    assert isinstance(events[0], EpisodeOpened)


def test_warming_up_and_missing_samples_never_open():
    samples = [sc(0, 0.99, warming=True), Score(60, math.nan, 0.0, "none", 1, 1, 1, False)]
    assert run(samples) == []


def test_reopens_after_close_with_new_since():
    samples = [sc(0, 0.9), sc(700, 0.0, 0.0), sc(800, 0.95)]
    events = run(samples)
    assert [type(e) for e in events] == [EpisodeOpened, EpisodeClosed, EpisodeOpened]
    assert events[2].since == 800


def test_policy_rejects_inverted_thresholds():
    with pytest.raises(ValueError):
        EpisodePolicy(open_threshold=0.2, close_threshold=0.5)
