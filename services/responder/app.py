"""Composition root: settings → broker, bus, channels, core → the runtime, served by the HTTP app (API + console)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from services.responder.api.settings import ApiSettings
from services.responder.core import Clock, Responder, utcnow
from services.responder.handlers import register
from services.responder.notify.callback import CallbackSigner
from services.responder.notify.registry import SecretMissing, build_contact_routes, build_routes
from services.responder.notify.sender import Sender
from services.responder.notify.smtp_mail import SmtpMailer
from services.responder.settings import ResponderSettings
from shared.models import Incident
from shared.runtime import Hook, Service
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_S = 15.0


@dataclass
class ResponderRuntime:
    """A wired responder: start rebuilds state from the topics, then consumes and runs the clock."""

    settings: ResponderSettings
    service: Service
    responder: Responder
    closers: tuple[Hook, ...] = ()  # close what ``build`` opened (not the injected HTTP client)

    async def rebuild(self) -> int:
        """Rebuild the book from the responder's topics (the broker is started: it may publish); return how many."""
        count = await self.responder.rebuild()
        log.info("responder rebuilt from %d events: %d incidents", count, len(self.responder.book.incidents))
        return count

    async def start(self) -> None:
        """Rebuild state from the responder's topics, THEN start consuming and the clock loop."""
        await ensure_topics(self.settings)
        await self.service.broker.start()  # the rebuild may publish (outcomes of sends cut short by a crash)
        await self.rebuild()
        for warning in self.responder.gap_warnings(self.responder.clock()):
            log.warning("%s", warning)
        await self.service.bus.flush()  # what the rebuild recorded (outcomes cut short by a crash)
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
                async with asyncio.timeout(DRAIN_TIMEOUT_S):
                    await self.responder.drain()
        else:
            for task in list(self.responder.sending):
                task.cancel()
        await self.service.stop()
        for close in self.closers:
            await close()

    def asgi_app(self) -> FastAPI:
        """The process's HTTP app: the API and console, whose lifespan starts and stops the responder."""
        from services.responder.api import create_api

        targets = {severity.value: policy.response_target_s for severity, policy in self.settings.escalation.items()}
        api = self.settings.api.model_copy(update={"response_targets_s": targets})
        return create_api(
            self.service,
            api,
            runtime=self,
            roster=lambda: self.responder.book.roster,
            windows=lambda: self.settings.maintenance_windows,
        )


def callback_signer(api: ApiSettings) -> CallbackSigner | None:
    """Return the signer of chat callback URLs when a callback secret and the API's public URL are set."""
    if api.callback_secret is None or not api.callback_secret.get_secret_value() or not api.public_url:
        return None
    return CallbackSigner(api.callback_secret, api.public_url, api.callback_ttl_s)


def build(
    settings: ResponderSettings,
    *,
    clock: Clock | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> ResponderRuntime:
    """Wire the responder from settings; nothing connects until it starts.

    Adapters (None: the production one): ``clock`` is the time of every decision; ``http_client``
    carries the notifications (webhooks, PagerDuty; a new client by default, closed at stop).
    """
    service = Service.create("responder", settings)
    closers: list[Hook] = []
    if http_client is None:
        http_client = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        closers.append(http_client.aclose)
    routes = build_routes(settings.routes, settings.secrets, http_client)
    roster = settings.roster()
    sender = Sender(
        routes,
        contacts=build_contact_routes(roster, settings.secrets, http_client),
        language=settings.language,
        console_url=settings.console_url,
        runbook_template=settings.runbook_url,
        registry=service.metrics.registry,
        callbacks=callback_signer(settings.api),
    )

    def owns(incident: Incident) -> bool:
        """Whether the incident's target key falls in an anomaly partition assigned to this instance.

        Anomalies are keyed by target, so the instance that consumes an incident's anomalies also runs
        its clocks and notifications; during a rebalance nobody owns it for a moment (late, never twice),
        and before a page goes out the broker confirms the assignment is current (``still_member``).
        ``anomalies`` is the subscription registered just below, before anything can ask.
        """
        return anomalies.owns_key(incident.target, ANOMALIES.partitions)

    stakeholders = settings.stakeholders
    mailer = None
    if stakeholders.subscribers:
        secret = stakeholders.smtp.password_secret
        password = settings.secrets.get(secret.lower()) if secret else None
        if secret and password is None:
            raise SecretMissing(f"stakeholders.smtp needs secret {secret!r}: set RESPONDER_SECRETS__{secret.upper()}")
        mailer = SmtpMailer(stakeholders.smtp, password)
    responder = Responder(
        service.bus,
        settings.policy(),
        sender,
        clock=clock or utcnow,
        owns=owns,
        still_owner=lambda: anomalies.still_member(),
        notify_max_age_s=settings.notify_max_age_s,
        registry=service.metrics.registry,
        roster=roster,
        windows=settings.maintenance_windows,
        stakeholders=stakeholders,
        mailer=mailer,
        incident_retention_s=settings.incident_retention_s,
    )
    anomalies = register(service, responder, settings)
    return ResponderRuntime(settings, service, responder, tuple(closers))
