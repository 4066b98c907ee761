"""Chaos runs of the whole pipeline: a metric stream with faults, services killed mid-stream, what came out.

A run starts the embedded stack under its supervisor with two instances of every consuming
service, publishes a stream of scrapes for many targets (some go down at planned times and come
back only when recovery's declared HTTP action reaches the sink), kills processes with SIGKILL at
planned times, and then reads what happened from the sink (every page and every action received,
duplicates included) and from the incidents topic. ``compare`` sets a disturbed run against an
undisturbed one: incidents lost, pages and actions duplicated, final states that differ.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx

from incidentctl import stack
from incidentctl.procs import free_port
from services.responder.notify.messages import CATALOG
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.replay import replay
from shared.runtime import Service
from shared.topics import INCIDENTS

CONSUMERS: Final = {"detector": 2, "responder": 2, "recovery": 2, "rca": 2}
READY_LIMIT_S: Final = 30.0


@dataclass(frozen=True)
class ChaosPlan:
    """What a run does: the stream, the faults, the kills (seconds after the stream starts)."""

    targets: int = 40
    events: int = 10_000
    rate_per_s: float = 100.0
    faults: tuple[tuple[str, float], ...] = tuple((f"svc-{i:02d}", 8.0 + 10.0 * i) for i in range(8))
    kills: tuple[tuple[str, float], ...] = ()
    settle_s: float = 90.0


DEFAULT_KILLS: Final = (
    ("detector", 12.0),
    ("responder", 24.0),
    ("recovery", 36.0),
    ("rca", 48.0),
    ("collector", 60.0),
    ("noida-db", 72.0),
)


@dataclass
class Received:
    """One request the sink received."""

    path: str
    at: float
    key: str
    body: dict[str, Any]


class Sink(ThreadingHTTPServer):
    """Pager and action endpoint in one: keeps every request, duplicates included."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _SinkHandler)
        self.lock = threading.Lock()
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        """Base URL of the sink."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of(self, prefix: str) -> list[Received]:
        """Requests whose path starts with ``prefix``."""
        with self.lock:
            return [r for r in self.received if r.path.startswith(prefix)]


class _SinkHandler(BaseHTTPRequestHandler):
    server: Sink

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"raw": raw.decode(errors="replace")}
        key = (
            self.headers.get("X-Idempotency-Key")  # a page
            or self.headers.get("Idempotency-Key")  # a recovery step
            or str(body.get("notification_id", ""))
        )
        with self.server.lock:
            self.server.received.append(Received(self.path, time.time(), key, body))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@dataclass
class RunResult:
    """What one run produced."""

    label: str
    events_sent: int
    kills: list[dict[str, Any]] = field(default_factory=list)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> opened count, final status
    pages: list[Received] = field(default_factory=list)
    actions: list[Received] = field(default_factory=list)
    fallback: list[Received] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def chaos_overrides(sink: Sink, plan: ChaosPlan) -> dict[str, dict[str, Any]]:
    """Service configurations of a chaos run: synthetic targets, pages and actions to the sink."""
    faulted = [name for name, _ in plan.faults]
    route = {"type": "webhook", "name": "sink", "url": sink.url + "/pages", "secret": "pager", "backoff_s": 0.2}
    return {
        "collector": {
            "targets": [], "scrape_host": False, "ship_logs": False, "fallback_webhook_url": sink.url + "/fallback",
        },
        "detector": {
            "statistical": {"enabled": False}, "degradation": {"enabled": False}, "logs": {"enabled": False},
        },
        "responder": {"routes": {team: [route] for team in ("L1", "L2", "L3")}},
        "recovery": {
            "managed_processes": [],
            "http_actions": [{"name": f"restart-{t}", "target": t, "url": f"{sink.url}/actions/{t}"} for t in faulted],
            "targets": {t: {"remedies": {"down": [f"http_post:restart-{t}"]}} for t in faulted},
            "verification": {"healthy_scrapes": 3, "timeout_s": 60},
            "cooldown": {"max_restarts": 5, "max_actions": 5, "window_s": 600},
        },
    }  # fmt: skip


async def stream(
    state: stack.StackState, sink: Sink, plan: ChaosPlan, *, on_tick: Callable[[float], None] | None = None
) -> int:
    """Publish the scrapes; a faulted target is down from its fault time until an action for it arrives.

    After ``plan.events`` the scrapes go on at the same rate, as a collector's would, until every
    faulted target's incident is resolved or ``plan.settle_s`` is over: an episode closes only when
    a scrape shows its signal clear, so a stream that stopped would freeze what was still open.
    Returns the number of scrapes in the planned stream.
    """
    service = Service.create("chaos-load", state.settings())
    await service.broker.start()
    targets = [f"svc-{i:02d}" for i in range(plan.targets)]
    fault_at = dict(plan.faults)
    started = time.monotonic()
    settle_until: float | None = None
    checked_at = 0.0
    sent = 0
    try:
        while True:
            elapsed = time.monotonic() - started
            due = int(elapsed * plan.rate_per_s) + 1
            if settle_until is None:
                due = min(plan.events, due)
            recovered = {r.path.rsplit("/", 1)[-1] for r in sink.of("/actions/")}
            while sent < due:
                target = targets[sent % len(targets)]
                down = target in fault_at and elapsed >= fault_at[target] and target not in recovered
                await _publish_until_sent(service, _scrape(target, sent, up=not down), target)
                sent += 1
            if on_tick is not None:
                on_tick(elapsed)
            if settle_until is None and sent >= plan.events:
                settle_until = time.monotonic() + plan.settle_s
            if settle_until is not None and time.monotonic() - checked_at >= 2.0:
                if time.monotonic() >= settle_until or await _settled(state, plan):
                    break
                checked_at = time.monotonic()
            await asyncio.sleep(0.05)
    finally:
        await service.broker.stop()
    return min(sent, plan.events)


async def _settled(state: stack.StackState, plan: ChaosPlan) -> bool:
    """Whether every faulted target has an incident and every one of them is resolved."""
    outcomes = await incident_outcomes(state)
    return all(t in outcomes and set(outcomes[t]["statuses"]) == {"resolved"} for t, _ in plan.faults)


async def _publish_until_sent(service: Service, event: ev.MetricsObserved, key: str) -> None:
    """Publish, retrying while the broker is away (the same event id: consumers drop a second copy)."""
    for _ in range(600):
        try:
            async with asyncio.timeout(10.0):
                await service.bus.publish(event, key=key)
            return
        except Exception:  # the broker was killed: it comes back under the supervisor
            await asyncio.sleep(0.5)
    raise RuntimeError("the broker did not come back within 5 minutes")


def _scrape(target: str, n: int, *, up: bool) -> ev.MetricsObserved:
    now = datetime.now(UTC)
    values = {
        mn.PROCESS_UP: 1.0 if up else 0.0,
        mn.HTTP_UP: 1.0 if up else 0.0,
        mn.HTTP_ERROR_RATE: 0.0 if up else 1.0,
        mn.PROCESS_CPU: 5.0,
        mn.HTTP_LATENCY_P95: 20.0,
    }
    samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
    data = m.MetricsObserved(target=target, host="chaos", observed_at=now, interval_s=0.4, samples=samples)
    return ev.MetricsObserved.create(data, source="/chaos/load", id_parts=(target, n), time=now, subject=target)


def kill(state: stack.StackState, name: str) -> float:
    """SIGKILL a supervised process and what it started (its process group); return when."""
    pid = stack.pid_of(name, state)
    if pid is None:
        raise RuntimeError(f"no pid for {name}")
    os.killpg(pid, signal.SIGKILL)
    return time.time()


def seconds_to_ready(state: stack.StackState, names: list[str], killed_at: float, *, limit_s: float = 90.0) -> float:
    """Seconds from the kill until every named service answers /readyz with 200 (inf past ``limit_s``)."""
    while time.time() - killed_at < limit_s:
        if all(_ready(state, n) for n in names):
            return time.time() - killed_at
        time.sleep(0.2)
    return float("inf")


def _ready(state: stack.StackState, name: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{state.ports[name]}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


async def incident_outcomes(state: stack.StackState) -> dict[str, dict[str, Any]]:
    """Per target: how many incidents opened, and the newest status and severity of each."""
    opened: Counter[str] = Counter()
    last: dict[str, m.Incident] = {}
    async for _, event in replay(state.settings(), [INCIDENTS.name]):
        if not isinstance(event, ev.IncidentEvent):
            continue  # not an incident event: it does not belong on the topic
        incident = event.data.incident
        if isinstance(event, ev.IncidentOpened):
            opened[incident.target] += 1
        last[incident.incident_id] = incident
    out: dict[str, dict[str, Any]] = {}
    for incident in last.values():
        row = out.setdefault(incident.target, {"opened": opened[incident.target], "statuses": []})
        row["statuses"].append(incident.status.value)
    return out


def run(root: Path, plan: ChaosPlan, *, label: str, log: Callable[[str], None] = print) -> RunResult:
    """One whole run on a fresh stack under ``root``."""
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    started = time.monotonic()
    state = stack.start(root, log=lambda _m: None, overrides=chaos_overrides(sink, plan), instances=CONSUMERS)
    result = RunResult(label, 0)
    try:
        pending = sorted(plan.kills, key=lambda k: k[1])
        watchers: list[threading.Thread] = []

        def watch(name: str, at: float) -> None:
            services = [name] if name in state.ports and name not in ("noida-db",) else stack.instance_names(CONSUMERS)
            result.kills.append({"process": name, "seconds_to_ready": round(seconds_to_ready(state, services, at), 1)})

        def on_tick(elapsed: float) -> None:
            while pending and elapsed >= pending[0][1]:
                name, _ = pending.pop(0)
                watchers.append(threading.Thread(target=watch, args=(name, kill(state, name)), daemon=True))
                watchers[-1].start()
                log(f"{label}: killed {name} at {elapsed:.0f}s")

        result.events_sent = asyncio.run(stream(state, sink, plan, on_tick=on_tick))
        for thread in watchers:
            thread.join()
        result.incidents = asyncio.run(incident_outcomes(state))
        result.restarts = {n: p.get("restarts", 0) for n, p in stack.supervised(state)["processes"].items()}
    finally:
        stack.stop(state, log=lambda _m: None)
        sink.shutdown()
    result.pages, result.actions, result.fallback = sink.of("/pages"), sink.of("/actions/"), sink.of("/fallback")
    result.seconds = time.monotonic() - started
    return result


def duplicates(result: RunResult) -> dict[str, int]:
    """Pages delivered twice and recovery actions run more than once for one target.

    A page counts twice with the same notification id, or with the same message to the same team
    about the same incident for the same reason (a reminder has a reason of its own).
    """
    by_id = Counter(r.key for r in result.pages)
    by_message = Counter(
        (
            r.body.get("incident", {}).get("incident_id"),
            r.body.get("team"),
            r.body.get("kind"),
            r.body.get("title"),
            _reason_line(str(r.body.get("text", ""))),
        )
        for r in result.pages
    )
    actions = Counter(r.path for r in result.actions)
    return {
        "pages_same_id": sum(n - 1 for n in by_id.values() if n > 1),
        "pages_same_message": sum(n - 1 for n in by_message.values() if n > 1),
        "actions_repeated": sum(n - 1 for n in actions.values() if n > 1),
    }


def _reason_line(text: str) -> str:
    """The line of a rendered page that says why it was sent (`notify.messages.render`)."""
    prefixes = tuple(f"{words['why']}:" for words in CATALOG.values())
    return next((line for line in text.splitlines() if line.startswith(prefixes)), "")


def compare(baseline: RunResult, disturbed: RunResult, plan: ChaosPlan) -> dict[str, Any]:
    """The figures of the chaos suite: lost incidents, duplicates, readiness, final states."""
    faulted = sorted(name for name, _ in plan.faults)
    lost = [t for t in faulted if t in baseline.incidents and t not in disturbed.incidents]
    extra = sorted(set(disturbed.incidents) - set(baseline.incidents))
    final = {t: sorted(set(r["statuses"])) for t, r in disturbed.incidents.items()}
    differing = [t for t in faulted if final.get(t) != sorted(set(baseline.incidents.get(t, {}).get("statuses", [])))]
    return {
        "events_sent": disturbed.events_sent,
        "faults_injected": len(plan.faults),
        "kills": disturbed.kills,
        "max_seconds_to_ready": max((k["seconds_to_ready"] for k in disturbed.kills), default=0.0),
        "restarts": sum(disturbed.restarts.values()),
        "incidents_lost": lost,
        "incidents_extra": extra,
        "final_states_differing": differing,
        "duplicates": duplicates(disturbed),
        "baseline_duplicates": duplicates(baseline),
        "actions": len(disturbed.actions),
        "baseline_actions": len(baseline.actions),
    }
