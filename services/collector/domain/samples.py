"""Readings to metric samples, named as in ``shared.metric_names``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.collector.domain.probes import ProbeSummary
from shared import metric_names as mn
from shared.models import MAX_ITEMS, MetricSample


@dataclass(frozen=True, slots=True)
class HostReading:
    """Host-wide resource usage at one scrape; network rates are None on the first scrape."""

    cpu_percent: float
    memory_percent: float
    disk_percent: float
    load1: float
    net_sent_per_s: float | None = None
    net_recv_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class ProcessReading:
    """The watched process at one scrape; usage fields are None while it is down."""

    up: bool
    restarts: int
    cpu_percent: float | None = None
    rss_bytes: float | None = None
    threads: float | None = None


def _sample(name: str, value: float | None, unit: str) -> list[MetricSample]:
    return [] if value is None else [MetricSample(name=name, value=float(value), unit=unit)]


def host_samples(reading: HostReading) -> tuple[MetricSample, ...]:
    """Return the host metrics of one scrape."""
    return (
        *_sample(mn.HOST_CPU, reading.cpu_percent, "percent"),
        *_sample(mn.HOST_MEMORY, reading.memory_percent, "percent"),
        *_sample(mn.HOST_DISK, reading.disk_percent, "percent"),
        *_sample(mn.HOST_LOAD1, reading.load1, ""),
        *_sample(mn.HOST_NET_SENT, reading.net_sent_per_s, "bytes/s"),
        *_sample(mn.HOST_NET_RECV, reading.net_recv_per_s, "bytes/s"),
    )


def target_samples(process: ProcessReading | None, probe: ProbeSummary | None) -> tuple[MetricSample, ...]:
    """Return a target's process and HTTP metrics; a part not configured for the target is left out."""
    out: list[MetricSample] = []
    if process is not None:
        out += _sample(mn.PROCESS_UP, 1.0 if process.up else 0.0, "")
        out += _sample(mn.PROCESS_RESTARTS, process.restarts, "count")
        out += _sample(mn.PROCESS_CPU, process.cpu_percent, "percent")
        out += _sample(mn.PROCESS_RSS, process.rss_bytes, "bytes")
        out += _sample(mn.PROCESS_THREADS, process.threads, "count")
    if probe is not None:
        out += _sample(mn.HTTP_UP, 1.0 if probe.up else 0.0, "")
        out += _sample(mn.HTTP_ERROR_RATE, probe.error_rate, "ratio")
        out += _sample(mn.HTTP_LATENCY_MEAN, probe.latency_mean_ms, "ms")
        out += _sample(mn.HTTP_LATENCY_P50, probe.latency_p50_ms, "ms")
        out += _sample(mn.HTTP_LATENCY_P95, probe.latency_p95_ms, "ms")
        out += _sample(mn.HTTP_LATENCY_P99, probe.latency_p99_ms, "ms")
    return tuple(out)


def merge_samples(own: Sequence[MetricSample], scraped: Sequence[MetricSample]) -> tuple[MetricSample, ...]:
    """The target's own samples and its endpoints', at most ``MAX_ITEMS``.

    An unlabelled signal an endpoint derived (``http.error_rate`` from the application's request
    counters) replaces the probe's sample of the same name: real traffic outweighs a few probes.
    """
    derived = {s.name for s in scraped if not s.labels}
    merged = [s for s in own if s.name not in derived] + list(scraped)
    return tuple(merged[:MAX_ITEMS])
