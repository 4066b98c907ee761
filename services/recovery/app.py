"""Composition root of the recovery service: settings -> catalog -> handlers -> runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from faststream.asgi.types import ASGIApp
from prometheus_client import Counter

from services.recovery.adapters.runner import ActionRunner, LocalRunner
from services.recovery.domain.catalog import (
    Catalog,
    Wait,
)
from services.recovery.handlers import RecoveryHandlers
from services.recovery.settings import RecoverySettings, configured_actions
from services.recovery.state import RecoveryState
from shared import topics
from shared.bus import EventBus
from shared.consumer import GroupMember
from shared.handover import CatchUpOnAssign
from shared.rebuild import Clock, rebuild, utcnow
from shared.runtime import Service, runtime_app

log = logging.getLogger(__name__)


def build_catalog(settings: RecoverySettings) -> Catalog:
    """Turn the configured managed processes, HTTP actions and remedies into the action catalog."""
    actions = configured_actions(dict(settings))
    for target, policy in settings.targets.items():
        actions.append(Wait(target=target, seconds=policy.wait_s))
    remedies = {t: {k: tuple(v) for k, v in p.remedies.items()} for t, p in settings.targets.items()}
    trusted = {t: p.external_rules for t, p in settings.targets.items()}
    return Catalog.build(actions, remedies, trusted)


@dataclass
class RecoveryRuntime:
    """The wired recovery service: its state is rebuilt from the topics before the consumers start."""

    service: Service
    settings: RecoverySettings
    state: RecoveryState
    handlers: RecoveryHandlers
    closers: tuple[Callable[[], None], ...] = ()  # close what ``build`` opened (not the injected runner)

    async def rebuild(self) -> int:
        """Fold the recovery and incidents topics into the state, resume verifications; return the events applied.

        Recovery events folded before (this instance's own) are skipped, so it also serves as the
        catch-up when incidents' partitions move here (`CatchUpOnAssign`).
        """
        bus, state = self.service.bus, self.state
        rebuilt = await rebuild(bus, (topics.RECOVERY,), state.apply, inputs=(topics.INCIDENTS,), skip_known=True)
        for plan in state.unfinished_plans():
            since = state.steps_done_at[plan.plan_id]
            self.handlers.start_verification(plan, since=since, before=since)
        log.info("recovery state rebuilt from %d events; %d verifications pending", rebuilt.applied, len(state.pending))
        return rebuilt.applied

    async def start(self) -> None:
        """Rebuild, connect and consume, then check verification deadlines every ``deadline_check_s``."""
        await self.rebuild()
        await self.service.start()
        await self.handlers.resume_approvals()
        self.service.spawn(self._deadline_loop(), name="verification-deadlines")
        self.service.ready.set()

    async def stop(self) -> None:
        """Stop the loops and consumers, close the runner ``build`` made, disconnect."""
        await self.service.stop(before_disconnect=[self._close])

    async def _close(self) -> None:
        for close in self.closers:
            close()

    async def _deadline_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.deadline_check_s)
            try:
                await self.handlers.check_deadlines()
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("deadline check failed")

    def asgi_app(self) -> ASGIApp:
        """The HTTP app: /healthz, /readyz, /status, /metrics; its lifespan starts and stops the service."""
        return runtime_app(self)


def register(
    bus: EventBus, handlers: RecoveryHandlers, settings: RecoverySettings, *, listener: CatchUpOnAssign | None = None
) -> GroupMember:
    """Subscribe the recovery handlers; return the incidents subscriber (its assignment decides ownership).

    Incidents are shared by the instances of one consumer group (``listener`` catches up on each
    assignment); every instance verifies with the scrapes of every target (a group of its own): a
    shared group would give the target's scrapes to one instance and its verification to another.
    Operators' approvals come on the commands topic.
    """
    incidents = bus.subscribe(
        topics.INCIDENTS, group_id=settings.group_id, handler=handlers.on_incident, listener=listener
    )
    bus.subscribe(topics.METRICS, group_id=f"{settings.group_id}-metrics", handler=handlers.on_metrics, broadcast=True)
    bus.subscribe(
        topics.COMMANDS, group_id=f"{settings.group_id}-commands", handler=handlers.on_command, broadcast=True
    )  # a decision reaches the instance that owns its incident
    return incidents


def build(
    settings: RecoverySettings,
    *,
    clock: Clock | None = None,
    runner: ActionRunner | None = None,
) -> RecoveryRuntime:
    """Wire the recovery service; nothing connects until it starts.

    Adapters (None: the production one): ``clock`` is when plans, steps and verifications happen;
    ``runner`` runs the catalog's actions (a `LocalRunner` on this host by default, closed at stop).
    """
    service = Service.create("recovery", settings)
    bus = service.bus
    state = RecoveryState()
    closers: list[Callable[[], None]] = []
    if runner is None:
        local = LocalRunner()
        closers.append(local.close)
        runner = local
    actions = Counter(
        "ir_recovery_actions", "Recovery actions run", ["action", "outcome"], registry=service.metrics.registry
    )

    def owns(incident_id: str) -> bool:
        """Whether the incident's partition of the incidents topic is assigned to this instance.

        ``incidents`` is the subscription registered just below, before anything can ask.
        """
        return incidents.owns_key(incident_id, topics.INCIDENTS.partitions)

    handlers = RecoveryHandlers(
        settings, bus, build_catalog(settings), runner, state, owns=owns, actions=actions, clock=clock or utcnow
    )
    catch_up = CatchUpOnAssign(lambda: runtime.rebuild(), gate=handlers.caught_up)
    incidents = register(bus, handlers, settings, listener=catch_up)
    runtime = RecoveryRuntime(service, settings, state, handlers, tuple(closers))
    return runtime
