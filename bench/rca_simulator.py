"""Synthetic microservice incidents with a known root cause, for checking that RCA methods generalise.

The simulator knows nothing about any ranking method: it draws a random call graph, lets requests
flow through it, derives each service's latency, errors and resource use from its own work plus its
callees', injects one fault at a random service and samples the result like a monitoring system
would (seconds to minutes, noise, gaps, many columns, hosts shared by services, irrelevant metrics).

Faults: cpu (own work slows, cpu saturates, co-located services slow a little), memory (leak, then
GC pauses slow it), delay (network delay on the service's link: its callers always see it, its own
server-side latency only sometimes), loss (packet loss: callers see retransmission waits and some
failed calls, the service itself mostly its retransmission counter), defect (a code defect makes a
share of requests fail fast, or makes them slow).

What makes it realistic rather than easy: callers may call a service several times per request
(their rise is then larger than the culprit's) or only for some requests (smaller); a caller whose
threads wait on a slow callee queues and slows beyond what it inherits; some services sit behind a
load balancer whose metrics are a second, client-side view of the same requests; per-service noise
differs, some services are scraped less often, some columns are missing (at times the culprit's
latency), unrelated services change during the incident or had a level shift in the history, and
the given anomaly start is off by up to a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from services.rca.domain import Case, MetricFrame

FAULTS: Final = ("cpu", "memory", "delay", "loss", "defect")
T0: Final = 1_700_000_000.0
_CALLS_PER_REQUEST: Final = (0.2, 0.5, 1.0, 1.0, 1.0, 2.0, 3.0)


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
        callers.append([(int(p), float(rng.choice(_CALLS_PER_REQUEST))) for p in picks])
    n_hosts = max(2, n // int(rng.integers(2, 5)))
    return _Graph(callers, rng.random(n) < 0.3, rng.integers(0, n_hosts, n))


def _ar_noise(rng: np.random.Generator, rows: int, size: int, level: np.ndarray | float) -> np.ndarray:
    """Return `rows` series of multiplicative noise (mean ~1) with some autocorrelation."""
    white = rng.standard_normal((rows, size))
    out = np.empty((rows, size))
    acc = np.zeros(rows)
    for i in range(size):
        acc = 0.6 * acc + white[:, i]
        out[:, i] = acc
    return np.exp(np.reshape(level, (-1, 1)) * out / 1.25)


def _fault_effects(
    rng: np.random.Generator, fault: str, root: int, on: np.ndarray, state: dict[str, np.ndarray], host_of: np.ndarray
) -> None:
    """Apply the fault to the root's own work, errors, memory, link delay and retransmissions."""
    sev = rng.uniform(0.2, 2.0)
    own, own_err, mem, wire, retrans = (state[k] for k in ("own", "own_err", "mem", "wire", "retrans"))
    if fault == "cpu":
        own[root] *= 1 + on * sev * 3
        neighbours = np.flatnonzero((host_of == host_of[root]) & (np.arange(host_of.size) != root))
        own[neighbours] *= 1 + on * sev * 0.2
    elif fault == "memory":
        mem[root] *= 1 + on * sev
        own[root] *= 1 + np.maximum(on - 0.3, 0.0) * sev * 2
    elif fault == "delay":
        added = on * rng.uniform(0.05, 1.0)
        wire[root] += added
        if rng.random() < 0.6:  # measured where the delay is added: the server sees it too
            own[root] += added
    elif fault == "loss":
        wire[root] += on * rng.uniform(0.02, 0.3)
        state["wire_err"][root] += on * rng.uniform(0.01, 0.15)
        own[root] *= 1 + on * rng.uniform(0.0, 0.3)
        retrans[root] += on * rng.uniform(5.0, 50.0)
    elif rng.random() < 0.6:
        own_err[root] += on * rng.uniform(0.03, 0.5)
        own[root] *= 1 - 0.5 * on
    else:  # a slow code path (an unindexed query, a lock)
        own[root] += on * rng.uniform(0.03, 0.5)


def _propagate(graph: _Graph, state: dict[str, np.ndarray], n_hist: int, amplify: np.ndarray) -> None:
    """Fill server- and client-side latency and errors: callees first (higher index)."""
    own, own_err, wire = state["own"], state["own_err"], state["wire"]
    n = own.shape[0]
    lat, err = own.copy(), own_err.copy()
    client_lat, client_err = own.copy(), own_err.copy()
    callees: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i in range(n):
        for c, k in graph.callers[i]:
            callees[c].append((i, k))
    for i in range(n - 1, -1, -1):
        if callees[i]:
            parts = np.vstack([client_lat[j] * k for j, k in callees[i]])
            waited = parts.max(axis=0) if graph.parallel[i] else parts.sum(axis=0)
            # Threads blocked on a slow callee make the caller queue: it slows beyond what it inherits.
            extra = np.maximum(waited - np.median(waited[:n_hist]), 0.0)
            lat[i] = own[i] + waited + (amplify[i] - 1.0) * extra
            ok = np.prod(np.vstack([(1 - client_err[j]) ** k for j, k in callees[i]]), axis=0)
            err[i] = 1 - (1 - own_err[i]) * ok
        client_lat[i] = lat[i] + wire[i]
        client_err[i] = 1 - (1 - err[i]) * (1 - state["wire_err"][i])
    state["lat"], state["err"], state["client_lat"], state["client_err"] = lat, err, client_lat, client_err


