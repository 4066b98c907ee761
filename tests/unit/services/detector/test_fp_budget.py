"""The false-positive budget: a noisy series pages at most `per_day` times a day."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.detector.domain import budget as fp
from services.detector.domain.anomaly import DetectorConfig
from services.detector.domain.checkpoint import dumps_target, loads_target
from services.detector.domain.perf import PerfConfig
from services.detector.domain.series import StatisticalConfig
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import Change, Emission, TrackerConfig
from shared.models import MetricSample, MetricsObserved

DAY = 86_400.0
BUDGET = fp.EpisodeBudget(per_day=2, threshold_step=0.1, relax_s=DAY)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_no_budget_is_never_exhausted() -> None:
    state = fp.BudgetState()
    for k in range(50):
        state = fp.opened(state, 60.0 * k, fp.EpisodeBudget())
    assert not fp.exhausted(state, 3000.0, fp.EpisodeBudget())


def test_budget_counts_episodes_within_the_window_only() -> None:
    state = fp.opened(fp.opened(fp.BudgetState(), 0.0, BUDGET), 3600.0, BUDGET)
    assert fp.exhausted(state, 7200.0, BUDGET)
    assert not fp.exhausted(state, DAY + 1.0, BUDGET)  # the first episode has left the window
    assert fp.opened(state, DAY + 1.0, BUDGET).starts == (3600.0, DAY + 1.0)


def test_merging_raises_the_threshold_which_then_relaxes() -> None:
    state = fp.merged(fp.BudgetState(), 100.0, BUDGET)
    state = fp.merged(state, 100.0, BUDGET)
    assert fp.open_threshold(state, 0.5, 100.0, BUDGET) == pytest.approx(0.7)
    assert fp.open_threshold(state, 0.5, 100.0 + DAY, BUDGET) == pytest.approx(0.6)
    assert fp.open_threshold(fp.BudgetState(), 0.5, 0.0, BUDGET) == 0.5
    assert fp.open_threshold(fp.merged(state, 100.0, fp.EpisodeBudget(threshold_step=5.0)), 0.5, 100.0, BUDGET) == 0.99


def test_note_says_what_happened() -> None:
    state = fp.merged(fp.opened(fp.opened(fp.BudgetState(), 0.0, BUDGET), 10.0, BUDGET), 20.0, BUDGET)
    text = fp.note(state, 0.5, 20.0, BUDGET)
    assert "2 episodes in the last 24 h" in text and "budget of 2" in text
    assert "1 later burst merged" in text and "from 0.50 to 0.60" in text


def test_invalid_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="per_day"):
        fp.EpisodeBudget(per_day=-1)


def _run(per_day: int, bursts: int = 6) -> tuple[list[Emission], TargetDetector]:
    """A noisy CPU series: quiet noise, then ever larger bursts every 100 scrapes."""
    config = DetectionConfig(
        rules=(),
        statistical=StatisticalConfig(
            detector=DetectorConfig(warmup_samples=20), budget=fp.EpisodeBudget(per_day=per_day)
        ),
        perf=PerfConfig(enabled=False),
        tracker=TrackerConfig(close_delay_s=6),
    )
    detector = TargetDetector("demo", config)
    rng = random.Random(5)
    values = [3.0 + rng.gauss(0, 0.5) for _ in range(60)]
    for k in range(bursts):
        values += [30.0 * 2**k] * 3 + [3.0 + rng.gauss(0, 0.5) for _ in range(97)]
    out: list[Emission] = []
    for i, v in enumerate(values):
        sample = MetricSample(name="process.cpu_percent", value=v)
        scrape = MetricsObserved(
            target="demo", host="h", observed_at=T0 + timedelta(seconds=2 * i), interval_s=2.0, samples=(sample,)
        )
        out += detector.observe(scrape)
    return out, detector


def test_without_budget_every_burst_pages() -> None:
    out, _ = _run(per_day=0)
    assert sum(e.change is Change.DETECTED for e in out) >= 4  # more than the budget of 2 below


def test_a_noisy_series_pages_at_most_its_budget_and_later_bursts_merge() -> None:
    out, detector = _run(per_day=2)
    detected = [e for e in out if e.change is Change.DETECTED]
    assert len(detected) == 2
    last = detected[-1].anomaly.anomaly_id
    merged = [e for e in out if e.change is Change.UPDATED and e.anomaly.anomaly_id == last]
    assert merged and "merged into this episode" in merged[-1].anomaly.summary
    assert "budget of 2" in merged[-1].anomaly.summary
    assert not any(e.change is Change.RESOLVED and e.anomaly.anomaly_id == last for e in out)  # kept open
    state = detector.budgets["process.cpu_percent"]
    assert state.merged >= 1 and state.raise_by > 0
    restored = loads_target(dumps_target(detector), detector.config)
    assert restored.budgets == detector.budgets
