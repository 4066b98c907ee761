"""Checkpoints: format 2 round-trips exactly, and a format-1 checkpoint of the previous version still loads."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.detector.domain.checkpoint import CheckpointError, dumps_target, loads_target
from services.detector.domain.rules import DEFAULT_RULES
from services.detector.domain.target import DetectionConfig, TargetDetector
from shared import metric_names as mn
from shared.models import MetricSample, MetricsObserved

V1 = Path(__file__).parent / "fixtures" / "checkpoint_v1.b64"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


V1_RULES = tuple(r for r in DEFAULT_RULES if not r.metric.startswith("backup."))
"""The default rules of the version that wrote the format-1 fixture (the backup rules came later)."""


def learned(scrapes: int = 120, config: DetectionConfig | None = None) -> TargetDetector:
    """A target that learned a noisy series and has open CPU and latency episodes (deterministic)."""
    rng, detector = random.Random(4), TargetDetector("svc", config or DetectionConfig())
    for i in range(scrapes):
        faulty = i >= scrapes - 12
        values = {
            mn.HOST_CPU: 99.0 if faulty else rng.gauss(30, 3),
            mn.HTTP_LATENCY_P95: 900.0 if faulty else abs(rng.gauss(80, 8)),
            mn.HTTP_THROUGHPUT: abs(rng.gauss(40, 4)),
            mn.HTTP_UP: 1.0,
        }
        samples = tuple(MetricSample(name=k, value=v) for k, v in values.items())
        at = T0 + timedelta(seconds=2 * i)
        detector.observe(MetricsObserved(target="svc", host="h", observed_at=at, interval_s=2.0, samples=samples))
    return detector


def test_format_2_round_trips_everything() -> None:
    detector = learned()
    assert detector.episodes, "the fixture target has open episodes"
    blob = dumps_target(detector)
    assert dumps_target(loads_target(blob, DetectionConfig())) == blob


def test_a_format_1_checkpoint_of_the_previous_version_loads_the_same_state() -> None:
    config = DetectionConfig(rules=V1_RULES)
    restored = loads_target(base64.b64decode(V1.read_text()), config)
    assert dumps_target(restored) == dumps_target(learned(config=config))


def test_garbage_is_a_checkpoint_error() -> None:
    with pytest.raises(CheckpointError):
        loads_target(b"not a checkpoint", DetectionConfig())
