"""Corroboration: a series barely outside its envelopes takes a concurrent alert of its host's other series."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.detector.domain.anomaly import DetectorBank, DetectorConfig, corroborate
from services.detector.domain.anomaly.corroborate import host_share, raise_scores, strongest_other, strongest_others
from services.detector.domain.perf import PerfConfig
from services.detector.domain.series import StatisticalConfig, judged_step
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import Change, Emission, TrackerConfig
from shared.models import MetricSample, MetricsObserved

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(20))
def test_strongest_other_is_the_best_other_member_of_the_group(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    groups, score = rng.integers(0, 4, n), rng.choice([0.0, 0.3, 0.5, 0.9], n)
    best, who = strongest_other(score, groups)
    for i in range(n):
        others = [j for j in range(n) if j != i and groups[j] == groups[i]]
        if not others:
            assert (best[i], who[i]) == (0.0, -1)
        else:
            assert best[i] == max(score[j] for j in others) and who[i] in others and score[who[i]] == best[i]


def raised_over_every_host(
    score: np.ndarray, severity: np.ndarray, usable: np.ndarray, groups: np.ndarray, cap: float, power: float
) -> tuple[np.ndarray, np.ndarray]:
    """The raise computed over every series at once (what ``raise_scores`` did before it read only some hosts)."""
    best, runner, other = strongest_others(score, groups)
    evidence = 1.0 - (1.0 - best) * (1.0 - runner)
    if power > 0.0:
        evidence = 1.0 - (1.0 - evidence) ** (host_share(severity > 0, usable, groups) ** power)
    lifted = np.minimum(evidence, 1.0 - (1.0 - severity) ** cap)
    raised = (severity > 0) & usable & (lifted > score)
    return np.where(raised, lifted, score), np.where(raised, other, -1)


@pytest.mark.parametrize("seed", range(40))
def test_reading_only_the_hosts_with_a_raisable_series_changes_no_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    groups = np.sort(rng.integers(0, int(rng.integers(1, 12)), n))
    score = rng.choice([0.0, 0.2, 0.5, 0.7, 0.95], n) * rng.random(n)
    severity = np.where(rng.random(n) < rng.random(), rng.random(n), 0.0)
    usable = rng.random(n) < 0.8
    cap, power = float(rng.choice([1.5, 3.0, 1e9])), float(rng.choice([0.0, 0.5, 1.0]))
    got, got_by = raise_scores(score, severity, usable, groups, cap, share_power=power)
    want, want_by = raised_over_every_host(score, severity, usable, groups, cap, power)
    assert got.tobytes() == want.tobytes() and got_by.tolist() == want_by.tolist()
    assert got is not score  # a new array, as before


def test_only_series_outside_their_envelopes_are_raised() -> None:
    score, severity = np.array([0.9, 0.0, 0.0, 0.2]), np.array([0.9, 0.3, 0.0, 0.3])
    usable = np.array([True, True, True, False])
    raised, by = raise_scores(score, severity, usable, np.zeros(4, dtype=np.int64), cap_ratio=1e9)
    assert raised[[0, 2, 3]].tolist() == [0.9, 0.0, 0.2]  # inside its envelopes (2) or not usable (3): untouched
    assert raised[1] == pytest.approx(1 - 0.1 * 0.8)  # the two other alerts (0.9 and 0.2) together
    assert by.tolist() == [-1, 0, -1, -1]


def test_two_concurrent_alerts_lift_more_than_one() -> None:
    usable, groups = np.ones(3, dtype=bool), np.zeros(3, dtype=np.int64)
    one, _ = raise_scores(np.array([0.6, 0.0, 0.0]), np.array([0.6, 0.5, 0.0]), usable, groups, cap_ratio=1e9)
    two, _ = raise_scores(np.array([0.6, 0.0, 0.5]), np.array([0.6, 0.5, 0.5]), usable, groups, cap_ratio=1e9)
    assert one[1] == pytest.approx(0.6) and two[1] == pytest.approx(1 - 0.4 * 0.5)


def test_the_raise_is_capped_at_a_multiple_of_the_series_own_strength() -> None:
    score, severity = np.array([0.99, 0.0]), np.array([0.99, 0.1])
    raised, _ = raise_scores(score, severity, np.ones(2, dtype=bool), np.zeros(2, dtype=np.int64), cap_ratio=2.0)
    assert raised[1] == pytest.approx(1 - 0.9**2)  # score of twice its own strength, not the host's 0.99


def test_a_series_alone_on_its_host_is_never_changed() -> None:
    rng = np.random.default_rng(1)
    bank = DetectorBank(3, DetectorConfig(warmup_samples=5))
    for i in range(200):
        values = rng.normal(0, 1, 3) + (40.0 if i == 150 else 0.0)
        result = bank.update(np.full(3, 60.0 * i), values)
        assert np.array_equal(corroborate(result, np.arange(3), 2.0).score, result.score)


def _run(corroborated: bool, bump: float) -> list[Emission]:
    """A CPU hog on a web host, with the host's p95 latency rising a little at the same time."""
    config = DetectionConfig(
        rules=(),
        statistical=StatisticalConfig(detector=DetectorConfig(warmup_samples=20, corroborate=corroborated)),
        perf=PerfConfig(enabled=False),
        tracker=TrackerConfig(close_delay_s=6),
    )
    detector, rng, out = TargetDetector("web", config), random.Random(3), []
    for i in range(400):
        cpu, latency = 20 + rng.gauss(0, 1), 200 + rng.gauss(0, 20)
        if i >= 380:
            cpu, latency = 95.0, 200 + bump
        samples = (
            MetricSample(name="host.cpu_percent", value=cpu),
            MetricSample(name="http.latency_p95_ms", value=latency),
        )
        at = T0 + timedelta(seconds=15 * i)
        out += detector.observe(
            MetricsObserved(target="web", host="h", observed_at=at, interval_s=15.0, samples=samples)
        )
    return out


