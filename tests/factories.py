"""Builders of valid events for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared import events as ev
from shared import models as m

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """Return the test epoch plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def metrics(target: str = "demo", *, t: float = 0.0, **values: float) -> ev.MetricsObserved:
    """A scrape of ``target`` with the given metric values."""
    samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
    data = m.MetricsObserved(target=target, host="host-1", observed_at=at(t), interval_s=5.0, samples=samples)
    return ev.MetricsObserved.create(data, source="/tests", id_parts=(target, t), time=at(t), subject=target)


def anomaly(
    target: str = "demo",
    *,
    signal: str = "cpu_percent",
    t: float = 0.0,
    kind: m.AnomalyKind = m.AnomalyKind.THRESHOLD,
    impact: m.Impact = m.Impact.RESOURCE_PRESSURE,
    score: float = 0.9,
    revision: int = 1,
    cls: type[ev.Envelope[m.Anomaly]] = ev.AnomalyDetected,
) -> ev.Envelope[m.Anomaly]:
    """An anomaly episode event on ``target``."""
    data = m.Anomaly(
        anomaly_id=f"an-{target}-{signal}",
        fingerprint=f"{target}/{signal}",
        kind=kind,
        target=target,
        host="host-1",
        signal=signal,
        impact=impact,
        score=score,
        since=at(t),
        last_seen=at(t),
        revision=revision,
        summary=f"{signal} anomalous on {target}",
    )
    return cls.create(
        data, source="/tests", id_parts=(data.anomaly_id, revision, cls.event_type), time=at(t), subject=target
    )
