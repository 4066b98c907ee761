"""Checkpoints: format 2 round-trips exactly, and a format-1 checkpoint of the previous version still loads."""

from __future__ import annotations

import base64
import random
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from services.detector.domain.anomaly import layout
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


def _as_v2(detector: TargetDetector) -> TargetDetector:
    """The same target with its recent jump records as an upgrade from detector state v2 sets them."""
    bank = detector.series.bank
    state = bank._state
    v2 = np.delete(state, list(layout.RECENT_ROWS), axis=0)
    state[:] = layout.from_v2(v2, bank._config)
    return detector


def test_a_format_1_checkpoint_of_the_previous_version_loads_the_same_state() -> None:
    config = DetectionConfig(rules=V1_RULES)
    restored = loads_target(base64.b64decode(V1.read_text()), config)
    # The fixture's series states are v2 (no recent jump records): all else loads as it was learned.
    assert dumps_target(restored) == dumps_target(_as_v2(learned(config=config)))
    assert dumps_target(restored) != dumps_target(learned(config=config))


def test_a_format_2_checkpoint_with_v2_series_states_upgrades_them() -> None:
    detector = learned()
    bank = detector.series.bank
    v2_rows = np.delete(bank._state, list(layout.RECENT_ROWS), axis=0)
    blob = dumps_target(detector)
    raw = zlib.decompress(blob)
    _, head_len, _ = struct.unpack_from("<4sII", raw)
    head = raw[12 : 12 + head_len]
    old = zlib.compress(struct.pack("<4sII", b"TDc2", head_len, v2_rows.shape[0]) + head + v2_rows.T.tobytes())
    restored = loads_target(old, DetectionConfig())
    assert dumps_target(restored) == dumps_target(_as_v2(learned()))
    state = restored.series.bank._state
    assert (state[layout.RECENT_HI1] > 0).all() and (state[layout.RECENT_HI2] <= state[layout.RECENT_HI1]).all()


def test_garbage_is_a_checkpoint_error() -> None:
    with pytest.raises(CheckpointError):
        loads_target(b"not a checkpoint", DetectionConfig())
