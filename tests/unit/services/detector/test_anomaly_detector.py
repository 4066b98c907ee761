from __future__ import annotations

import math

import numpy as np
import pytest

from services.detector.domain.anomaly import DetectorBank, DetectorConfig, Score, SeriesDetector

STEP = 300.0  # 5-minute samples
ALERT = 0.8  # well above what plain noise reaches once ~500 samples are learned
DAY = 288


def stream(values, ts=None, config=None) -> list[Score]:
    detector = SeriesDetector(config)
    ts = STEP * np.arange(len(values)) if ts is None else ts
    return [detector.update(float(t), float(v)) for t, v in zip(ts, values, strict=True)]


def scores(results: list[Score]) -> np.ndarray:
    return np.array([s.score for s in results])


def noise(n: int, *, sd: float = 1.0, level: float = 100.0, seed: int = 1) -> np.ndarray:
    return level + np.random.default_rng(seed).normal(0.0, sd, n)


def test_spike_is_caught_once_with_direction_and_band():
    values = noise(900)
    values[800] += 12
    results = stream(values)
    s = scores(results)
    assert s[500:800].max() < ALERT
    spike = results[800]
    assert spike.score > 0.95
    assert spike.direction == "up"
    assert spike.lower < spike.expected < spike.upper < spike.observed
    assert s[801:].max() < ALERT


def test_dip_has_direction_down():
    values = noise(900)
    values[800] -= 12
    spike = stream(values)[800]
    assert spike.score > 0.95
    assert spike.direction == "down"


def test_level_shift_alerts_once_at_onset():
    values = noise(1000)
    values[800:] += 15
    s = scores(stream(values))
    assert s[500:800].max() < ALERT
    assert s[800] > ALERT
    assert (s[800:] >= ALERT).sum() <= 2


def test_variance_change_is_caught():
    values = noise(1000)
    values[800:] = noise(200, sd=8.0, seed=9)
    s = scores(stream(values))
    assert s[500:800].max() < ALERT
    assert s[800:830].max() > ALERT


