"""Robust levels of the anomaly detector: outliers clipped, runs accepted, slow views settled, shift view."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.detector.domain.anomaly import DetectorConfig, Score, SeriesDetector

STEP = 300.0
DAY = 288


def stream(values, config: DetectorConfig | None = None, step: float = STEP) -> list[Score]:
    detector = SeriesDetector(config)
    return [detector.update(step * i, float(v)) for i, v in enumerate(values)]


def noise(n: int, *, seed: int = 1) -> np.ndarray:
    return 100.0 + np.random.default_rng(seed).normal(0.0, 1.0, n)


def test_isolated_spike_does_not_drag_the_usual_level_or_the_hourly_profile():
    values = noise(1700)
    at = 4 * DAY + 100
    values[at] += 1000.0
    results = stream(values)
    assert results[at].score > 0.95
    assert abs(results[at + 1].expected - 100.0) < 1.0  # the usual value right after the spike
    assert results[at + DAY].seasonal
    assert abs(results[at + DAY].expected - 100.0) < 1.0  # and for that hour on the next day


def test_flat_series_follows_a_step_to_a_new_level():
    values = np.full(280, 5.0)
    values[200:] = 6.0  # zero volatility before: every new sample is beyond the clip
    results = stream(values)
    assert results[200].score > 0.95
    assert max(r.score for r in results[201:]) < 0.5
    assert results[-1].expected == pytest.approx(6.0, abs=1e-3)
    stuck = stream(values, DetectorConfig(new_level_run=10**6))  # runs never accepted: the level stays behind
    assert stuck[-1].expected < 5.5


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_level_shift_on_a_ramp_is_seen_by_the_shift_view(seed):
    values = noise(1400, seed=seed) + 0.05 * np.arange(1400)  # records keep moving with the ramp
    values[1000:] += 4.0
    results = stream(values)
    assert any(r.feature == "shift" and r.severity >= 0.5 for r in results[1000:1010])


@pytest.mark.parametrize("seed", range(8))
def test_slow_views_settle_before_they_score_so_a_real_jump_is_not_suppressed(seed):
    rng = random.Random(seed)
    values = [max(0.0, 3.0 + rng.gauss(0, 0.6)) for _ in range(60)] + [35.0]
    results = stream(values, DetectorConfig(warmup_samples=20), step=2.0)
    early = [r.severity for r in results[:50] if r.feature in ("drift", "trend", "shift")]
    assert not early
    assert results[60].score > 0.95
