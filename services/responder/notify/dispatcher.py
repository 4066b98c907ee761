"""Send what the outbox owes: record ``NotificationDispatched`` first, deliver concurrently, record the outcome.

Delivery is at-most-once: a notification whose dispatch was recorded is never sent again, not by a
redelivered input, a replay or a restarted responder. If the responder stops between recording the
dispatch and recording the outcome, the outcome is unknown; after restart it is reported on the
incident as ``NotificationFailed`` (detail ``outcome unknown``) and not re-sent, because a second
page is worse than asking a human to check one channel. Channels run as separate tasks with
per-try timeouts, so one channel that is down never delays the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter

from services.responder.domain import lifecycle
from services.responder.domain.outbox import Notice, owed_notices
from services.responder.domain.state import unsettled_notifications
from services.responder.notify.channel import DeliveryFailed, Outbound, deliver
from services.responder.notify.messages import Language, render
from services.responder.notify.registry import Route
from shared import events as ev
from shared.models import NotificationRecord, Team

if TYPE_CHECKING:
    from services.responder.core import Responder

log = logging.getLogger(__name__)


class Dispatcher:
    """Route owed notices to each team's channels and record every attempt on the notifications topic."""

    def __init__(
        self,
        routes: Mapping[Team, Mapping[str, Route]],
        *,
        language: Language = "en",
        console_url: str = "",
        runbook_template: str = "",
        max_age_s: float = 3600.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.routes = routes
        self.route_names = {team: list(channels) for team, channels in routes.items()}
        self.language: Language = language
        self.console_url = console_url
        self.runbook_template = runbook_template
        self.max_age_s = max_age_s
        self.sending: set[asyncio.Task[None]] = set()
        self.outcomes = Counter(
            "responder_notifications", "Notification outcomes", ["channel", "outcome"], registry=registry
        )

    async def dispatch_owed(self, responder: Responder) -> list[Notice]:
        """Record a dispatch for every owed notice of owned incidents, then start sending them."""
        started: list[Notice] = []
        async with responder.lock:
            now = responder.clock()
            for state in list(responder.book.incidents.values()):
                if not state.triggers or not responder.owns(state.incident):
                    continue
                notices = owed_notices(
                    state, self.route_names, responder.book.notifications, now=now, max_age_s=self.max_age_s
                )
                for notice in notices:
                    await responder.emit([self._record(ev.NotificationDispatched, notice, now=now)])
                    started.append(notice)
        for notice in started:
            task = asyncio.create_task(self._send(responder, notice), name=f"notify:{notice.notification_id}")
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)
        return started

    async def drain(self) -> None:
        """Wait for notifications being sent (tests, graceful shutdown)."""
        while self.sending:
            await asyncio.gather(*list(self.sending), return_exceptions=True)

    async def _send(self, responder: Responder, notice: Notice) -> None:
        route = self.routes[notice.team][notice.channel]
        incident = responder.book.incidents[notice.incident_id].incident
        message = render(
            incident,
            notice.kind,
            notice.team,
            notice.trigger.reason,
            language=self.language,
            console_url=self.console_url,
            runbook_template=self.runbook_template,
        )
        outbound = Outbound(notice.notification_id, notice.kind, notice.team, incident, message)
        try:
            sent = await deliver(route.channel, outbound, route.retry)
        except DeliveryFailed as exc:
            await self._failed(responder, notice, str(exc), attempts=exc.attempts)
            return
        except Exception as exc:  # a channel bug must not kill the loop; its text may hold secrets, so name it only
            log.exception("channel %s crashed on %s", notice.channel, notice.notification_id)
            await self._failed(responder, notice, f"channel error {type(exc).__name__}", attempts=1)
            return
        self.outcomes.labels(notice.channel, "delivered").inc()
        delivered = self._record(
            ev.NotificationDelivered, notice, now=responder.clock(), attempt=sent.attempts, detail=sent.detail
        )
        async with responder.lock:
            await responder.emit([delivered])

    async def _failed(self, responder: Responder, notice: Notice, detail: str, *, attempts: int) -> None:
        self.outcomes.labels(notice.channel, "failed").inc()
        now = responder.clock()
        failed = self._record(ev.NotificationFailed, notice, now=now, attempt=attempts, detail=detail)
        async with responder.lock:
            await responder.emit([failed])
            await self._note(responder, failed.data, "failed")

    async def settle_unknown(self, responder: Responder) -> None:
        """Report notifications dispatched before a stop whose outcome was never recorded (never re-sent)."""
        async with responder.lock:
            for record in unsettled_notifications(responder.book):
                data: NotificationRecord = record.data
                detail = "outcome unknown: responder stopped after dispatch; not re-sent (at-most-once)"
                unknown = ev.NotificationFailed.create(
                    data.model_copy(update={"detail": detail}),
                    source=lifecycle.SOURCE,
                    id_parts=(data.notification_id, "unknown"),
                    time=responder.clock(),
                    subject=data.incident_id,
                    correlationid=data.incident_id,
                    causation=record,
                )
                await responder.emit([unknown])
                await self._note(responder, unknown.data, "unknown")

    async def _note(self, responder: Responder, record: NotificationRecord, why: str) -> None:
        state = responder.book.incidents.get(record.incident_id)
        if state is None:
            return
        reason = f"notification {record.kind} via {record.channel} to {record.team.value} {why}: {record.detail}"
        note = lifecycle.transition(
            ev.IncidentNoteAdded,
            state.incident,
            reason,
            id_parts=("notification", record.notification_id, why),
            now=responder.clock(),
        )
        await responder.emit([note])

    def _record(
        self, cls: type[ev.Envelope[Any]], notice: Notice, *, now: Any, attempt: int = 1, detail: str = ""
    ) -> ev.Envelope[Any]:
        data = NotificationRecord(
            notification_id=notice.notification_id,
            incident_id=notice.incident_id,
            channel=notice.channel,
            team=notice.team,
            kind=notice.kind.value,
            attempt=attempt,
            detail=detail or notice.trigger.reason,
        )
        return cls.create(
            data,
            source=lifecycle.SOURCE,
            id_parts=(notice.notification_id,),
            time=now,
            subject=notice.incident_id,
            correlationid=notice.incident_id,
        )