def _detected(out: list[Emission], signal: str) -> list[Emission]:
    return [e for e in out if e.change is Change.DETECTED and e.anomaly.signal == signal]


def test_a_weak_rise_is_flagged_with_a_concurrent_alert_and_the_explanation_says_so() -> None:
    alone, together = _run(False, 55.0), _run(True, 55.0)
    assert _detected(alone, "host.cpu_percent") and not _detected(alone, "http.latency_p95_ms")
    [latency] = _detected(together, "http.latency_p95_ms")
    assert "flagged because host.cpu_percent alerted at the same time" in latency.anomaly.summary


def test_a_rise_strong_enough_alone_carries_no_corroboration_note() -> None:
    [latency] = _detected(_run(True, 150.0), "http.latency_p95_ms")
    assert "alerted at the same time" not in latency.anomaly.summary


def _host_scores(values: np.ndarray) -> np.ndarray:
    bank, out = DetectorBank(values.shape[1], DetectorConfig(warmup_samples=10)), []
    for i, row in enumerate(values):
        result = bank.update(np.full(row.size, 60.0 * i), row)
        out.append(corroborate(result, np.zeros(row.size, dtype=np.int64), 2.0).score)
    return np.array(out)


def test_corroborated_scores_are_causal_a_first_half_rerun_gives_the_same_scores() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(0, 1, (300, 4))
    values[200:205] += np.array([30.0, 2.5, 0.0, 1.0])  # one series alerts, others move a little
    whole = _host_scores(values)
    assert np.array_equal(_host_scores(values[:150]), whole[:150])
    assert np.array_equal(_host_scores(values[:250]), whole[:250])
    assert (whole[200:205, 1:] > 0).any()  # the concurrent moves were raised