def _service_columns(
    rng: np.random.Generator,
    name: str,
    lat: np.ndarray,
    err: np.ndarray,
    req: np.ndarray,
    interval: float,
    noise: float,
) -> dict[str, np.ndarray]:
    size = lat.size
    served = req * interval
    tail = rng.uniform(2.0, 5.0)
    ar = _ar_noise(rng, 3, size, np.array([noise, noise, 4 * noise]))
    spikes = 1 + (rng.random(size) < 0.02) * rng.pareto(1.5, size) * 3
    return {
        f"{name}|requests_total": rng.poisson(served).astype(float),
        f"{name}|errors_total": rng.binomial(np.maximum(served, 0).astype(int), np.clip(err, 0, 1)).astype(float),
        f"{name}|latency_mean": lat * ar[0],
        f"{name}|latency_p50": 0.8 * lat * ar[1],
        # Tail latency is heavy-tailed: rare large spikes, at any time.
        f"{name}|latency_p99": tail * lat * ar[2] * spikes,
    }


def simulate(rng: np.random.Generator, case_id: str) -> SimCase:
    """Generate one random incident."""
    n = int(rng.integers(8, 41))
    interval = float(rng.choice([1.0, 5.0, 15.0, 30.0, 60.0]))
    n_hist = int(rng.integers(40, 400))
    n_inc = int(rng.integers(8, 40))
    size = n_hist + n_inc
    ts: npt.NDArray[np.float64] = T0 + interval * np.arange(size, dtype=np.float64)
    start = float(ts[n_hist])
    graph = _graph(rng, n)
    root = int(rng.integers(0, n))
    fault = str(rng.choice(FAULTS))
    ramp = np.clip((np.arange(size) - n_hist + 1) / float(rng.integers(1, 5)), 0.0, 1.0)
    on = ramp if fault != "memory" else np.clip((np.arange(size) - n_hist) / n_inc, 0.0, 1.0)
    on = np.where(np.arange(size) >= n_hist, on, 0.0)
    # Traffic: entry load with a slow wave, then each service gets its callers' calls.
    phase = rng.random() * 6.28
    entry = rng.uniform(20, 500) * (1 + 0.3 * np.sin(phase + np.arange(size) / rng.uniform(50, 300)))
    entry = entry * _ar_noise(rng, 1, size, 0.05)[0]
    req = np.zeros((n, size))
    req[0] = entry
    for i in range(1, n):
        for c, k in graph.callers[i]:
            req[i] += req[c] * k
    noise = rng.uniform(0.03, 0.2, n)
    state = {
        "own": rng.lognormal(np.log(0.01), 0.8, n)[:, None] * _ar_noise(rng, n, size, 0.08),
        "own_err": rng.uniform(0.0, 0.003, n)[:, None] * np.ones(size),
        "mem": rng.uniform(200, 2000, n)[:, None] * _ar_noise(rng, n, size, 0.01),
        "wire": np.full((n, size), 0.0005),
        "wire_err": np.zeros((n, size)),
        "retrans": rng.uniform(0.0, 2.0, n)[:, None] * _ar_noise(rng, n, size, 0.3),
    }
    _fault_effects(rng, fault, root, on, state, graph.host_of)
    amplify = np.where(rng.random(n) < 0.3, rng.uniform(1.1, 1.6, n), 1.0)
    _propagate(graph, state, n_hist, amplify)
    cols: dict[str, np.ndarray] = {}
    names = [f"svc-{i:02d}" for i in range(n)]
    host_cpu: dict[int, np.ndarray] = {}
    exports_retrans = rng.random() < 0.5
    for i, name in enumerate(names):
        cpu = np.clip(100 * req[i] * state["own"][i] / interval / rng.uniform(5, 50), 0, 100)
        if fault == "cpu" and i == root:
            cpu = np.clip(cpu + 90 * on, 0, 100)
        cpu = np.clip(cpu * _ar_noise(rng, 1, size, 0.05)[0], 0, 100)
        host_cpu.setdefault(int(graph.host_of[i]), np.zeros(size))
        host_cpu[int(graph.host_of[i])] += cpu / 4
        cols.update(_service_columns(rng, name, state["lat"][i], state["err"][i], req[i], interval, noise[i]))
        cols[f"{name}|gc_pause_ms"] = (rng.random(size) < 0.05) * rng.pareto(1.2, size) * 20
        cols[f"{name}|cpu_usage"] = cpu
        cols[f"{name}|memory_rss_mb"] = state["mem"][i]
        cols[f"{name}|threads"] = np.round(10 + 50 * req[i] * state["lat"][i] / 10 * _ar_noise(rng, 1, size, 0.1)[0])
        cols[f"{name}|net_bytes_in"] = req[i] * interval * 800 * _ar_noise(rng, 1, size, 0.1)[0]
        if exports_retrans:
            cols[f"{name}|tcp_retransmits"] = rng.poisson(np.maximum(state["retrans"][i], 0.0) * interval).astype(float)
        extras = int(rng.integers(0, 20))
        for extra, series in enumerate(_ar_noise(rng, extras, size, rng.uniform(0.01, 0.5, extras))):
            # Unrelated gauges every real system exports (config values, counters of other things).
            cols[f"{name}|metric_{extra:02d}"] = rng.uniform(1, 100) * series
        if i > 0 and rng.random() < 0.3:
            # A load balancer in front of the service: a client-side view of the same requests.
            cols.update(
                _service_columns(
                    rng, f"lb-{i:02d}", state["client_lat"][i] + 0.001, state["client_err"][i], req[i], interval, 0.05
                )
            )
    for h, cpu in host_cpu.items():
        cols[f"host-{h}|cpu_usage"] = np.clip(cpu + rng.uniform(5, 20), 0, 100) * _ar_noise(rng, 1, size, 0.03)[0]
        cols[f"host-{h}|disk_io_util"] = rng.uniform(5, 30) * _ar_noise(rng, 1, size, 0.3)[0]
    _disturb(rng, cols, names, root, n_hist, n_inc)
    _degrade(rng, cols, names[root], interval)
    span = n_hist * interval
    jitter = float(rng.choice([0.0, 0.0, -interval, interval, min(60.0, 0.2 * span), -min(60.0, 0.2 * span)]))
    case = Case(metrics=MetricFrame(ts, cols), anomaly_start=start + jitter, window_end=float(ts[-1]))
    return SimCase(case_id, case, names[root], fault)


