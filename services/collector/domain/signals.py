"""Exposition series to the manual's signals: counters to increases and rates, exporters' metrics mapped (pure).

Counters are compared between two consecutive successful scrapes of an endpoint, as Prometheus'
``rate`` does: a counter that went down was reset (the process restarted) and its current value is
the increase since; a series absent from the previous scrape was born since (its first requests,
e.g. the first ``status="500"``) and its value is its increase. The first scrape gives gauges only.

Mapped, with the names the detector's rules already watch (``shared.metric_names``):

- node-exporter: ``node_cpu_seconds_total`` -> ``host.cpu_percent`` (busy share of all CPU time;
  idle and iowait are idle), ``node_memory_MemAvailable_bytes / MemTotal`` -> ``host.memory_percent``,
  ``node_filesystem_avail_bytes / size_bytes`` of one mount point -> ``host.disk_percent``,
  ``node_load1`` -> ``host.load1``, ``node_network_{receive,transmit}_bytes_total`` (loopback left
  out) -> ``host.net_{recv,sent}_bytes_per_s``;
- an application's request counter and latency histogram: ``http.requests_per_s`` (all requests over
  the interval), ``http.error_rate`` (failed / all requests over the interval; none without requests),
  ``http.latency_ms`` (mean) and ``http.latency_p50/p95/p99_ms`` from the histogram's buckets.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from services.collector.domain.exposition import Labels, Series, selected
from shared import metric_names as mn
from shared.models import MAX_ID, MetricSample

Key = tuple[str, Labels]
MAX_LABELS: Final = 32
_PRINTABLE: Final = re.compile(r"[^\x00-\x1f\x7f]*\Z")
IDLE_MODES: Final = frozenset({"idle", "iowait"})
QUANTILES: Final = ((0.5, mn.HTTP_LATENCY_P50), (0.95, mn.HTTP_LATENCY_P95), (0.99, mn.HTTP_LATENCY_P99))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The series of one successful scrape of an endpoint and when it was taken (monotonic seconds)."""

    at: float
    series: tuple[Series, ...]


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """How node-exporter's series become host signals."""

    disk_mountpoint: str = "/"
    net_exclude_devices: str = "lo"


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Which of an application's series count requests, which requests failed, where latency is."""

    requests: str = "http_requests_total"
    status_labels: tuple[str, ...] = ("status", "code", "status_code")
    error_status: str = "5.."
    latency: str = "http_request_duration_seconds"
    latency_to_ms: float = 1000.0


@dataclass(frozen=True, slots=True)
class SignalOptions:
    """What one endpoint's series are turned into."""

    node: NodeOptions | None = field(default_factory=NodeOptions)
    http: HttpOptions | None = field(default_factory=HttpOptions)
    passthrough: tuple[str, ...] = ()
    """Regexes of series names also published as they are (counters as ``<name>_per_s``), with labels."""
    max_passthrough: int = 200


def increases(previous: Snapshot, current: Snapshot) -> dict[Key, float]:
    """Return each cumulative series' increase since ``previous`` (a drop is a reset, a new series was born)."""
    before = {s.key: s.value for s in previous.series if s.cumulative}
    out: dict[Key, float] = {}
    for s in current.series:
        if not s.cumulative or not math.isfinite(s.value):
            continue
        old = before.get(s.key)
        out[s.key] = s.value if old is None or s.value < old else s.value - old
    return out


def _gauge(series: Iterable[Series], name: str, **labels: str) -> float | None:
    for s in series:
        if s.name == name and all(s.label(k) == v for k, v in labels.items()):
            return s.value
    return None


def _sample(name: str, value: float | None, unit: str, labels: Mapping[str, str] | None = None) -> list[MetricSample]:
    if value is None or not math.isfinite(value):
        return []
    return [MetricSample(name=name, value=float(value), unit=unit, labels=dict(labels or {}))]


