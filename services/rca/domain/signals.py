"""Generic metric-kind awareness: which way a metric moves when something is wrong."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class MetricKind(StrEnum):
    """What a metric measures, as far as root-cause reasoning cares."""

    LATENCY = "latency"
    ERRORS = "errors"
    SUCCESS_SHARE = "success_share"
    TRAFFIC = "traffic"
    SATURATION = "saturation"
    OTHER = "other"


# Word-level cues found in metric names across monitoring systems (Prometheus, CloudWatch, X-Ray,
# OpenTelemetry). They describe what a metric *is*, never which system produced it.
_CUES: Final[tuple[tuple[MetricKind, re.Pattern[str]], ...]] = (
    (MetricKind.SUCCESS_SHARE, re.compile(r"availab|success|uptime|(?<![a-z])up(?![a-z])|health|apdex|hit_?ratio")),
    (
        MetricKind.ERRORS,
        re.compile(r"err|fail|fault|5xx|4xx|exception|timeout|drop|loss|retrans|reject|throttl|restart|oom"),
    ),
    (MetricKind.LATENCY, re.compile(r"laten|duration|response_?time|resp_?time|elapsed|delay|rtt|wait|_time")),
    (MetricKind.TRAFFIC, re.compile(r"workload|throughput|qps|rps|tps")),
    (
        MetricKind.SATURATION,
        re.compile(r"cpu|mem|disk|io|load|util|usage|saturat|queue|backlog|lag|thread|gc|swap|fd|socket"),
    ),
    (MetricKind.TRAFFIC, re.compile(r"request|req|count|sum|rate|calls|hits|ops|bytes|packets")),
)

# How much a deviation of each kind weighs: symptoms users feel (latency, errors) and resource
# exhaustion are strong evidence; traffic moves for many benign reasons (load shifts, retries).
KIND_WEIGHT: Final[dict[MetricKind, float]] = {
    MetricKind.LATENCY: 1.0,
    MetricKind.ERRORS: 1.0,
    MetricKind.SUCCESS_SHARE: 1.0,
    MetricKind.SATURATION: 1.0,
    MetricKind.TRAFFIC: 0.4,
    MetricKind.OTHER: 0.8,
}


_RATE_LIKE: Final = re.compile(r"rate|ratio|percent|pct|share|fraction|per_s")
# Error-kind counters of events at the entity itself (packets retransmitted, dropped or lost,
# restarts, OOM kills, evictions): a local fault, not failed requests that propagate to callers.
_FAULT_EVENT: Final = re.compile(r"retrans|drop|loss|restart|oom|evict")


def _words(metric: str) -> str:
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", metric).lower().replace("-", "_").replace(".", "_")


def is_rate_like(metric: str) -> bool:
    """Return True when the name says the metric is a rate or share, not a count per sample."""
    return bool(_RATE_LIKE.search(_words(metric)))


def counts_fault_events(metric: str) -> bool:
    """Return True when the name says the metric counts local fault events (retransmits, drops, restarts...)."""
    return bool(_FAULT_EVENT.search(_words(metric)))


def is_fault_event(metric: str) -> bool:
    """Return True for an error-kind metric that counts local fault events, not failed requests."""
    return classify_metric(metric) is MetricKind.ERRORS and counts_fault_events(metric)


def classify_metric(metric: str) -> MetricKind:
    """Return the kind of a metric from its name (first matching cue wins)."""
    name = _words(metric)
    for kind, pattern in _CUES:
        if pattern.search(name):
            return kind
    return MetricKind.OTHER


def bad_direction(kind: MetricKind) -> int:
    """Return +1 when rising is bad, -1 when falling is bad, 0 when both directions count."""
    if kind is MetricKind.SUCCESS_SHARE:
        return -1
    if kind in (MetricKind.LATENCY, MetricKind.ERRORS, MetricKind.SATURATION):
        return 1
    return 0
