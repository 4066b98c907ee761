"""Composition root of the recovery service: settings -> catalog -> handlers -> ASGI app."""

from __future__ import annotations

import asyncio
import logging

from faststream.asgi import AsgiFastStream
from prometheus_client import Counter

from services.recovery.adapters.runner import ActionRunner, LocalRunner
from services.recovery.domain.catalog import Action, Catalog, HttpPost, RestartProcess, Wait
from services.recovery.handlers import RecoveryHandlers
from services.recovery.settings import RecoverySettings
from services.recovery.state import RecoveryState
from shared import topics
from shared.bus import EventBus
from shared.consumer import GroupMember
from shared.rebuild import rebuild
from shared.runtime import Service

log = logging.getLogger(__name__)


def build_catalog(settings: RecoverySettings) -> Catalog:
    """Turn the configured managed processes, HTTP actions and remedies into the action catalog."""
    actions: list[Action] = []
    for proc in settings.managed_processes:
        actions.append(
            RestartProcess(
                name=proc.name, target=proc.target or proc.name, argv=tuple(proc.command), pidfile=proc.pidfile,
                cwd=proc.cwd, env=dict(proc.env), log_file=proc.log_file, stop_timeout_s=proc.stop_timeout_s,
            )
        )  # fmt: skip
    for post in settings.http_actions:
        actions.append(HttpPost(name=post.name, target=post.target, url=post.url, timeout_s=post.timeout_s))
    for target, policy in settings.targets.items():
        actions.append(Wait(target=target, seconds=policy.wait_s))
    remedies = {t: {k: tuple(v) for k, v in p.remedies.items()} for t, p in settings.targets.items()}
    trusted = {t: p.external_rules for t, p in settings.targets.items()}
    return Catalog.build(actions, remedies, trusted)


def register(bus: EventBus, handlers: RecoveryHandlers, settings: RecoverySettings) -> GroupMember:
    """Subscribe the recovery handlers; return the incidents subscriber (its assignment decides ownership).

    Incidents are shared by the instances of one consumer group; every instance verifies with the
    scrapes of every target (a group of its own): a shared group would give the target's scrapes to
    one instance and its verification to another.
    """
    incidents = bus.subscribe(topics.INCIDENTS, group_id=settings.group_id, handler=handlers.on_incident)
    bus.subscribe(topics.METRICS, group_id=f"{settings.group_id}-metrics", handler=handlers.on_metrics, broadcast=True)
    return incidents


def create_app(settings: RecoverySettings, runner: ActionRunner | None = None) -> tuple[Service, AsgiFastStream]:
    """Wire the recovery service; state is rebuilt from its topics before the consumers start."""
    service = Service.create("recovery", settings)
    bus = service.bus
    state = RecoveryState()
    local = runner or LocalRunner()
    actions = Counter(
        "ir_recovery_actions", "Recovery actions run", ["action", "outcome"], registry=service.metrics.registry
    )

    def owns(incident_id: str) -> bool:
        """Whether the incident's partition of the incidents topic is assigned to this instance.

        ``incidents`` is the subscription registered just below, before anything can ask.
        """
        return incidents.owns_key(incident_id, topics.INCIDENTS.partitions)

    handlers = RecoveryHandlers(settings, bus, build_catalog(settings), local, state, owns=owns, actions=actions)
    incidents = register(bus, handlers, settings)

    async def rebuild_state() -> None:
        count = (await rebuild(bus, (topics.RECOVERY,), state.apply, inputs=(topics.INCIDENTS,))).applied
        for plan in state.unfinished_plans():
            since = state.steps_done_at[plan.plan_id]
            handlers.start_verification(plan, since=since, before=since)
        log.info("recovery state rebuilt from %d events; %d verifications resumed", count, len(state.pending))

    async def deadline_loop() -> None:
        while True:
            await asyncio.sleep(settings.deadline_check_s)
            try:
                await handlers.check_deadlines()
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("deadline check failed")

    async def start_loops() -> None:
        service.spawn(deadline_loop(), name="verification-deadlines")

    async def close_runner() -> None:
        if isinstance(local, LocalRunner):
            local.close()

    app = service.asgi_app(after_startup=[start_loops], on_shutdown=[close_runner])
    app.on_startup(rebuild_state)
    return service, app
