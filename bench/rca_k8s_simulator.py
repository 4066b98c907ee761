"""Kubernetes-style microservice incidents with metrics and logs, in several families, for leave-one-out checks.

A family fixes a style: how services are named (flat: `ts-order-service`, `checkoutservice`),
how the call graph is shaped (deep chains or a fan-out behind a front end), which pod/container
columns exist and how they are named (`cpu`, `mem`, `net_rx`, `net_tx`, `latency`, `errors`, ...),
how heavy and how steady traffic is, and whether services log. The faults are those seen on such
systems: cpu and memory stress, network delay and loss on a service's link, a pod failure (the pod
is down, its series stop or drop, it restarts), an exception thrown in a code path, and an error
code returned without an exception. Logs carry the fault as templates that appear (exceptions,
start-up lines after a restart), vanish (a dead pod writes nothing) or burst (retries, timeouts on
callers), next to noise: chatty services, rare templates, benign new templates and bursts on
services that have nothing to do with the fault.

The simulator knows nothing about any ranking method; metrics come from the same request-flow
model as rca_simulator.py (latency = own work + what callees add, errors compose along calls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from rca_simulator import T0, SimCase, _ar_noise, _Graph, _graph, _propagate

from services.rca.domain import Case, LogLine, MetricFrame, Topology

K8S_FAULTS: Final = ("cpu", "mem", "delay", "loss", "pod-failure", "exception", "error-return")
_WORDS: Final = (
    "order", "station", "travel", "route", "price", "basic", "ticketinfo", "seat", "config", "user", "auth",
    "verification", "contacts", "preserve", "food", "consign", "security", "assurance", "payment", "notification",
    "cancel", "rebook", "execute", "admin", "train", "voucher", "delivery", "plan", "inside-payment", "news",
    "avatar", "gateway", "wait-order", "food-delivery", "station-food", "train-food", "ui", "consign-price",
)  # fmt: skip
_SHOP: Final = (
    "frontend", "checkoutservice", "cartservice", "productcatalogservice", "currencyservice", "paymentservice",
    "shippingservice", "emailservice", "recommendationservice", "adservice", "redis", "reviewservice",
    "inventoryservice", "pricingservice", "searchservice", "authservice",
)  # fmt: skip
_VERBS: Final = ("query", "create", "update", "check", "load", "validate", "send", "fetch")
_NOISE_EXTRA: Final = ("threads", "fs_reads", "fs_writes", "jvm_heap", "gc_count", "open_fds", "sockets")


@dataclass(frozen=True)
class Family:
    """One style of system: naming, call graph, columns, traffic and logging."""

    name: str
    services: tuple[int, int]
    names: Callable[[np.random.Generator, int], list[str]]
    columns: dict[str, str]  # role -> column name (cpu, mem, rx, tx, lat, lat_tail, err, req)
    interval: tuple[float, ...]
    logs: bool
    extra_columns: int  # most unrelated container columns of one service
    temporal_traffic: float  # chance of a load change during the incident
    graph_share: float  # share of cases that come with their call graph


def _chain_names(rng: np.random.Generator, n: int) -> list[str]:
    words = rng.permutation(len(_WORDS))[:n]
    return [f"ts-{_WORDS[int(w)]}-service" for w in words]


def _shop_names(rng: np.random.Generator, n: int) -> list[str]:
    base = list(_SHOP[:1]) + [_SHOP[int(i)] for i in 1 + rng.permutation(len(_SHOP) - 1)]
    return base[:n]


FAMILIES: Final[dict[str, Family]] = {
    "k8s-chain": Family(
        "k8s-chain", (15, 38), _chain_names,
        {"cpu": "cpu", "mem": "mem", "rx": "net_rx", "tx": "net_tx", "lat": "latency", "err": "errors"},
        (1.0, 5.0, 15.0), True, 25, 0.2, 0.3,
    ),
    "k8s-flat": Family(
        "k8s-flat", (8, 16), _shop_names,
        {
            "cpu": "container_cpu_usage", "mem": "container_memory_working_set", "rx": "network_receive_bytes",
            "tx": "network_transmit_bytes", "lat": "latency-50", "lat_tail": "latency-90", "err": "error_count",
            "req": "request_count",
        },
        (1.0, 5.0, 30.0, 60.0), True, 6, 0.5, 0.0,
    ),
}  # fmt: skip


def _templates(rng: np.random.Generator, name: str, count: int) -> list[str]:
    out = []
    for i in range(count):
        verb = _VERBS[int(rng.integers(len(_VERBS)))]
        style = i % 4
        if style == 0:
            out.append(f"INFO {verb} {name.split('-')[-1]} request id={{id}} took {{ms}} ms")
        elif style == 1:
            out.append(f"INFO [{name}] {verb}d record {{n}} for user {{id}}")
        elif style == 2:
            out.append(f"DEBUG cache {verb} key {{id}} hit={{n}}")
        else:
            out.append(f"INFO {verb} step {i} finished with {{n}} items")
    return out


def _fill(rng: np.random.Generator, template: str) -> str:
    return (
        template.replace("{id}", f"{int(rng.integers(1 << 40)):010x}")
        .replace("{ms}", f"{rng.uniform(1, 500):.1f}")
        .replace("{n}", str(int(rng.integers(1, 10_000))))
    )


@dataclass
class _LogPlan:
    """Per service: templates and their lines per request, as rows of rates over time."""

    rates: dict[tuple[int, str], np.ndarray]

    def add(self, service: int, template: str, rate: np.ndarray) -> None:
        key = (service, template)
        self.rates[key] = self.rates.get(key, 0.0) + rate


def _emit(
    rng: np.random.Generator, plan: _LogPlan, names: list[str], ts: np.ndarray, interval: float, cap: int
) -> tuple[LogLine, ...]:
    """Draw the lines: Poisson counts per row, uniform times inside the row, capped per case."""
    total = sum(float(np.sum(r)) for r in plan.rates.values())
    thin = min(1.0, cap / max(total, 1.0))
    lines: list[LogLine] = []
    for (service, template), rate in plan.rates.items():
        counts = rng.poisson(np.maximum(rate, 0.0) * thin)
        for row in np.flatnonzero(counts):
            for _ in range(int(counts[row])):
                at = float(ts[row]) + float(rng.uniform(0.0, interval))
                lines.append(LogLine(at, names[service], _fill(rng, template)))
    lines.sort(key=lambda line: line.ts)
    return tuple(lines)


def simulate_k8s(rng: np.random.Generator, family: Family, case_id: str) -> SimCase:
    """Generate one incident of `family`."""
    n = int(rng.integers(family.services[0], family.services[1] + 1))
    interval = float(rng.choice(family.interval))
    n_hist, n_inc = int(rng.integers(60, 300)), int(rng.integers(10, 40))
    size = n_hist + n_inc
    ts = T0 + interval * np.arange(size, dtype=np.float64)
    rows = np.arange(size)
    graph = _graph(rng, n)
    names = family.names(rng, n)
    root = int(rng.integers(1, n)) if rng.random() < 0.9 else 0
    fault = str(rng.choice(K8S_FAULTS))
    on = np.clip((rows - n_hist + 1) / float(rng.integers(1, 4)), 0.0, 1.0) * (rows >= n_hist)
    # Traffic: a level from a few to thousands of requests/s, a slow wave, at times a load change.
    level = float(np.exp(rng.uniform(np.log(2.0), np.log(3000.0))))
    entry = level * (1 + 0.3 * np.sin(rng.random() * 6.28 + rows / rng.uniform(50, 300)))
    if rng.random() < family.temporal_traffic:
        at = int(rng.integers(n_hist - 5, size - 3))
        entry = entry * np.where(rows >= at, rng.choice([0.5, 1.8, 2.5]), 1.0)
    entry = entry * _ar_noise(rng, 1, size, 0.05)[0]
    req = np.zeros((n, size))
    req[0] = entry
    for i in range(1, n):
        for c, k in graph.callers[i]:
            req[i] += req[c] * k
    state = {
        "own": rng.lognormal(np.log(0.005), 0.8, n)[:, None] * _ar_noise(rng, n, size, 0.08),
        "own_err": rng.uniform(0.0, 0.002, n)[:, None] * np.ones(size),
        "mem": rng.uniform(100, 1500, n)[:, None] * _ar_noise(rng, n, size, 0.01),
        "wire": np.full((n, size), 0.0005),
        "wire_err": np.zeros((n, size)),
        "retrans": np.zeros((n, size)),
    }
    cpu_limit = rng.uniform(0.5, 2.0, n)
    cpu = np.minimum(req * state["own"] / rng.uniform(2, 20, n)[:, None] + 0.02, cpu_limit[:, None] * 0.6)
    down = np.zeros(size, dtype=bool)
    sev = rng.uniform(0.3, 2.0)
    if fault == "cpu":
        cpu[root] = np.maximum(cpu[root], on * cpu_limit[root] * rng.uniform(0.9, 1.0))
        state["own"][root] *= 1 + on * sev * 3
    elif fault == "mem":
        grow = np.clip((rows - n_hist) / n_inc, 0.0, 1.0) * (rows >= n_hist)
        state["mem"][root] *= 1 + grow * rng.uniform(1.0, 4.0)
        state["own"][root] *= 1 + np.maximum(grow - 0.5, 0.0) * sev
    elif fault == "delay":
        added = on * rng.uniform(0.05, 1.0)
        state["wire"][root] += added
        if rng.random() < 0.8:  # the pod's sidecar measures the delay added on its interface
            state["own"][root] += added
    elif fault == "loss":
        added = on * rng.uniform(0.02, 0.3)
        state["wire"][root] += added
        state["wire_err"][root] += on * rng.uniform(0.02, 0.3)
        if rng.random() < 0.8:
            state["own"][root] += 0.5 * added
    elif fault == "pod-failure":
        stop = n_hist + int(rng.integers(max(2, n_inc // 3), n_inc))
        down = (rows >= n_hist) & (rows < stop)
        state["own_err"][root] = np.where(down, 1.0, state["own_err"][root])
    elif fault == "exception":
        state["own_err"][root] += on * rng.uniform(0.05, 0.8)
    else:
        state["own_err"][root] += on * rng.uniform(0.05, 0.6)
        state["own"][root] *= 1 - 0.4 * on
    amplify = np.where(rng.random(n) < 0.3, rng.uniform(1.1, 1.6, n), 1.0)
    _propagate(graph, state, n_hist, amplify)
    cols = _columns(rng, family, names, state, req, cpu, interval, size)
    _blank(rng, cols, names[root], down)
    logs: tuple[LogLine, ...] = ()
    if family.logs:
        plan = _log_plan(rng, names, graph, req, state, interval, n_hist, size, root, fault, down)
        logs = _emit(rng, plan, names, ts, interval, cap=int(rng.integers(3_000, 12_000)))
    topology = None
    if rng.random() < family.graph_share:
        calls = frozenset((names[c], names[i]) for i in range(n) for c, _ in graph.callers[i])
        topology = Topology(calls=calls)
    jitter = float(rng.choice([0.0, 0.0, -interval, interval]))
    case = Case(
        metrics=MetricFrame(ts, cols),
        anomaly_start=float(ts[n_hist]) + jitter,
        window_end=float(ts[-1]),
        logs=logs,
        topology=topology,
    )
    return SimCase(case_id, case, names[root], fault)


def _columns(
    rng: np.random.Generator,
    family: Family,
    names: list[str],
    state: dict[str, np.ndarray],
    req: np.ndarray,
    cpu: np.ndarray,
    interval: float,
    size: int,
) -> dict[str, np.ndarray]:
    """Pod/container columns of every service, unrelated container columns, benign cpu bursts."""
    c = family.columns
    cols: dict[str, np.ndarray] = {}
    unit = 1000.0 if c["lat"] == "latency" else 1.0  # ms in one family, seconds in the other
    for i, name in enumerate(names):
        served = req[i] * interval
        noise = _ar_noise(rng, 6, size, np.array([0.05, 0.02, 0.1, 0.1, rng.uniform(0.03, 0.2), 0.3]))
        lat = state["lat"][i] * noise[4] * unit
        cols[f"{name}|{c['cpu']}"] = cpu[i] * noise[0]
        cols[f"{name}|{c['mem']}"] = state["mem"][i] * noise[1]
        cols[f"{name}|{c['rx']}"] = served * 600 * noise[2] * (1 - state["wire_err"][i])
        cols[f"{name}|{c['tx']}"] = served * 1500 * noise[3] * (1 - state["err"][i] * 0.8)
        cols[f"{name}|{c['lat']}"] = lat
        if "lat_tail" in c:
            cols[f"{name}|{c['lat_tail']}"] = lat * rng.uniform(2, 5) * noise[5]
        cols[f"{name}|{c['err']}"] = rng.binomial(served.astype(int), np.clip(state["err"][i], 0, 1)).astype(float)
        if "req" in c:
            cols[f"{name}|{c['req']}"] = rng.poisson(served).astype(float)
        for k in range(int(rng.integers(0, family.extra_columns + 1))):
            extra = _NOISE_EXTRA[k % len(_NOISE_EXTRA)] + (
                f"_{k // len(_NOISE_EXTRA)}" if k >= len(_NOISE_EXTRA) else ""
            )
            spiky = 1 + (rng.random(size) < 0.01) * rng.pareto(1.5, size) * 2
            cols[f"{name}|{extra}"] = rng.uniform(1, 100) * _ar_noise(rng, 1, size, rng.uniform(0.02, 0.4))[0] * spiky
    for name in names:
        if rng.random() < 0.15:  # a benign change: a batch job or a cache refill, at any time
            col = cols[f"{name}|{c['cpu']}"]
            a = int(rng.integers(size // 2, size))
            col[a : a + int(rng.integers(2, 20))] *= rng.uniform(1.5, 3.0)
    return cols


def _blank(rng: np.random.Generator, cols: dict[str, np.ndarray], root: str, down: np.ndarray) -> None:
    """A dead pod exports nothing or zeros; elsewhere a few gaps."""
    zeros = rng.random() < 0.5
    for name, values in cols.items():
        if name.startswith(root + "|") and down.any():
            values[down] = 0.0 if zeros and "lat" not in name else np.nan
        values[rng.random(values.size) < 0.01] = np.nan


def _log_plan(
    rng: np.random.Generator,
    names: list[str],
    graph: _Graph,
    req: np.ndarray,
    state: dict[str, np.ndarray],
    interval: float,
    n_hist: int,
    size: int,
    root: int,
    fault: str,
    down: np.ndarray,
) -> _LogPlan:
    """Usual chatter, noise, and the fault's templates on the root and on its callers."""
    plan = _LogPlan({})
    rows = np.arange(size)
    n = len(names)
    chatty = rng.random(n) < 0.2
    callers = graph.callers
    up = ~down
    for i, name in enumerate(names):
        if rng.random() < 0.15 and i != root:
            continue  # some services do not log at all
        per_req = float(np.exp(rng.uniform(np.log(0.002), np.log(0.2)))) * (30.0 if chatty[i] else 1.0)
        for template in _templates(rng, name, int(rng.integers(3, 25))):
            share = float(rng.dirichlet([1.0, 1.0])[0])
            plan.add(i, template, req[i] * interval * per_req * share * (up if i == root else 1.0))
        if rng.random() < 0.5:  # a rare template, now and then, history included
            plan.add(i, "WARN slow query on table t{n} took {ms} ms", np.full(size, 0.02))
    for _ in range(int(rng.integers(0, 3))):  # benign novelties and bursts anywhere, the incident included
        other = int(rng.integers(n))
        at = int(rng.integers(n_hist - 20, size))
        burst = ((rows >= at) & (rows < at + int(rng.integers(2, 15)))).astype(float)
        template = str(rng.choice(["INFO scheduled job {n} started", "WARN retrying connection to cache {id}"]))
        plan.add(other, template, burst * rng.uniform(2, 30))
    faulty = (rows >= n_hist) & (state["own_err"][root] > 0.01) | down
    err_rows = np.maximum(state["err"] - np.median(state["err"][:, :n_hist], axis=1, keepdims=True), 0.0)
    wait_rows = np.maximum(state["lat"] - np.median(state["lat"][:, :n_hist], axis=1, keepdims=True), 0.0)
    root_word = names[root]
    if fault == "exception":
        line = f"ERROR java.lang.{rng.choice(['NullPointerException', 'IllegalStateException'])} at {{id}}"
        plan.add(root, line, req[root] * interval * state["own_err"][root] * faulty)
    elif fault == "error-return" and rng.random() < 0.6:
        plan.add(
            root, "WARN request {id} rejected with code {n}", req[root] * interval * state["own_err"][root] * faulty
        )
    elif fault == "pod-failure":
        restart = np.flatnonzero(down)[-1] + 1 if down.any() else size
        if restart < size:
            for line in ("INFO Starting application v{n}", "INFO Started in {ms} seconds", "INFO listening on {n}"):
                plan.add(root, line, (rows == restart).astype(float) * 3)
    elif fault == "mem" and rng.random() < 0.6:
        plan.add(
            root, "WARN GC overhead {ms} ms heap {n} MB", np.clip((rows - n_hist) / 5.0, 0, 1) * 2 * (rows >= n_hist)
        )
    direct = {c for c, _ in callers[root]}
    for i in range(n):
        if i == root:
            continue
        if fault in ("exception", "error-return", "pod-failure", "loss"):
            # Every service whose calls failed logs it; a direct caller may name the callee.
            text = "ERROR upstream request {id} failed status {n}"
            if i in direct and rng.random() < 0.5:
                text = f"ERROR call to {root_word} failed: {{n}}"
            plan.add(i, text, req[i] * interval * err_rows[i])
        if fault in ("delay", "loss", "cpu", "mem"):
            plan.add(
                i, "WARN request {id} timed out after {ms} ms", req[i] * interval * np.minimum(wait_rows[i], 1.0) * 0.05
            )
    return plan


def generate_family(family: str, seed: int, count: int) -> list[SimCase]:
    """Return `count` incidents of `family` drawn with `seed` (same seed, same cases)."""
    rng = np.random.default_rng(seed)
    spec = FAMILIES[family]
    return [simulate_k8s(rng, spec, f"{family}-{seed}-{i:03d}") for i in range(count)]