@pytest.mark.parametrize("seed", range(20))
def test_host_share_is_the_flagged_share_of_the_other_usable_series_of_the_group(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    groups, flag, usable = rng.integers(-2, 3, n), rng.random(n) < 0.5, rng.random(n) < 0.8
    share = host_share(flag, usable, groups)
    for i in range(n):
        others = [j for j in range(n) if j != i and groups[j] == groups[i] and usable[j]]
        expected = sum(bool(flag[j]) for j in others) / len(others) if others else 0.0
        assert share[i] == pytest.approx(expected)


def test_a_joint_recent_jump_is_weighted_by_the_share_of_the_host_that_jumped() -> None:
    score, severity = np.zeros(4), np.zeros(4)  # every series inside its long-horizon envelopes
    recent, usable = np.array([0.8, 0.8, 0.8, 0.0]), np.ones(4, dtype=bool)
    raised, by = raise_scores(score, severity, usable, np.zeros(4, dtype=np.int64), 2.0, recent)
    assert raised[:3] == pytest.approx(1 - 0.2 ** (2 / 3))  # two of its three others jumped too
    assert raised[3] == 0.0 and by[3] == -1  # no recent record of its own: never raised
    assert set(by[:3].tolist()) <= {0, 1, 2} and all(by[i] != i for i in range(3))
    alone, _ = raise_scores(score, severity, usable, np.arange(4), 2.0, recent)
    assert np.array_equal(alone, score)  # a series alone on its host: no share, no raise
    without, _ = raise_scores(score, severity, usable, np.zeros(4, dtype=np.int64), 2.0)
    assert np.array_equal(without, score)


def _modest_joint_jump(recent: bool, at: int) -> tuple[np.ndarray, np.ndarray]:
    """Three smooth series with two huge joint dips early and a modest joint dip at row ``at`` (5-min rows)."""
    rng = np.random.default_rng(5)
    rows, n = at + 5, 3
    values = np.cumsum(rng.normal(0, 0.01, (rows, n)), axis=0)
    values[[300, 600]] -= 5.0  # two huge early dips: records of jumps down and up for a month
    values[at] -= 0.5  # a one-row dip ten times smaller: inside the long-horizon envelopes
    bank, config = DetectorBank(n, DetectorConfig(warmup_samples=50)), DetectorConfig()
    scores, severities = [], []
    for i, row in enumerate(values):
        result = bank.update(np.full(n, 300.0 * i), row)
        scores.append(corroborate(result, np.zeros(n, dtype=np.int64), config.corroborate_cap, recent).score)
        severities.append(result.severity)
    return np.array(scores), np.array(severities)


def test_a_modest_joint_jump_after_a_huge_one_is_found_through_the_recent_horizon() -> None:
    at = 600 + 288 * 20  # twenty days (over six recent half-lives) after the huge dips
    with_recent, severity = _modest_joint_jump(True, at)
    without, _ = _modest_joint_jump(False, at)
    assert np.all(severity[at] < 0.5) and np.all(without[at] < 0.5)  # the long horizon dwarfs it
    assert np.all(with_recent[at] > 0.9)  # each series jumped past its recent records, with the others


def test_recent_jump_records_follow_the_recent_horizon_only() -> None:
    config = DetectorConfig(warmup_samples=5)
    bank = DetectorBank(1, config)
    day = 288
    values = np.zeros(40 * day)
    values[100:] = 10.0  # one huge jump
    for k in range(20, 40):  # then a jump of 1 every day from day 20 on, up and back down
        values[k * day : k * day + 3] += 1.0
    recent = [bank.update(np.array([300.0 * i]), np.array([v])).recent[0] for i, v in enumerate(values)]
    assert recent[20 * day] > 0.9  # after 20 days the recent records have forgotten the huge jump
    # yesterday's jumps hold for a day: a daily jump of the same size is not a new record
    assert max(recent[k * day + j] for k in range(21, 40) for j in (0, 3)) == 0.0
    values[35 * day] += 0.5  # a bigger one is
    bank = DetectorBank(1, config)
    recent = [bank.update(np.array([300.0 * i]), np.array([v])).recent[0] for i, v in enumerate(values)]
    assert recent[35 * day] > 0.5


def _recent_after_a_step(discount: bool) -> tuple[list[float], int]:
    """One smooth series, a dip far deeper than any jump it has had (an outage), and a modest step two days later."""
    day, outage = 288, 3000
    values = np.cumsum(np.random.default_rng(7).normal(0, 0.01, outage + 2 * day + 5))
    values[outage : outage + 3] -= 5.0  # ~100 times its usual jumps, down and back up: two recent records
    values[outage + 2 * day :] += 0.5  # ten times smaller: masked if the outage's jumps set both records
    bank = DetectorBank(1, DetectorConfig(warmup_samples=50, recent_discount_flagged=discount))
    recent = [bank.update(np.array([300.0 * i]), np.array([v])).recent[0] for i, v in enumerate(values)]
    return recent, outage + 2 * day


def test_a_jump_past_the_long_horizons_top_does_not_set_the_recent_records() -> None:
    recent, at = _recent_after_a_step(True)
    masked, _ = _recent_after_a_step(False)
    assert masked[at] == 0.0  # taken whole, the outage's jumps hide the modest one for days
    # the first of them passed the long horizon's top and entered in part: the recent edge (the
    # second record) stays near the usual jumps, and the modest jump is a recent record
    assert recent[at] > 0.9


def test_the_recent_jump_view_is_held_by_the_after_alert_suppression() -> None:
    values = np.cumsum(np.random.default_rng(3).normal(0, 0.01, 400))
    values[300] += 1.0  # a one-row spike: an alert, then the jump back at row 301
    bank = DetectorBank(1, DetectorConfig(warmup_samples=50))
    results = [bank.update(np.array([300.0 * i]), np.array([v])) for i, v in enumerate(values)]
    assert results[300].score[0] > 0.9 and results[300].recent[0] > 0.9  # the spike alerts and is a recent record
    assert results[301].severity[0] > 0.0  # the jump back leaves the envelopes too,
    assert results[301].score[0] == 0.0 and results[301].recent[0] == 0.0  # and is suppressed in both views


def test_a_lone_alert_lifts_less_than_one_the_host_shares() -> None:
    usable, groups = np.ones(5, dtype=bool), np.zeros(5, dtype=np.int64)
    score = np.array([0.9, 0.0, 0.0, 0.0, 0.0])
    lone = np.array([0.9, 0.3, 0.0, 0.0, 0.0])  # only the alerting series departs besides series 1
    shared = np.array([0.9, 0.3, 0.1, 0.1, 0.1])  # the whole host departs with it
    whole, _ = raise_scores(score, lone, usable, groups, cap_ratio=1e9)
    weighed, by = raise_scores(score, lone, usable, groups, cap_ratio=1e9, share_power=1.0)
    assert whole[1] == pytest.approx(0.9)  # power 0 (default): the evidence taken whole
    assert weighed[1] == pytest.approx(1 - 0.1 ** (1 / 4)) and by[1] == 0  # one of its four others departs
    softer, _ = raise_scores(score, lone, usable, groups, cap_ratio=1e9, share_power=0.5)
    assert weighed[1] < softer[1] < whole[1]
    host_wide, _ = raise_scores(score, shared, usable, groups, cap_ratio=1e9, share_power=1.0)
    assert host_wide[1] == pytest.approx(0.9)  # every other series departs: the evidence counts whole


@pytest.mark.parametrize("seed", range(20))
def test_the_share_only_ever_weakens_the_raise(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    groups, usable = rng.integers(0, 3, n), rng.random(n) < 0.8
    severity = rng.choice([0.0, 0.2, 0.5, 0.9], n)
    score = np.where(rng.random(n) < 0.5, severity, 0.0)  # some suppressed
    whole, _ = raise_scores(score, severity, usable, groups, 2.0)
    for power in (0.5, 1.0):
        weighed, _ = raise_scores(score, severity, usable, groups, 2.0, None, power)
        assert np.all(weighed <= whole + 1e-12) and np.all(weighed >= score)


def test_the_service_weighs_the_hosts_evidence_with_the_configured_power() -> None:
    bank = DetectorBank(5, DetectorConfig(warmup_samples=2))
    for i in range(3):
        result = bank.update(np.full(5, 60.0 * i), np.zeros(5))
    lone = replace(
        result,
        valid=np.ones(5, dtype=bool),
        warming=np.zeros(5, dtype=bool),
        score=np.array([0.9, 0.0, 0.0, 0.0, 0.0]),
        severity=np.array([0.9, 0.3, 0.0, 0.0, 0.0]),
        recent=np.zeros(5),
    )

    def raised(power: float) -> float:
        config = StatisticalConfig(detector=DetectorConfig(corroborate_cap=1e9, corroborate_share_power=power))
        return float(judged_step(lone, [5], config).scores[1])

    assert raised(0.0) == pytest.approx(0.9) and raised(1.0) == pytest.approx(1 - 0.1 ** (1 / 4))
