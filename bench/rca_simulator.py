"""Synthetic microservice incidents with a known root cause, for checking that RCA methods generalise.

The simulator knows nothing about any ranking method: it draws a random call graph, lets requests
flow through it, derives each service's latency, errors and resource use from its own work plus its
callees', injects one fault at a random service and samples the result like a monitoring system
would (seconds to minutes, noise, gaps, many columns, hosts shared by services, irrelevant metrics).

Faults: cpu (own work slows, cpu saturates), memory (leak, then GC pauses slow it), delay (network
delay added to every response of the service), loss (packet loss: retries add latency, some calls
fail), defect (a code defect makes a share of the service's requests fail fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from services.rca.domain import Case, MetricFrame

FAULTS: Final = ("cpu", "memory", "delay", "loss", "defect")
T0: Final = 1_700_000_000.0


@dataclass(frozen=True)
class SimCase:
    """One generated incident: the case, its root-cause entity and what was injected."""

    case_id: str
    case: Case
    root_cause: str
    fault: str


@dataclass(frozen=True)
class _Graph:
    callers: list[list[tuple[int, float]]]  # per service: (caller, calls per caller request)
    parallel: np.ndarray  # per service: whether it calls its callees in parallel
    host_of: np.ndarray


def _graph(rng: np.random.Generator, n: int) -> _Graph:
    callers: list[list[tuple[int, float]]] = [[]]
    for i in range(1, n):
        k = 1 if i < 3 or rng.random() < 0.6 else 2
        picks = rng.choice(i, size=min(k, i), replace=False)
        callers.append([(int(p), float(rng.choice([0.5, 1.0, 1.0, 2.0]))) for p in picks])
    n_hosts = max(2, n // int(rng.integers(2, 5)))
    return _Graph(callers, rng.random(n) < 0.3, rng.integers(0, n_hosts, n))


def _ar_noise(rng: np.random.Generator, size: int, level: float) -> np.ndarray:
    """Return multiplicative noise (mean ~1) with some autocorrelation."""
    white = rng.standard_normal(size)
    out = np.empty(size)
    acc = 0.0
    for i in range(size):
        acc = 0.6 * acc + white[i]
        out[i] = acc
    return np.exp(level * out / 1.25)


def simulate(rng: np.random.Generator, case_id: str) -> SimCase:
    """Generate one random incident."""
    n = int(rng.integers(8, 41))
    interval = float(rng.choice([1.0, 5.0, 15.0, 30.0, 60.0]))
    n_hist = int(rng.integers(40, 400))
    n_inc = int(rng.integers(8, 40))
    size = n_hist + n_inc
    ts = T0 + interval * np.arange(size)
    start = float(ts[n_hist])
    graph = _graph(rng, n)
    root = int(rng.integers(0, n))
    fault = str(rng.choice(FAULTS))
    ramp = np.clip((np.arange(size) - n_hist + 1) / max(1.0, rng.integers(1, 5)), 0.0, 1.0)
    on = ramp if fault not in ("memory",) else np.clip((np.arange(size) - n_hist) / n_inc, 0.0, 1.0)
    on = np.where(np.arange(size) >= n_hist, on, 0.0)
    # Traffic: entry load with a slow wave, then each service gets its callers' calls.
    phase = rng.random() * 6.28
    entry = rng.uniform(20, 500) * (1 + 0.3 * np.sin(phase + np.arange(size) / rng.uniform(50, 300)))
    entry = entry * _ar_noise(rng, size, 0.05)
    req = np.zeros((n, size))
    req[0] = entry
    for i in range(1, n):
        for c, k in graph.callers[i]:
            req[i] += req[c] * k
    own = rng.lognormal(np.log(0.01), 0.8, n)[:, None] * np.vstack([_ar_noise(rng, size, 0.08) for _ in range(n)])
    own_err = rng.uniform(0.0, 0.003, n)[:, None] * np.ones(size)
    mem = rng.uniform(200, 2000, n)[:, None] * np.vstack([_ar_noise(rng, size, 0.01) for _ in range(n)])
    sev = rng.uniform(0.2, 2.0)
    if fault == "cpu":
        own[root] *= 1 + on * sev * 3
    elif fault == "memory":
        mem[root] *= 1 + on * sev
        own[root] *= 1 + np.maximum(on - 0.3, 0.0) * sev * 2
    elif fault == "delay":
        own[root] += on * rng.uniform(0.05, 1.0)
    elif fault == "loss":
        own[root] += on * rng.uniform(0.02, 0.3)
        own_err[root] += on * rng.uniform(0.02, 0.2)
    else:
        own_err[root] += on * rng.uniform(0.03, 0.5)
        own[root] *= 1 - 0.5 * on
    # Latency and errors: callees first (higher index), a caller adds its callees' time and failures.
    lat = own.copy()
    err = own_err.copy()
    callees: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i in range(n):
        for c, k in graph.callers[i]:
            callees[c].append((i, k))
    for i in range(n - 1, -1, -1):
        if not callees[i]:
            continue
        # Mean latency adds the expected time spent in each callee (k calls per request on average).
        parts = np.vstack([lat[j] * k for j, k in callees[i]])
        lat[i] = own[i] + (parts.max(axis=0) if graph.parallel[i] else parts.sum(axis=0))
        ok = np.prod(np.vstack([(1 - err[j]) ** min(k, 1.0) for j, k in callees[i]]), axis=0)
        err[i] = 1 - (1 - own_err[i]) * ok
    cols: dict[str, np.ndarray] = {}
    names = [f"svc-{i:02d}" for i in range(n)]
    host_cpu: dict[int, np.ndarray] = {}
    for i, name in enumerate(names):
        cpu = np.clip(100 * req[i] * own[i] / interval / rng.uniform(5, 50), 0, 100)
        if fault == "cpu" and i == root:
            cpu = np.clip(cpu + 90 * on, 0, 100)
        cpu = np.clip(cpu * _ar_noise(rng, size, 0.05), 0, 100)
        host_cpu.setdefault(int(graph.host_of[i]), np.zeros(size))
        host_cpu[int(graph.host_of[i])] += cpu / 4
        served = req[i] * interval
        tail = rng.uniform(2.0, 5.0)
        cols[f"{name}|requests_total"] = rng.poisson(served).astype(float)
        cols[f"{name}|errors_total"] = rng.binomial(np.maximum(served, 0).astype(int), np.clip(err[i], 0, 1)).astype(
            float
        )
        cols[f"{name}|latency_mean"] = lat[i] * _ar_noise(rng, size, 0.05)
        cols[f"{name}|latency_p50"] = 0.8 * lat[i] * _ar_noise(rng, size, 0.05)
        # Tail latency and GC pauses are heavy-tailed: rare large spikes, at any time.
        spikes = 1 + (rng.random(size) < 0.02) * rng.pareto(1.5, size) * 3
        cols[f"{name}|latency_p99"] = tail * lat[i] * _ar_noise(rng, size, 0.2) * spikes
        cols[f"{name}|gc_pause_ms"] = (rng.random(size) < 0.05) * rng.pareto(1.2, size) * 20
        cols[f"{name}|cpu_usage"] = cpu
        cols[f"{name}|memory_rss_mb"] = mem[i]
        cols[f"{name}|threads"] = np.round(10 + 50 * req[i] * lat[i] / 10 * _ar_noise(rng, size, 0.1))
        cols[f"{name}|net_bytes_in"] = served * 800 * _ar_noise(rng, size, 0.1)
        for extra in range(int(rng.integers(0, 20))):
            # Unrelated gauges every real system exports (config values, counters of other things).
            cols[f"{name}|metric_{extra:02d}"] = rng.uniform(1, 100) * _ar_noise(rng, size, rng.uniform(0.01, 0.5))
    for h, cpu in host_cpu.items():
        cols[f"host-{h}|cpu_usage"] = np.clip(cpu + rng.uniform(5, 20), 0, 100) * _ar_noise(rng, size, 0.03)
        cols[f"host-{h}|disk_io_util"] = rng.uniform(5, 30) * _ar_noise(rng, size, 0.3)
    # Benign changes during the incident elsewhere (a batch job, a cache refill, a deploy) that
    # real incidents always have: a step or burst in one metric of one or two other services.
    for _ in range(int(rng.integers(0, 3))):
        other = int(rng.integers(0, n))
        if other == root:
            continue
        metric = str(rng.choice(["cpu_usage", "memory_rss_mb", "threads", "latency_p99", "net_bytes_in"]))
        col = cols[f"{names[other]}|{metric}"]
        a = int(rng.integers(n_hist - n_inc, size))
        col[a : a + int(rng.integers(2, n_inc + 1))] *= rng.uniform(1.3, 3.0)
    gap_share = rng.choice([0.0, 0.01, 0.05])
    for name in cols:
        vals = cols[name]
        vals[rng.random(size) < gap_share] = np.nan
        if rng.random() < 0.05:
            a = int(rng.integers(0, size))
            vals[a : a + int(rng.integers(1, 10))] = np.nan
    jitter = float(rng.choice([0.0, 0.0, -interval, interval]))
    case = Case(metrics=MetricFrame(ts, cols), anomaly_start=start + jitter, window_end=float(ts[-1]))
    return SimCase(case_id, case, names[root], fault)


def generate(seed: int, count: int) -> list[SimCase]:
    """Return `count` incidents drawn with `seed` (same seed, same cases)."""
    rng = np.random.default_rng(seed)
    return [simulate(rng, f"sim-{seed}-{i:03d}") for i in range(count)]
