"""Many targets stepped together give exactly what one ``observe`` per target gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.detector.domain.checkpoint import dumps_target
from services.detector.domain.target import DetectionConfig, TargetDetector, observe_together
from shared import metric_names as mn
from shared.models import MetricSample, MetricsObserved

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WATCHED = (mn.HOST_CPU, mn.HOST_MEMORY, mn.PROCESS_CPU, mn.HTTP_LATENCY_P95, mn.HTTP_ERROR_RATE, mn.HTTP_THROUGHPUT)


def scrapes(target: str, rng: random.Random, count: int, fault_at: int) -> list[MetricsObserved]:
    """A target's scrapes: noise, a CPU and latency fault from ``fault_at``, some metrics missing now and then."""
    out = []
    for i in range(count):
        faulty = fault_at <= i < fault_at + 15
        values = {
            mn.HOST_CPU: 97.0 if faulty else rng.gauss(30, 3),
            mn.HOST_MEMORY: rng.gauss(50, 1),
            mn.PROCESS_CPU: rng.gauss(10, 2),
            mn.HTTP_LATENCY_P95: 900.0 if faulty else abs(rng.gauss(80, 8)),
            mn.HTTP_ERROR_RATE: 0.0,
            mn.HTTP_THROUGHPUT: abs(rng.gauss(40, 4)),
            mn.HTTP_UP: 1.0,
        }
        samples = tuple(MetricSample(name=k, value=v) for k, v in values.items() if rng.random() > 0.05)
        at = T0 + timedelta(seconds=2 * i)
        out.append(MetricsObserved(target=target, host="h", observed_at=at, interval_s=2.0, samples=samples))
    return out


def test_the_same_emissions_and_state_as_one_target_at_a_time() -> None:
    rng = random.Random(3)
    config = DetectionConfig()
    names = [f"svc-{n}" for n in range(7)]
    streams = {name: scrapes(name, rng, 140, fault_at=60 + 9 * n) for n, name in enumerate(names)}
    alone = {name: TargetDetector(name, config) for name in names}
    together = {name: TargetDetector(name, config) for name in names}
    expected, got = [], []
    for i in range(140):
        wave = [name for name in names if (i + len(name)) % 5]  # not every target scrapes every round
        for name in wave:
            expected += alone[name].observe(streams[name][i])
        for emissions in observe_together([(together[name], streams[name][i]) for name in wave]):
            got += emissions
    assert expected and got == expected
    assert [dumps_target(together[n]) for n in names] == [dumps_target(alone[n]) for n in names]


def test_a_redelivered_scrape_is_skipped_in_a_batch_too() -> None:
    detector = TargetDetector("svc", DetectionConfig())
    stream = scrapes("svc", random.Random(1), 3, fault_at=99)
    observe_together([(detector, stream[1])])
    assert observe_together([(detector, stream[0]), (TargetDetector("b", DetectionConfig()), stream[2])])[0] == []


def test_a_target_twice_in_one_step_is_refused() -> None:
    detector = TargetDetector("svc", DetectionConfig())
    a, b = scrapes("svc", random.Random(1), 2, fault_at=99)
    with pytest.raises(ValueError, match="only once"):
        observe_together([(detector, a), (detector, b)])


def corroborating_scrapes(target: str, rng: random.Random, count: int) -> list[MetricsObserved]:
    """Scrapes whose faults move one metric far and others a little (corroboration lifts the little ones)."""
    n = int(target.rsplit("-", 1)[1])
    out = []
    for i in range(count):
        faulty = (i // 37 + n) % 4 == 0 and i % 37 > 20
        mild = 1.0 + rng.random() * (1.5 if faulty else 0.1)
        values = {
            mn.HOST_CPU: 95.0 if faulty and n % 2 else rng.gauss(30, 3),
            mn.HOST_MEMORY: rng.gauss(50, 1) * (mild if n % 3 == 0 else 1),
            mn.PROCESS_CPU: rng.gauss(10, 2) * mild,
            mn.HTTP_LATENCY_P95: abs(rng.gauss(80, 8)) * (8 if faulty and n % 5 == 1 else mild),
            mn.HTTP_THROUGHPUT: abs(rng.gauss(40, 4)) / mild,
        }
        samples = tuple(MetricSample(name=k, value=v) for k, v in values.items() if rng.random() > 0.03)
        at = T0 + timedelta(seconds=2 * i)
        out.append(MetricsObserved(target=target, host="h", observed_at=at, interval_s=2.0, samples=samples))
    return out


def test_corroboration_across_a_step_stays_within_each_target() -> None:
    rng = random.Random(5)
    config = DetectionConfig()
    names = [f"svc-{n}" for n in range(12)]
    streams = {name: corroborating_scrapes(name, rng, 300) for name in names}
    alone = {name: TargetDetector(name, config) for name in names}
    together = {name: TargetDetector(name, config) for name in names}
    expected, got = [], []
    for i in range(300):
        for name in names:
            expected += alone[name].observe(streams[name][i])
        for emissions in observe_together([(together[name], streams[name][i]) for name in names]):
            got += emissions
    assert any("corroborated_by" in e.anomaly.labels for e in expected)  # the case under test happens
    assert got == expected
    assert [dumps_target(together[n]) for n in names] == [dumps_target(alone[n]) for n in names]
