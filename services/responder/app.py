"""Composition root: settings → broker, bus, channels, core → the HTTP app (API + console) serving it all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from services.responder.core import Clock, Responder, utcnow
from services.responder.handlers import register
from services.responder.notify.registry import build_routes
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared.models import Incident
from shared.runtime import Service
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_S = 15.0


@dataclass
class ResponderRuntime:
    """A wired responder: start rebuilds state from the topics, then consumes and runs the clock."""

    settings: ResponderSettings
    service: Service
    responder: Responder
    client: httpx.AsyncClient

    async def start(self) -> None:
        """Rebuild state from the responder's topics, THEN start consuming and the clock loop."""
        await ensure_topics(self.settings)
        await self.service.broker.start()  # the rebuild may publish (outcomes of sends cut short by a crash)
        count = await self.responder.rebuild()
        log.info("responder rebuilt from %d events: %d incidents", count, len(self.responder.book.incidents))
        await self.responder.dead_letter_skipped()
        await self.service.start_consuming()
        self.service.spawn(self.responder.run_clock(self.settings.tick_s), name="clock")
        self.service.ready.set()

    async def stop(self, *, graceful: bool = True) -> None:
        """Stop the clock, let notifications in flight finish (unless ``graceful`` is False), disconnect."""
        self.service.ready.clear()
        await self.service.stop_tasks()
        if graceful:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.responder.drain(), DRAIN_TIMEOUT_S)
        else:
            for task in list(self.responder.sending):
                task.cancel()
        await self.service.stop()
        await self.client.aclose()


def create_runtime(settings: ResponderSettings, *, clock: Clock = utcnow) -> ResponderRuntime:
    """Wire the responder from settings (nothing connects until ``start``)."""
    service = Service.create("responder", settings)
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
    routes = build_routes(settings.routes, settings.secrets, client)
    sender = Sender(
        routes,
        language=settings.language,
        console_url=settings.console_url,
        runbook_template=settings.runbook_url,
        registry=service.metrics.registry,
    )

    def owns(incident: Incident) -> bool:
        """Whether the incident's target key falls in an anomaly partition assigned to this instance.

        Anomalies are keyed by target, so the instance that consumes an incident's anomalies also runs
        its clocks and notifications; during a rebalance nobody owns it for a moment (late, never twice).
        ``anomalies`` is the subscription registered just below, before anything can ask.
        """
        return anomalies.owns_key(incident.target, ANOMALIES.partitions)

    responder = Responder(
        service.bus,
        settings.policy(),
        sender,
        clock=clock,
        owns=owns,
        notify_max_age_s=settings.notify_max_age_s,
        registry=service.metrics.registry,
    )
    anomalies = register(service, responder, settings)
    return ResponderRuntime(settings, service, responder, client)


def create_app(settings: ResponderSettings) -> FastAPI:
    """Return the process's HTTP app: the API and console, whose lifespan runs the responder core."""
    from services.responder.api import create_api

    runtime = create_runtime(settings)
    api = create_api(runtime.service, settings.api)
    api_lifespan = api.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        await runtime.start()
        try:
            async with api_lifespan(app) as state:
                yield state
        finally:
            await runtime.stop()

    api.router.lifespan_context = lifespan
    api.state.responder = runtime.responder
    return api
