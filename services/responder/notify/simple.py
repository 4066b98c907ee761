"""Log channel and apprise channel (Slack, Microsoft Teams, email and more through apprise URLs)."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from services.responder.notify.channel import ChannelError, Outbound

log = logging.getLogger("responder.notifications")


class LogChannel:
    """Write the notification to the service log (always available; the demo's default)."""

    kind = "log"

    def __init__(self, name: str) -> None:
        self.name = name

    async def send_once(self, outbound: Outbound) -> str:
        """Log the message, one log line per line of the message (each line is already clean)."""
        for line in outbound.message.body.splitlines():
            log.warning(
                "NOTIFY %s %s → %s | %s", outbound.kind.value, outbound.notification_id, outbound.team.value, line
            )
        return "logged"


class AppriseChannel:
    """Send through the ``apprise`` library; the URLs (which hold tokens) come from a secret."""

    kind = "apprise"

    def __init__(self, name: str, urls: SecretStr) -> None:
        self.name = name
        self._urls = urls

    async def send_once(self, outbound: Outbound) -> str:
        """Notify every apprise URL of the channel once."""
        import apprise

        client = apprise.Apprise()
        for url in self._urls.get_secret_value().split():
            if not client.add(url):
                raise ChannelError("apprise rejected a configured URL", retryable=False)
        ok = await client.async_notify(
            body=outbound.message.body, title=outbound.message.title, body_format=apprise.NotifyFormat.TEXT
        )
        if not ok:
            raise ChannelError("apprise reported a failed delivery")
        return f"apprise {len(client)} target(s)"
