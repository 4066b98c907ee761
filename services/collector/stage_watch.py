"""The pipeline's dead man's switch: heartbeats in, stalled-stage anomalies out, the responder's silence paged.

Each watcher derives episode ids from the heartbeats themselves, so two collectors watching the
same pipeline publish the same anomaly ids and the responder keeps one incident.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from services.collector.domain import stages
from shared import events as ev
from shared.bus import Delivery, EventBus
from shared.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

FALLBACK_FOR = frozenset({"responder"})
"""Stages whose silence is paged directly: the normal path runs through them."""


class FallbackPager:
    """Posts a signed page straight to a fallback webhook, bypassing the responder."""

    def __init__(self, url: str, secret: SecretStr | None, client: httpx.AsyncClient) -> None:
        self.url, self.secret, self.client = url, secret, client

    async def page(self, problem: stages.StageProblem, *, resolved: bool) -> None:
        """Send one page (retried by the next tick if it fails: the idempotency key keeps it single)."""
        key = f"{problem.episode_id}:{'resolved' if resolved else 'firing'}"
        doc: dict[str, Any] = {
            "notification_id": key,
            "kind": "fallback_resolved" if resolved else "fallback",
            "severity": "critical",
            "title": f"[fallback] {problem.service} {'is back' if resolved else 'is silent'}",
            "text": problem.detail,
            "target": stages.TARGET_PREFIX + problem.service,
            "since": problem.since.isoformat(),
        }
        body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        headers = {"content-type": "application/json", IDEMPOTENCY_HEADER: key}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.secret.get_secret_value().encode(), body)
        reply = await self.client.post(self.url, content=body, headers=headers)
        reply.raise_for_status()


class StageWatch:
    """Folds heartbeats, and on each tick publishes the episodes that start or end."""

    def __init__(
        self,
        bus: EventBus,
        policy: stages.StagePolicy,
        *,
        host: str,
        fallback: FallbackPager | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bus, self.policy, self.host, self.fallback, self.clock = bus, policy, host, fallback, clock
        self.seen: dict[stages.Key, stages.StageSeen] = {}
        self.open: dict[str, stages.StageProblem] = {}
        self.owed: dict[tuple[str, bool], stages.StageProblem] = {}  # fallback pages not yet delivered

    async def on_heartbeat(self, event: ev.ServiceHeartbeat, _delivery: Delivery) -> None:
        """Remember the newest heartbeat of each instance."""
        self.seen = stages.record(
            self.seen, event.data, beat_id=event.id, beat_time=event.time, now=self.clock(), policy=self.policy
        )

    async def tick(self) -> None:
        """Publish started and ended episodes; page the fallback for the responder's."""
        now = self.clock()
        started, ended = stages.changes(self.open, stages.assess(self.seen, now, self.policy))
        for problem in started:
            await self._publish(ev.AnomalyDetected, problem, now, resolved=False)
            self.open[problem.fingerprint] = problem
            log.error("%s", problem.detail)
        for problem in ended:
            await self._publish(ev.AnomalyResolved, problem, now, resolved=True)
            if self.open.get(problem.fingerprint) is problem:
                del self.open[problem.fingerprint]
            log.info("%s: over", problem.detail)
        await self._page_fallback(started, ended)

    async def _publish(
        self,
        cls: type[ev.AnomalyDetected | ev.AnomalyResolved],
        problem: stages.StageProblem,
        now: datetime,
        *,
        resolved: bool,
    ) -> None:
        anomaly = stages.to_anomaly(problem, host=self.host, now=now, resolved=resolved)
        event = cls.create(
            anomaly, source=self.bus.source, id_parts=(anomaly.anomaly_id, anomaly.revision), time=now,
            subject=anomaly.target,
        )  # fmt: skip
        await self.bus.publish(event, key=anomaly.target)

    async def _page_fallback(self, started: list[stages.StageProblem], ended: list[stages.StageProblem]) -> None:
        if self.fallback is None:
            return
        for problem in started:
            if problem.service in FALLBACK_FOR and problem.problem is stages.Problem.SILENT:
                self.owed[problem.episode_id, False] = problem
        for problem in ended:
            if problem.service in FALLBACK_FOR and problem.problem is stages.Problem.SILENT:
                self.owed[problem.episode_id, True] = problem
        for (episode, resolved), problem in list(self.owed.items()):
            try:
                await self.fallback.page(problem, resolved=resolved)
                del self.owed[episode, resolved]
            except httpx.HTTPError as exc:  # tried again next tick; the idempotency key keeps it single
                log.error("fallback page for %s failed: %s", problem.service, exc)

    async def run(self, period_s: float) -> None:
        """Tick every ``period_s`` until cancelled."""
        while True:
            await asyncio.sleep(period_s)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker is away: the next tick tries again, episodes are idempotent
                log.exception("stage watch tick failed")