def test_clean_daily_pattern_raises_no_alarm_but_off_hour_value_does():
    t = STEP * np.arange(DAY * 10)
    values = 100 + 30 * np.sin(2 * np.pi * t / 86_400) + noise(len(t), level=0.0, sd=1.0, seed=3)
    s = scores(stream(values, t))
    assert s[2 * DAY :].max() < 0.6
    trough = 9 * DAY + 216  # 18:00, where the sine is lowest
    odd = values.copy()
    odd[trough] = values[trough - DAY // 2]  # the value usual six hours earlier, nearer the peak
    odd[trough] = 115.0
    hit = stream(odd, t)[trough]
    assert hit.score > ALERT
    assert hit.seasonal
    assert hit.direction == "up"
    assert abs(hit.expected - 70.0) < 5.0


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_memory_leak_ramp_is_caught_before_it_gets_large(seed):
    n = DAY * 6
    values = noise(n, seed=seed)
    start = DAY * 3
    ramp = np.maximum(0, np.arange(n) - start) * 0.1  # +0.1 sd per sample: ~29 sd a day
    results = stream(values + ramp)
    s = scores(results)
    assert s[500:start].max() < ALERT
    first = start + int(np.flatnonzero(s[start:] >= ALERT)[0])
    assert ramp[first] < 6.0
    assert results[first].direction == "up"


def test_missing_samples_and_irregular_intervals_are_handled():
    rng = np.random.default_rng(5)
    n = 1200
    ts = np.cumsum(rng.uniform(60, 900, n))  # jittered intervals
    keep = rng.random(n) > 0.2  # 20 % of samples never arrive
    values = noise(n)
    values[1100] += 15
    ts, values = ts[keep], values[keep]
    results = stream(values, ts)
    s = scores(results)
    spike_at = int(np.sum(keep[:1100]))
    assert all(math.isfinite(r.expected) for r in results)
    assert s[400:spike_at].max() < ALERT
    assert s[spike_at] > ALERT


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_ignored_without_touching_state(bad):
    detector = SeriesDetector()
    for i, v in enumerate(noise(300)):
        detector.update(STEP * i, float(v))
    before = detector.dumps()
    result = detector.update(STEP * 300, bad)
    assert result.score == 0.0
    assert result.direction == "none"
    assert detector.dumps() == before
    assert math.isfinite(detector.update(STEP * 301, 100.0).score)


def test_nan_timestamp_is_ignored():
    detector = SeriesDetector()
    detector.update(0.0, 1.0)
    before = detector.dumps()
    assert detector.update(math.nan, 2.0).score == 0.0
    assert detector.dumps() == before


def test_counter_reset_is_not_an_anomaly_but_a_rate_change_is():
    rng = np.random.default_rng(4)
    rate = 10 + rng.normal(0, 0.5, 1000)
    rate[900:] *= 4
    counter = np.cumsum(rate * STEP)
    counter[600:] -= counter[599]  # process restart: the counter starts again from 0
    s = scores(stream(counter, config=DetectorConfig(counter=True)))
    assert s[400:900].max() < ALERT
    assert s[900:905].max() > ALERT


def test_flat_series_gives_zero_scores_then_catches_a_change():
    values = np.full(400, 5.0)
    values[350] = 5.5
    results = stream(values)
    s = scores(results)
    assert np.all(np.isfinite(s))
    assert s[:350].max() == 0.0
    assert s[350] > 0.95
    assert results[349].lower == results[349].upper == 5.0


def test_warm_up_emits_nothing_then_scores():
    config = DetectorConfig(warmup_samples=50)
    values = noise(120)
    values[10] += 50  # inside the warm-up: learned, not reported
    results = stream(values, config=config)
    assert all(r.warming_up and r.score == 0.0 for r in results[:50])
    assert not any(r.warming_up for r in results[50:])


def test_dumps_fits_in_2kb_and_loads_continues_identically():
    values = noise(800, seed=11)
    values[700] += 10
    whole = SeriesDetector()
    split = SeriesDetector()
    for i, v in enumerate(values[:400]):
        whole.update(STEP * i, float(v))
        split.update(STEP * i, float(v))
    blob = split.dumps()
    assert len(blob) <= 2048
    resumed = SeriesDetector.loads(blob)
    for i, v in enumerate(values[400:], start=400):
        assert whole.update(STEP * i, float(v)) == resumed.update(STEP * i, float(v))


def test_loads_rejects_foreign_bytes():
    with pytest.raises(ValueError, match="does not match"):
        SeriesDetector.loads(b"SDv1\x03\x00" + bytes(24))
    with pytest.raises(ValueError, match="does not match"):
        SeriesDetector.loads(SeriesDetector().dumps(), DetectorConfig(season_buckets=12))


def test_causal_score_does_not_depend_on_later_samples():
    a = noise(600, seed=21)
    b = a.copy()
    b[400:] = noise(200, sd=10.0, seed=22)
    sa, sb = stream(a), stream(b)
    assert sa[:400] == sb[:400]


def test_bank_matches_scalar_detector_exactly():
    rng = np.random.default_rng(8)
    n, steps = 3, 500
    ts = STEP * np.arange(steps)[:, None] + rng.uniform(0, 100, n)[None, :]
    values = 50 + rng.normal(0, 2, (steps, n))
    values[450, 1] += 30
    values[rng.random((steps, n)) < 0.05] = np.nan
    bank = DetectorBank(n)
    singles = [SeriesDetector() for _ in range(n)]
    for i in range(steps):
        out = bank.update(ts[i], values[i])
        for j in range(n):
            one = singles[j].update(float(ts[i, j]), float(values[i, j]))
            assert one.score == out.score[j]
            assert one.expected == out.expected[j] or not out.valid[j]
    assert [bank.dumps_series(j) for j in range(n)] == [d.dumps() for d in singles]


def test_bank_add_series_and_restore():
    bank = DetectorBank(1)
    bank.update(np.array([0.0]), np.array([1.0]))
    new = bank.add_series(2)
    assert list(new) == [1, 2]
    bank.loads_series(2, bank.dumps_series(0))
    assert bank.dumps_series(2) == bank.dumps_series(0)
    assert bank.detector(0).dumps() == bank.dumps_series(0)
    assert bank.state_bytes_per_series <= 2048