def _disturb(
    rng: np.random.Generator, cols: dict[str, np.ndarray], names: list[str], root: int, n_hist: int, n_inc: int
) -> None:
    """Benign changes elsewhere: a batch job or cache refill in the incident, a deploy in the history."""
    size = n_hist + n_inc
    metrics = ["cpu_usage", "memory_rss_mb", "threads", "latency_p99", "net_bytes_in", "latency_mean"]
    for _ in range(int(rng.integers(0, 3))):
        other = int(rng.integers(0, len(names)))
        if other == root:
            continue
        col = cols[f"{names[other]}|{rng.choice(metrics)}"]
        a = int(rng.integers(n_hist - n_inc, size))
        col[a : a + int(rng.integers(2, n_inc + 1))] *= rng.uniform(1.3, 3.0)
    if rng.random() < 0.3:
        other = int(rng.integers(0, len(names)))
        if other != root:
            col = cols[f"{names[other]}|{rng.choice(metrics)}"]
            col[int(rng.integers(n_hist // 4, 3 * n_hist // 4)) :] *= rng.uniform(1.2, 2.0)


def _degrade(rng: np.random.Generator, cols: dict[str, np.ndarray], root: str, interval: float) -> None:
    """Gaps, services scraped less often than the rest, and columns that are missing altogether."""
    size = next(iter(cols.values())).size
    gap_share = rng.choice([0.0, 0.01, 0.05])
    every: dict[str, int] = {}
    for name in list(cols):
        entity, metric = name.split("|")
        lost = 0.1 if entity == root and metric.startswith("latency") else 0.05
        if rng.random() < lost:
            del cols[name]
            continue
        vals = cols[name]
        if interval <= 15.0:
            step = every.setdefault(entity, int(rng.choice([1, 1, 1, 2, 4])))
            if step > 1:
                vals[np.arange(size) % step != 0] = np.nan
        vals[rng.random(size) < gap_share] = np.nan
        if rng.random() < 0.05:
            a = int(rng.integers(0, size))
            vals[a : a + int(rng.integers(1, 10))] = np.nan


def generate(seed: int, count: int) -> list[SimCase]:
    """Return `count` incidents drawn with `seed` (same seed, same cases)."""
    rng = np.random.default_rng(seed)
    return [simulate(rng, f"sim-{seed}-{i:03d}") for i in range(count)]
