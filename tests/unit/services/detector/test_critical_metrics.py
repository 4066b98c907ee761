"""Metric-side Critical classes: outbound traffic far above its learned level is a leak; a failed or
stale backup and a collapsed row count are data loss."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.detector.domain.anomaly import DetectorConfig
from services.detector.domain.perf import PerfConfig
from services.detector.domain.rules import DEFAULT_RULES, DEMO_RULES, ThresholdRule
from services.detector.domain.series import StatisticalConfig
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import Change, Emission, TrackerConfig
from services.detector.settings import DetectorSettings
from shared import metric_names as mn
from shared.models import AnomalyKind, Impact, MetricSample, MetricsObserved

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = DetectionConfig(
    rules=DEFAULT_RULES, statistical=StatisticalConfig(enabled=False), perf=PerfConfig(enabled=False)
)
STATS = DetectionConfig(
    rules=(),
    statistical=StatisticalConfig(detector=DetectorConfig(warmup_samples=20)),
    perf=PerfConfig(enabled=False),
    tracker=TrackerConfig(close_delay_s=6),
)


def scrape(t: float, target: str, values: dict[str, float]) -> MetricsObserved:
    samples = tuple(MetricSample(name=k, value=v) for k, v in values.items())
    return MetricsObserved(
        target=target, host="h1", observed_at=T0 + timedelta(seconds=t), interval_s=2.0, samples=samples
    )


def feed(detector: TargetDetector, metric: str, values: list[float]) -> list[Emission]:
    out: list[Emission] = []
    for i, v in enumerate(values):
        out += detector.observe(scrape(2 * i, detector.target, {metric: v}))
    return [e for e in out if e.anomaly.signal == metric]


@pytest.mark.parametrize("rules", [DEFAULT_RULES, DEMO_RULES])
def test_a_failed_backup_is_data_loss_with_the_reason(rules: tuple[ThresholdRule, ...]) -> None:
    config = DetectionConfig(rules=rules, statistical=StatisticalConfig(enabled=False), perf=PerfConfig(enabled=False))
    out = feed(TargetDetector("demo-db", config), mn.BACKUP_LAST_OK, [1.0, 1.0, 0.0, 0.0, 1.0])
    assert [e.change for e in out] == [Change.DETECTED]
    anomaly = out[0].anomaly
    assert anomaly.impact is Impact.DATA_LOSS and anomaly.kind is AnomalyKind.THRESHOLD
    assert anomaly.labels["problem"] == "data_loss" and anomaly.labels["rule"] == "backup-failed"
    assert anomaly.labels["problem_reason"].startswith("the last backup failed: backup.last_ok")
    assert anomaly.summary.startswith("the last backup failed")


def test_a_backup_older_than_its_policy_is_data_loss() -> None:
    hour = 3600.0
    out = feed(TargetDetector("demo-db", RULES), mn.BACKUP_AGE, [1 * hour, 20 * hour, 25.9 * hour, 27 * hour])
    assert [e.change for e in out] == [Change.DETECTED]
    anomaly = out[0].anomaly
    assert anomaly.impact is Impact.DATA_LOSS and anomaly.threshold == mn.BACKUP_MAX_AGE_S
    assert "older than its policy (26 h)" in anomaly.labels["problem_reason"]


def test_backup_rules_are_in_the_default_and_demo_lists() -> None:
    for rules in (DEFAULT_RULES, DEMO_RULES):
        names = {r.name: r for r in rules}
        assert names["backup-failed"].metric == mn.BACKUP_LAST_OK
        assert names["backup-too-old"].value == 26 * 3600.0
    assert "backup-failed" in {r.name for r in DetectorSettings().rules}


def _noisy(rng: random.Random, n: int, level: float, spread: float) -> list[float]:
    return [max(0.0, level + rng.gauss(0, spread)) for _ in range(n)]


def test_outbound_traffic_far_above_its_learned_level_is_a_leak() -> None:
    rng = random.Random(7)
    usual, burst = 200_000.0, 60_000_000.0  # 200 kB/s, then 60 MB/s
    values = _noisy(rng, 60, usual, 20_000.0) + _noisy(rng, 15, burst, 1_000_000.0)
    out = feed(TargetDetector("host:h1", STATS), mn.HOST_NET_SENT, values)
    assert out, "no anomaly on outbound traffic"
    anomaly = out[0].anomaly
    assert anomaly.impact is Impact.DATA_LOSS and anomaly.labels["problem"] == "leak"
    assert anomaly.labels["problem_reason"].startswith("outbound traffic ")
    assert "times its learned level" in anomaly.labels["problem_reason"] and "B/s" in anomaly.summary


def test_outbound_traffic_a_little_above_its_level_is_not_a_leak() -> None:
    rng = random.Random(7)
    usual = 20_000_000.0  # 20 MB/s, then 3x: unusual, but not ten times
    values = _noisy(rng, 60, usual, 500_000.0) + _noisy(rng, 15, 3 * usual, 500_000.0)
    out = feed(TargetDetector("host:h1", STATS), mn.HOST_NET_SENT, values)
    assert out and all("problem" not in e.anomaly.labels for e in out)
    assert {e.anomaly.impact for e in out} == {Impact.RESOURCE_PRESSURE}


def test_a_collapsed_row_count_is_data_loss() -> None:
    rng = random.Random(3)
    values = [10_000.0 + round(rng.gauss(0, 5)) for _ in range(60)] + [40.0] * 10
    out = feed(TargetDetector("demo-db", STATS), mn.DB_ROWS, values)
    assert [e.change for e in out] == [Change.DETECTED], [e.anomaly.summary for e in out]
    anomaly = out[0].anomaly
    assert anomaly.impact is Impact.DATA_LOSS and anomaly.labels["problem"] == "data_loss"
    assert "row count 40, collapsed from its learned level" in anomaly.labels["problem_reason"]
