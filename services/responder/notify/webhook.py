"""Signed webhook channel: JSON body, ``X-Signature-256: sha256=<hmac>``, idempotency key, retried on 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import SecretStr

from services.responder.notify.channel import ChannelError, Outbound
from shared.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, verify

__all__ = ["IDEMPOTENCY_HEADER", "SIGNATURE_HEADER", "WebhookChannel", "sign", "verify", "webhook_body"]


def webhook_body(outbound: Outbound) -> bytes:
    """Return the JSON body posted for a notification (stable key order, so signatures are reproducible)."""
    doc: dict[str, Any] = {
        "notification_id": outbound.notification_id,
        "kind": outbound.kind.value,
        "team": outbound.team.value,
        "title": outbound.message.title,
        "text": outbound.message.body,
        "language": outbound.message.language,
        "severity": outbound.incident.severity.value,
        "runbook_url": outbound.message.runbook_url,
        "console_url": outbound.message.console_url,
        "incident": outbound.incident.model_dump(mode="json"),
    }
    if outbound.actions:  # signed callback URLs: a POST to one performs the action
        doc["actions"] = dict(outbound.actions)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def classify_status(status: int, text: str) -> None:
    """Raise ``ChannelError`` for a non-2xx status: retryable for 408/429/5xx, final for other 4xx."""
    if 200 <= status < 300:
        return
    retryable = status in (408, 429) or status >= 500
    raise ChannelError(f"HTTP {status}: {text[:200]}", retryable=retryable)


async def post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """POST once; raise ``ChannelError`` on a transport error or a non-2xx status (see `classify_status`)."""
    try:
        response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
    classify_status(response.status_code, response.text)
    return response


class WebhookChannel:
    """POST each notification as signed JSON to ``url``."""

    kind = "webhook"

    def __init__(self, name: str, url: str, secret: SecretStr | None, client: httpx.AsyncClient) -> None:
        self.name = name
        self.url = url
        self._secret = secret
        self._client = client

    async def send_once(self, outbound: Outbound) -> str:
        """Post the signed body once."""
        body = webhook_body(outbound)
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: outbound.notification_id}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret.get_secret_value().encode(), body)
        response = await post(self._client, self.url, content=body, headers=headers)
        return f"HTTP {response.status_code}"
