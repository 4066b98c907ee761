"""Helpers of the responder's integration tests: settings, a webhook receiver, polling, topic reads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.responder.domain.policy import EscalationPolicy, EscalationStep, GroupingPolicy
from services.responder.notify.registry import ChannelSpec
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.replay import replay
from shared.topics import INCIDENTS, NOTIFICATIONS

WEBHOOK_SECRET = "integration-hmac-secret"


@dataclass
class Receiver:
    """Requests received by the local webhook server."""

    url: str
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[tuple[str, dict[str, str], bytes]]:
        with self.lock:
            return list(self.requests)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """Run an HTTP server on a free loopback port that records every POST and answers 200."""
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver = box["r"]
            with receiver.lock:
                receiver.requests.append((self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        server.shutdown()
        server.server_close()


def responder_settings(bootstrap: str, unique: str, receiver: Receiver, **overrides: Any) -> ResponderSettings:
    """Settings in seconds: Major pages L1 at once, L2 after 3 s, L3 after 6 s; webhook per team."""
    hook = {"type": "webhook", "url": "", "secret": "hook", "attempts": 3, "backoff_s": 0.2, "timeout_s": 5}
    routes = {
        team: [ChannelSpec(type="log"), ChannelSpec(**(hook | {"name": "hook", "url": f"{receiver.url}/{team.value}"}))]
        for team in m.Team
    }
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "topic_prefix": f"t{unique}.",
        "group_id": f"responder-{unique}",
        "grouping": GroupingPolicy(group_wait_s=1, group_interval_s=60, repeat_interval_s=3600),
        "escalation": {
            m.Severity.MAJOR: EscalationPolicy(
                response_target_s=3,
                steps=(
                    EscalationStep(after_s=0, teams=(m.Team.L1,)),
                    EscalationStep(after_s=3, teams=(m.Team.L2,)),
                    EscalationStep(after_s=6, teams=(m.Team.L3,)),
                ),
            )
        },
        "routes": routes,
        "secrets": {"hook": WEBHOOK_SECRET},
        "tick_s": 0.2,
        "auto_resolve_after_s": 2,
    }
    return ResponderSettings(**(values | overrides))


async def until(predicate: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds or ``timeout`` passes."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


async def topic_events(settings: ResponderSettings, *topics: Any) -> list[ev.Envelope[Any]]:
    """Every event now on the given topics (default: incidents and notifications)."""
    chosen = topics or (INCIDENTS, NOTIFICATIONS)
    return [e async for _, e in replay(settings, [settings.topic_prefix + t.name for t in chosen])]


def storm_anomaly(
    n: int, *, target: str = "demo", impact: m.Impact = m.Impact.SEVERE_DEGRADATION
) -> ev.AnomalyDetected:
    """The ``n``-th anomaly of a storm on ``target`` (distinct episodes over a few signals)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    signal = f"signal{n % 10}"
    data = m.Anomaly(
        anomaly_id=f"an-{target}-{n}",
        fingerprint=f"{target}/{signal}/{n}",
        kind=m.AnomalyKind.THRESHOLD,
        target=target,
        host="host-1",
        signal=signal,
        impact=impact,
        score=0.8,
        observed=float(n),
        since=now,
        last_seen=now,
        summary=f"{signal} anomalous on {target} (#{n})",
    )
    return ev.AnomalyDetected.create(data, source="/tests", id_parts=(data.anomaly_id,), time=now, subject=target)
