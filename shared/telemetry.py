"""Prometheus metrics every service exports: events in/out, errors, lag, handler latency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from shared.events import Event
    from shared.topics import Topic

METRIC_PREFIX = "ir_"
"""Every Prometheus metric of every service starts with it (the services' own: ``ir_<service>_...``)."""
_LATENCY_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)


class ServiceMetrics:
    """The standard metrics of one service instance, in their own registry (tests build several)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = r = CollectorRegistry()
        self._children: dict[tuple[object, ...], Counter] = {}
        self.events_in = Counter("ir_events_in", "Events consumed", ["topic", "type"], registry=r)
        self.events_out = Counter("ir_events_out", "Events published", ["topic", "type"], registry=r)
        self.duplicates = Counter("ir_duplicates_dropped", "Redelivered events dropped", ["topic"], registry=r)
        self.errors = Counter(
            "ir_handler_errors", "Handler failures (retried, or dead-lettered after the last try)",
            ["topic", "outcome"], registry=r,
        )  # fmt: skip
        self.dead_letters = Counter("ir_dead_letters", "Records sent to a dead-letter topic", ["topic"], registry=r)
        self.lag = Gauge("ir_consumer_lag", "Records behind the partition end", ["topic", "partition"], registry=r)
        self.latency = Histogram(
            "ir_handler_seconds", "Handler latency", ["topic"], registry=r, buckets=_LATENCY_BUCKETS
        )

    def counted_in(self, topic: str, event_type: str) -> Counter:
        """The ``events_in`` child of one topic and type, looked up once (the hot path skips the label lock)."""
        return self._child(self.events_in, topic, event_type)

    def counted_out(self, topic: str, event_type: str) -> Counter:
        """The ``events_out`` child of one topic and type, looked up once."""
        return self._child(self.events_out, topic, event_type)

    def _child(self, metric: Counter, *labels: str) -> Counter:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def known_topic(self, topic: Topic[Event]) -> None:
        """Give every labelled counter of a consumed topic its series at zero, so ``increase()`` sees the first."""
        for event in topic.events:
            self.events_in.labels(topic.name, event.event_type)
        self.duplicates.labels(topic.name)
        self.dead_letters.labels(topic.name)
        for outcome in ("retried", "dead_lettered"):
            self.errors.labels(topic.name, outcome)
        self.latency.labels(topic.name)
