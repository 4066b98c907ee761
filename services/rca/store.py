"""Bounded in-memory window store: recent samples per (entity, metric), anomalies and log-pattern findings."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from shared import events as ev
from shared import metric_names as mn
from shared.models import Anomaly, AnomalyKind, MetricsObserved
from shared.problems import recovery_may_cause, within_disruption


def entity_of(target: str, host: str, metric: str) -> str:
    """Name the entity a metric belongs to: the host for host.* metrics, otherwise the target."""
    if metric.startswith("host.") or target.startswith(mn.HOST_TARGET_PREFIX):
        return host or target.removeprefix(mn.HOST_TARGET_PREFIX)
    return target


@dataclass(frozen=True)
class StoredAnomaly:
    """The latest revision of one anomaly episode (log-pattern anomalies carry their sample lines)."""

    anomaly: Anomaly
    entity: str
    resolved: bool
    peak_score: float = 0.0

    @property
    def display_signal(self) -> str:
        """The signal as the RCA names it: ``log:<template text>`` for log patterns, else the metric."""
        template = self.anomaly.labels.get("template")
        return f"log:{template[:80]}" if self.is_log_pattern and template else self.anomaly.signal

    @property
    def is_log_pattern(self) -> bool:
        """True when the anomaly is a log-pattern finding (signal ``log:<template_id>``)."""
        return self.anomaly.kind is AnomalyKind.LOG_PATTERN or self.anomaly.signal.startswith("log:")


PRUNE_EVERY_SHARE: Final = 0.01
"""The store prunes each time its newest sample has moved on by this share of its retention."""


class WindowStore:
    """Keeps the last ``retention_s`` seconds (and at most ``max_points`` samples) of every series.

    Pruning walks every series, so it runs once the newest sample has moved on by 1 % of the
    retention, not for each newer scrape (a collector's targets are scraped at different instants:
    per scrape, the walk cost a store of 16,000 series 445 us instead of 39). A series holds at most
    1 % more than its retention, and one with no sample left is forgotten with the target it
    belonged to.
    """

    def __init__(self, *, retention_s: float = 7200.0, max_points: int = 7200, disruption_s: float = 30.0) -> None:
        self.retention_s = retention_s
        self.max_points = max_points
        self.disruption_s = disruption_s
        self.series: dict[tuple[str, str], deque[tuple[float, float]]] = {}
        self.anomalies: dict[str, StoredAnomaly] = {}
        self.recovery_steps: dict[str, dict[str, tuple[datetime, datetime | None]]] = {}
        self.latest = 0.0
        self.pruned_at = 0.0

    def add(self, event: ev.Event) -> None:
        """Fold a MetricsObserved, Anomaly* or recovery step event in; other events are ignored."""
        if isinstance(event, ev.MetricsObserved):
            self.add_metrics(event.data)
        elif isinstance(event, ev.AnomalyEvent):
            self.add_anomaly(event.data, resolved=isinstance(event, ev.AnomalyResolved))
        elif isinstance(event, ev.RecoveryStepStarted | ev.RecoveryStepCompleted) and event.data.step is not None:
            steps = self.recovery_steps.setdefault(event.data.target, {})
            key = f"{event.data.plan_id}:{event.data.step.index}"
            started = steps.get(key, (event.time, None))[0]
            steps[key] = (started, event.time if isinstance(event, ev.RecoveryStepCompleted) else None)
            while len(steps) > 64:
                del steps[next(iter(steps))]

    def caused_by_recovery(self, stored: StoredAnomaly) -> bool:
        """Tell whether an anomaly began during a recovery step on its target (or its disruption window after).

        What a restart does to its target (a moment down, errors while it starts) is the cure's
        doing: never a root cause (the same rule as the responder's `caused_by_recovery`). A
        Critical-class anomaly never is (`shared.problems.recovery_may_cause`).
        """
        a = stored.anomaly
        if not recovery_may_cause(a.signal, a.impact, a.labels):
            return False
        return any(
            within_disruption(a.since, start, end, self.disruption_s)
            for start, end in self.recovery_steps.get(a.target, {}).values()
        )

    def add_metrics(self, data: MetricsObserved) -> None:
        """Append one scrape's samples."""
        at = data.observed_at.timestamp()
        for sample in data.samples:
            key = (entity_of(data.target, data.host, sample.name), sample.name)
            points = self.series.get(key)
            if points is None:
                points = self.series[key] = deque(maxlen=self.max_points)
            if points and at <= points[-1][0]:
                continue  # out of order (a replay overlapping live data): keep the series ascending
            points.append((at, sample.value))
        if at > self.latest:
            self.latest = at
            if at - self.pruned_at >= self.retention_s * PRUNE_EVERY_SHARE:
                self._prune(at)

    def add_anomaly(self, anomaly: Anomaly, *, resolved: bool = False) -> None:
        """Keep the latest revision of an anomaly episode."""
        known = self.anomalies.get(anomaly.anomaly_id)
        if known is not None and known.anomaly.revision > anomaly.revision and not resolved:
            return
        entity = entity_of(anomaly.target, anomaly.host, anomaly.signal)
        peak = max(anomaly.score, known.peak_score if known is not None else 0.0)
        self.anomalies[anomaly.anomaly_id] = StoredAnomaly(anomaly, entity, resolved, peak)

    def window(self, start: float, end: float) -> dict[str, list[tuple[float, float]]]:
        """Return ``{"<entity>|<metric>": [(ts, value), ...]}`` for samples in ``[start, end]``."""
        out: dict[str, list[tuple[float, float]]] = {}
        for (entity, metric), points in self.series.items():
            picked = [(t, v) for t, v in points if start <= t <= end]
            if picked:
                out[f"{entity}|{metric}"] = picked
        return out

    def anomalies_between(self, start: float, end: float) -> Iterator[StoredAnomaly]:
        """Yield anomalies whose episode overlaps ``[start, end]``."""
        for stored in self.anomalies.values():
            a = stored.anomaly
            if a.since.timestamp() <= end and a.last_seen.timestamp() >= start:
                yield stored

    def _prune(self, now: float) -> None:
        """Drop the samples and anomalies older than the retention, and the series left empty."""
        self.pruned_at = now
        horizon = now - self.retention_s
        emptied = []
        for series, points in self.series.items():
            while points and points[0][0] < horizon:
                points.popleft()
            if not points:
                emptied.append(series)
        for series in emptied:
            del self.series[series]
        stale = [k for k, s in self.anomalies.items() if s.anomaly.last_seen.timestamp() < horizon]
        for anomaly_id in stale:
            del self.anomalies[anomaly_id]
