"""Combining rules, statistics and degradation into one anomaly episode per (target, signal)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.detector.domain.anomaly import DetectorConfig
from services.detector.domain.checkpoint import dumps_target, loads_target
from services.detector.domain.degradation import DegradationPolicy
from services.detector.domain.perf import PerfConfig
from services.detector.domain.rules import DEMO_RULES, ThresholdRule
from services.detector.domain.series import StatisticalConfig
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import Change, Emission, TrackerConfig
from shared.models import AnomalyKind, Impact, MetricSample, MetricsObserved

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CPU = ThresholdRule(
    name="cpu", metric="process.cpu_percent", value=90, clear_value=80, sustain_s=6, sustain_samples=2,
    clear_s=4, impact=Impact.RESOURCE_PRESSURE, unit="%",
)  # fmt: skip
RULES_ONLY = DetectionConfig(
    rules=(CPU,),
    statistical=StatisticalConfig(enabled=False),
    perf=PerfConfig(enabled=False),
    tracker=TrackerConfig(close_delay_s=6),
)


def scrape(t: float, target: str = "demo", **values: float) -> MetricsObserved:
    samples = tuple(MetricSample(name=k.replace("__", "."), value=v) for k, v in values.items())
    return MetricsObserved(
        target=target, host="h1", observed_at=T0 + timedelta(seconds=t), interval_s=2.0, samples=samples
    )


def cpu_run(detector: TargetDetector, values: list[float], start: float = 0.0) -> list[Emission]:
    out: list[Emission] = []
    for i, v in enumerate(values):
        out += detector.observe(scrape(start + 2 * i, process__cpu_percent=v))
    return out


HOG = [5.0] * 5 + [98.0] * 10 + [5.0] * 10


def test_one_long_breach_is_one_anomaly_detected_then_resolved() -> None:
    emitted = cpu_run(TargetDetector("demo", RULES_ONLY), HOG)
    assert [e.change for e in emitted] == [Change.DETECTED, Change.RESOLVED]
    detected, resolved = (e.anomaly for e in emitted)
    assert detected.anomaly_id == resolved.anomaly_id and resolved.revision == detected.revision + 1
    assert detected.kind is AnomalyKind.THRESHOLD and detected.impact is Impact.RESOURCE_PRESSURE
    assert detected.since == T0 + timedelta(seconds=10)  # when the breach began, not when it was confirmed
    assert detected.fingerprint == "demo/process.cpu_percent" and detected.threshold == 90
    assert "98" in detected.summary


def test_replaying_the_same_scrapes_gives_the_same_ids() -> None:
    a = cpu_run(TargetDetector("demo", RULES_ONLY), HOG)
    b = cpu_run(TargetDetector("demo", RULES_ONLY), HOG)
    assert [(e.anomaly.anomaly_id, e.anomaly.revision) for e in a] == [
        (e.anomaly.anomaly_id, e.anomaly.revision) for e in b
    ]


def test_a_scrape_not_newer_than_the_last_is_ignored() -> None:
    detector = TargetDetector("demo", RULES_ONLY)
    cpu_run(detector, HOG[:10])
    assert detector.observe(scrape(0, process__cpu_percent=98.0)) == []
    assert detector.observe(scrape(18, process__cpu_percent=5.0)) == []


def test_a_flapping_signal_within_the_close_delay_stays_one_episode() -> None:
    values = [98.0] * 5 + [5.0] * 2 + [98.0] * 5 + [5.0] * 10
    emitted = cpu_run(TargetDetector("demo", RULES_ONLY), values)
    assert [e.change for e in emitted] == [Change.DETECTED, Change.RESOLVED]


def test_impact_change_is_an_update_with_the_next_revision() -> None:
    rule = next(r for r in DEMO_RULES if r.metric == "http.error_rate")
    config = DetectionConfig(
        rules=(rule,), statistical=StatisticalConfig(enabled=False), perf=PerfConfig(enabled=False)
    )
    detector = TargetDetector("demo", config)
    out: list[Emission] = []
    for i, rate in enumerate([0.0, 0.05, 0.05, 0.05, 0.7, 0.7, 0.7]):
        out += detector.observe(scrape(2 * i, http__error_rate=rate))
    assert [(e.change, e.anomaly.revision, e.anomaly.impact) for e in out] == [
        (Change.DETECTED, 1, Impact.PARTIAL_OUTAGE),
        (Change.UPDATED, 2, Impact.MAJOR_FUNCTION),
    ]
    assert len({e.anomaly.anomaly_id for e in out}) == 1


def test_target_down_is_immediate_and_critical() -> None:
    config = DetectionConfig(
        rules=DEMO_RULES, statistical=StatisticalConfig(enabled=False), perf=PerfConfig(enabled=False)
    )
    detector = TargetDetector("demo", config)
    assert detector.observe(scrape(0, process__up=1)) == []
    (down,) = detector.observe(scrape(2, process__up=0))
    assert down.change is Change.DETECTED and down.anomaly.impact is Impact.SERVICE_DOWN
    assert down.anomaly.kind is AnomalyKind.TARGET_DOWN


def test_checkpoint_round_trip_continues_the_episode_without_duplicates() -> None:
    straight = cpu_run(TargetDetector("demo", RULES_ONLY), HOG)
    first = TargetDetector("demo", RULES_ONLY)
    part1 = cpu_run(first, HOG[:12])
    restored = loads_target(dumps_target(first), RULES_ONLY)
    part2 = cpu_run(restored, HOG[12:], start=24)
    assert [(e.change, e.anomaly.anomaly_id) for e in part1 + part2] == [
        (e.change, e.anomaly.anomaly_id) for e in straight
    ]


def _noisy(rng: random.Random, n: int, level: float) -> list[float]:
    return [max(0.0, level + rng.gauss(0, level * 0.2)) for _ in range(n)]


def test_statistics_catch_a_cpu_hog_before_the_fixed_threshold_and_merge_with_it() -> None:
    rng = random.Random(7)
    config = DetectionConfig(
        rules=(CPU.model_copy(update={"sustain_s": 20.0}),),
        statistical=StatisticalConfig(detector=DetectorConfig(warmup_samples=20)),
        perf=PerfConfig(enabled=False),
        tracker=TrackerConfig(close_delay_s=6),
    )
    detector = TargetDetector("demo", config)
    values = _noisy(rng, 60, 3.0) + [99.0] * 20
    emitted = cpu_run(detector, values)
    cpu = [e for e in emitted if e.anomaly.signal == "process.cpu_percent"]
    assert cpu[0].change is Change.DETECTED and cpu[0].anomaly.kind is AnomalyKind.STATISTICAL
    assert cpu[0].anomaly.since == T0 + timedelta(seconds=120)
    assert "usual" in cpu[0].anomaly.summary
    later = [e for e in cpu if e.change is Change.UPDATED]
    assert later and later[0].anomaly.kind is AnomalyKind.THRESHOLD
    assert {e.anomaly.anomaly_id for e in cpu} == {cpu[0].anomaly.anomaly_id}
    assert "statistical" in later[0].anomaly.labels["sources"] and "threshold" in later[0].anomaly.labels["sources"]


def test_latency_degradation_reports_degraded_since_and_severity_by_ratio() -> None:
    rng = random.Random(3)
    config = DetectionConfig(
        rules=(),
        statistical=StatisticalConfig(enabled=False),
        perf=PerfConfig(policy=DegradationPolicy(warmup_samples=10)),
        tracker=TrackerConfig(close_delay_s=4),
    )
    detector = TargetDetector("demo", config)
    out: list[Emission] = []
    latencies = _noisy(rng, 30, 20.0) + [200.0] * 8 + _noisy(rng, 10, 20.0)
    for i, v in enumerate(latencies):
        out += detector.observe(scrape(2 * i, http__latency_p95_ms=v, http__requests_per_s=5.0))
    assert [e.change for e in out] == [Change.DETECTED, Change.RESOLVED]
    anomaly = out[0].anomaly
    assert anomaly.kind is AnomalyKind.DEGRADATION and anomaly.impact is Impact.SEVERE_DEGRADATION
    assert anomaly.since == T0 + timedelta(seconds=60)
    assert anomaly.labels["degraded_since"] == anomaly.since.isoformat()
    assert "degraded since" in anomaly.summary


def test_a_long_statistical_episode_lasts_as_long_as_the_fault_then_resolves() -> None:
    rng = random.Random(11)
    config = DetectionConfig(
        rules=(),
        statistical=StatisticalConfig(detector=DetectorConfig(warmup_samples=20)),
        perf=PerfConfig(enabled=False),
        tracker=TrackerConfig(close_delay_s=6),
    )
    detector = TargetDetector("demo", config)
    hog = [max(0.0, 35.0 + rng.gauss(0, 3)) for _ in range(150)]  # well below the 90 % limit
    emitted = cpu_run(detector, _noisy(rng, 60, 3.0) + hog + _noisy(rng, 20, 3.0))
    cpu = [e for e in emitted if e.anomaly.signal == "process.cpu_percent"]
    assert [e.change for e in cpu if e.change is not Change.UPDATED] == [Change.DETECTED, Change.RESOLVED]
    assert cpu[-1].anomaly.last_seen >= T0 + timedelta(seconds=2 * (60 + 149))
    assert cpu[0].anomaly.since == T0 + timedelta(seconds=120)


def test_a_lasting_shift_is_accepted_as_normal_after_max_hold() -> None:
    rng = random.Random(5)
    stat = StatisticalConfig(detector=DetectorConfig(warmup_samples=20), max_hold_s=60)
    config = DetectionConfig(rules=(), statistical=stat, perf=PerfConfig(enabled=False), tracker=TrackerConfig(0))
    detector = TargetDetector("demo", config)
    emitted = cpu_run(detector, _noisy(rng, 60, 3.0) + [max(0.0, 35.0 + rng.gauss(0, 3)) for _ in range(300)])
    cpu = [e for e in emitted if e.anomaly.signal == "process.cpu_percent"]
    assert cpu and cpu[-1].change is Change.RESOLVED


def test_a_slowdown_below_the_latency_floor_is_not_reported() -> None:
    rng = random.Random(4)
    config = DetectionConfig(
        rules=(),
        statistical=StatisticalConfig(enabled=False),
        perf=PerfConfig(policy=DegradationPolicy(warmup_samples=10)),
    )
    detector = TargetDetector("demo", config)
    out: list[Emission] = []
    for i, v in enumerate(_noisy(rng, 30, 15.0) + [30.0] * 10):  # 2x slower, but only 15 ms
        out += detector.observe(scrape(2 * i, http__latency_p95_ms=v))
    assert out == []


def test_a_quiet_rule_keeps_no_state_and_a_missing_sample_keeps_an_active_one_firing() -> None:
    detector = TargetDetector("demo", RULES_ONLY)
    cpu_run(detector, [50.0] * 5)
    assert detector.rules == {}  # quiet: nothing kept, nothing written to checkpoints
    cpu_run(detector, [95.0], start=10)
    assert detector.rules["cpu"].breach_since is not None  # pending
    opened = cpu_run(detector, [95.0] * 4, start=12)
    assert [e.change for e in opened] == [Change.DETECTED]
    silent = [e for t in range(20, 36, 2) for e in detector.observe(scrape(float(t)))]
    assert not silent and detector.rules["cpu"].active  # no samples: the rule stays active, its anomaly open
    closed = cpu_run(detector, [50.0] * 10, start=36)
    assert [e.change for e in closed] == [Change.RESOLVED] and detector.rules == {}
