"""Send one notice through its team's channel and return the outcome; recording it is the responder's part.

A ``Sender`` knows the routes (each team's channels with their retry policies), renders the message
and delivers it with bounded retries, each try limited by the route's timeout (`channel.deliver`).
It never records anything and never reads the responder's state: it is given the notice and the
incident, and returns delivered or failed with a detail. The responder records the dispatch before
calling it and the outcome after (at-most-once: see `services.responder.core.Responder.notify_owed`),
and runs each notice as its own task, so one channel that is down never delays the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter

from services.responder.domain.outbox import Notice, Outcome
from services.responder.domain.state import NoticeKind
from services.responder.notify.callback import CallbackSigner
from services.responder.notify.channel import DeliveryFailed, Outbound, deliver
from services.responder.notify.messages import Language, render
from services.responder.notify.registry import Route
from shared.models import Incident, Team

log = logging.getLogger(__name__)


class Sender:
    """Deliver notices through each team's routes and people's contacts; count outcomes per channel.

    ``contacts`` are the channels of people's contact steps (``oncall:<person>:<index>``); outcomes
    are counted per channel in ``ir_responder_notifications``.
    """

    def __init__(
        self,
        routes: Mapping[Team, Mapping[str, Route]],
        *,
        contacts: Mapping[str, Route] | None = None,
        language: Language = "en",
        console_url: str = "",
        runbook_template: str = "",
        registry: CollectorRegistry | None = None,
        callbacks: CallbackSigner | None = None,
    ) -> None:
        self.routes = routes
        self.channels: dict[Team, tuple[str, ...]] = {team: tuple(channels) for team, channels in routes.items()}
        self.contacts: Mapping[str, Route] = contacts or {}  # people's contact steps (``oncall:<person>:<i>``)
        self.language: Language = language
        self.console_url = console_url
        self.runbook_template = runbook_template
        self.callbacks = callbacks  # signed action URLs put in each notification (None: no callbacks)
        self.outcomes = Counter(
            "ir_responder_notifications", "Notification outcomes", ["channel", "outcome"], registry=registry
        )

    async def send(self, notice: Notice, incident: Incident, *, ref: str = "") -> Outcome:
        """Render ``notice`` about ``incident`` and deliver it through its route; return what came of it.

        ``ref``: the message the channel posted earlier about the incident (a chat channel edits it).
        """
        route = self.routes.get(notice.team, {}).get(notice.channel) or self.contacts.get(notice.channel)
        if route is None:
            return self._counted(notice, Outcome(False, 0, f"no channel {notice.channel} is configured"))
        message = render(
            incident,
            notice.kind,
            notice.team,
            notice.trigger.reason,
            language=self.language,
            console_url=self.console_url,
            runbook_template=self.runbook_template,
        )
        approval = notice.kind is NoticeKind.APPROVAL
        signer = self.callbacks
        actions = signer.urls(incident.incident_id, now=notice.trigger.at, approval=approval) if signer else {}
        outbound = Outbound(notice.notification_id, notice.kind, notice.team, incident, message, ref, actions)
        try:
            sent = await deliver(route.channel, outbound, route.retry)
        except DeliveryFailed as exc:
            return self._counted(notice, Outcome(False, exc.attempts, str(exc)))
        except Exception as exc:  # a channel bug must not kill the loop; its text may hold secrets, so name it only
            log.exception("channel %s crashed on %s", notice.channel, notice.notification_id)
            return self._counted(notice, Outcome(False, 1, f"channel error {type(exc).__name__}"))
        return self._counted(notice, Outcome(True, sent.attempts, sent.detail))

    def _counted(self, notice: Notice, outcome: Outcome) -> Outcome:
        self.outcomes.labels(notice.channel, "delivered" if outcome.delivered else "failed").inc()
        return outcome