def node_signals(
    current: Snapshot, inc: Mapping[Key, float] | None, elapsed: float, options: NodeOptions
) -> list[MetricSample]:
    """Host signals from node-exporter's series (rates only with ``inc``, the increases since the last scrape)."""
    series = current.series
    out: list[MetricSample] = []
    if inc is not None and elapsed > 0:
        total = idle = 0.0
        for (name, labels), delta in inc.items():
            if name == "node_cpu_seconds_total":
                total += delta
                idle += delta if dict(labels).get("mode") in IDLE_MODES else 0.0
        if total > 0:
            out += _sample(mn.HOST_CPU, min(100.0, max(0.0, 100.0 * (total - idle) / total)), "percent")
    available = _gauge(series, "node_memory_MemAvailable_bytes")
    memory = _gauge(series, "node_memory_MemTotal_bytes")
    if available is not None and memory:
        out += _sample(mn.HOST_MEMORY, 100.0 * (1.0 - available / memory), "percent")
    free = _gauge(series, "node_filesystem_avail_bytes", mountpoint=options.disk_mountpoint)
    size = _gauge(series, "node_filesystem_size_bytes", mountpoint=options.disk_mountpoint)
    if free is not None and size:
        out += _sample(mn.HOST_DISK, 100.0 * (1.0 - free / size), "percent")
    out += _sample(mn.HOST_LOAD1, _gauge(series, "node_load1"), "")
    if inc is not None and elapsed > 0:
        excluded = re.compile(f"(?:{options.net_exclude_devices})\\Z")
        for counter, metric in (
            ("node_network_receive_bytes_total", mn.HOST_NET_RECV),
            ("node_network_transmit_bytes_total", mn.HOST_NET_SENT),
        ):
            deltas = [
                d for (n, lab), d in inc.items() if n == counter and not excluded.match(dict(lab).get("device", ""))
            ]
            if deltas:
                out += _sample(metric, sum(deltas) / elapsed, "bytes/s")
    return out


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile`` over ``(upper bound, cumulative count)`` pairs; None without data.

    The count is interpolated linearly inside the bucket holding the rank; a rank in the ``+Inf``
    bucket gives the highest finite bound.
    """
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    counts, highest = [], 0.0
    for _, count in ordered:  # increases of a reset histogram can be non-monotonic: make them so
        highest = max(highest, count)
        counts.append(highest)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    b = next(i for i, c in enumerate(counts) if c >= rank)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    upper = ordered[b][0]
    if b == 0 and upper <= 0:
        return upper
    lower, below = (0.0, 0.0) if b == 0 else (ordered[b - 1][0], counts[b - 1])
    in_bucket = counts[b] - below
    if in_bucket <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / in_bucket


def _status(labels: Labels, names: Sequence[str]) -> str:
    found = dict(labels)
    return next((found[n] for n in names if n in found), "")


def http_signals(inc: Mapping[Key, float], elapsed: float, options: HttpOptions) -> list[MetricSample]:
    """Throughput, error rate and latency of an application over the interval (``inc``: increases)."""
    failed_status = re.compile(f"(?:{options.error_status})\\Z")
    requests = failed = 0.0
    seen = False
    buckets: defaultdict[float, float] = defaultdict(float)
    count = total_time = 0.0
    for (name, labels), delta in inc.items():
        if name == options.requests:
            seen = True
            requests += delta
            if failed_status.match(_status(labels, options.status_labels)):
                failed += delta
        elif name == options.latency + "_bucket":
            try:
                buckets[float(dict(labels).get("le", "nan"))] += delta
            except ValueError:
                continue
        elif name == options.latency + "_count":
            count += delta
        elif name == options.latency + "_sum":
            total_time += delta
    out: list[MetricSample] = []
    if seen and elapsed > 0:
        out += _sample(mn.HTTP_THROUGHPUT, requests / elapsed, "requests/s")
        if requests > 0:
            out += _sample(mn.HTTP_ERROR_RATE, failed / requests, "ratio")
    if count > 0:
        out += _sample(mn.HTTP_LATENCY_MEAN, total_time / count * options.latency_to_ms, "ms")
    finite = [(le, c) for le, c in buckets.items() if not math.isnan(le)]
    for q, metric in QUANTILES:
        value = histogram_quantile(q, finite)
        out += _sample(metric, None if value is None else value * options.latency_to_ms, "ms")
    return out


def rate_name(series: Series) -> str:
    """The published name of a cumulative series' rate: ``x_total`` -> ``x_per_s``, ``y_count`` -> ``y_count_per_s``."""
    return series.name.removesuffix("_total") + "_per_s"


