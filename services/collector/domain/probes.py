"""Probe statistics: reachability, latency percentiles and error rate of one scrape's HTTP probes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

SERVER_ERROR_FROM: Final = 500


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One HTTP request of a probe: the status (None when no response came) and how long it took."""

    status: int | None
    latency_ms: float
    error: str = ""

    @property
    def answered(self) -> bool:
        """The server sent a response (any status)."""
        return self.status is not None

    @property
    def failed(self) -> bool:
        """The request counts as an error: no response (refused, reset, timed out) or a 5xx status."""
        return self.status is None or self.status >= SERVER_ERROR_FROM


@dataclass(frozen=True, slots=True)
class ProbeSummary:
    """Statistics of one batch of probe requests; latencies are None when nothing answered."""

    requests: int
    up: bool
    error_rate: float
    latency_mean_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(results: Sequence[ProbeResult]) -> ProbeSummary:
    """Summarise a batch of probe results.

    ``up`` means at least one request got an HTTP response, whatever its status: a service that
    answers 500 is reachable but failing, which the error rate shows. Latencies are taken over
    answered requests only, so a refused connection (fast) or a timeout (the timeout, not the
    server's latency) does not distort them.
    """
    if not results:
        return ProbeSummary(0, False, 1.0, None, None, None, None)
    answered = [r.latency_ms for r in results if r.answered]
    errors = sum(1 for r in results if r.failed)
    if not answered:
        return ProbeSummary(len(results), False, errors / len(results), None, None, None, None)
    return ProbeSummary(
        requests=len(results),
        up=True,
        error_rate=errors / len(results),
        latency_mean_ms=sum(answered) / len(answered),
        latency_p50_ms=percentile(answered, 50),
        latency_p95_ms=percentile(answered, 95),
        latency_p99_ms=percentile(answered, 99),
    )