def publishable(series: Series) -> bool:
    """Whether a series fits an event as it is: short name and labels, no control characters."""
    texts = [series.name, *(t for pair in series.labels for t in pair)]
    return len(series.labels) <= MAX_LABELS and all(len(t) <= MAX_ID and _PRINTABLE.match(t) for t in texts)


def passthrough_samples(
    current: Snapshot, inc: Mapping[Key, float] | None, elapsed: float, patterns: Sequence[str], limit: int
) -> tuple[list[MetricSample], int]:
    """Selected series as samples with their labels (cumulative ones as rates); return them and how many were cut."""
    out: list[MetricSample] = []
    cut = 0
    for s in selected(current.series, patterns):
        if not publishable(s):
            cut += 1
            continue
        if s.cumulative:
            if inc is None or elapsed <= 0 or s.key not in inc:
                continue
            found = _sample(rate_name(s), inc[s.key] / elapsed, "/s", dict(s.labels))
        else:
            found = _sample(s.name, s.value, "", dict(s.labels))
        if len(out) + len(found) > limit:
            cut += len(found)
            continue
        out += found
    return out, cut


@dataclass(frozen=True, slots=True)
class Interval:
    """The increases of the cumulative series between two consecutive good scrapes (monotonic seconds)."""

    start: float
    end: float
    inc: Mapping[Key, float]


def in_window(kept: Sequence[Interval], latest: Interval, window_s: float) -> tuple[Interval, ...]:
    """The intervals a rate over the last ``window_s`` covers once ``latest`` is added (at least ``latest``).

    Like Prometheus' ``rate(x[window])``: the increases of the consecutive intervals inside the window
    are summed, so a reset inside the window is handled interval by interval.
    """
    found = tuple(i for i in (*kept, latest) if i.start >= latest.end - window_s - 1e-6)
    return found or (latest,)


def combined(intervals: Sequence[Interval]) -> tuple[dict[Key, float], float]:
    """The summed increases of ``intervals`` and the time they span."""
    sums: defaultdict[Key, float] = defaultdict(float)
    for interval in intervals:
        for key, delta in interval.inc.items():
            sums[key] += delta
    return dict(sums), intervals[-1].end - intervals[0].start if intervals else 0.0


def samples_of(
    current: Snapshot, inc: Mapping[Key, float] | None, elapsed: float, options: SignalOptions
) -> tuple[list[MetricSample], int]:
    """Every sample one endpoint's scrape yields (``inc``: increases over ``elapsed`` s; None on a first scrape).

    Also returns how many selected series the limit cut.
    """
    out: list[MetricSample] = []
    if options.node is not None:
        out += node_signals(current, inc, elapsed, options.node)
    if options.http is not None and inc is not None:
        out += http_signals(inc, elapsed, options.http)
    passed, cut = passthrough_samples(current, inc, elapsed, options.passthrough, options.max_passthrough)
    return out + passed, cut


def derive(previous: Snapshot | None, current: Snapshot, options: SignalOptions) -> tuple[list[MetricSample], int]:
    """The samples of ``current`` with rates since ``previous`` (no window)."""
    if previous is None:
        return samples_of(current, None, 0.0, options)
    return samples_of(current, increases(previous, current), current.at - previous.at, options)
