"""Signed callback URLs for chat tools without interactive messages (pure).

A notification may carry one URL per action: ``<public_url>/api/chat/callback/<token>``. The token
binds an incident id, an action and an expiry under an HMAC-SHA256 of the callback secret
(``RESPONDER_API_CALLBACK_SECRET``, environment only): ``<claims>.<mac>``, both base64url, where the
claims are the JSON ``{"a": action, "e": expiry (unix seconds), "i": incident id}``. A POST to the URL
performs the action (`services.responder.api.chat_routes`); a changed byte, another action or an
expired token is refused. The token is a bearer capability: whoever holds the URL may act, until it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import SecretStr

from shared.errors import DataError
from shared.text import url_with_path

INCIDENT_ACTIONS: Final = ("ack", "escalate", "resolve", "note")
APPROVAL_ACTIONS: Final = ("approve", "deny")
CHAT_ACTIONS: Final = (*INCIDENT_ACTIONS, *APPROVAL_ACTIONS)
CALLBACK_PATH: Final = "/api/chat/callback"
DOMAIN: Final = b"incidentctl-chat-callback-v1:"  # a token's MAC never verifies anything else


class TokenRejected(DataError, ValueError):
    """A callback token is malformed, forged, for an unknown action, or expired."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid token allows: ``action`` on ``incident_id`` until ``expires`` (unix seconds)."""

    incident_id: str
    action: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: SecretStr, claims: bytes) -> bytes:
    return hmac.new(secret.get_secret_value().encode(), DOMAIN + claims, hashlib.sha256).digest()


def issue(secret: SecretStr, incident_id: str, action: str, expires: int) -> str:
    """Return the token allowing ``action`` on ``incident_id`` until ``expires``."""
    if action not in CHAT_ACTIONS:
        raise ValueError(f"unknown chat action {action!r}")
    claims = json.dumps({"a": action, "e": expires, "i": incident_id}, sort_keys=True, separators=(",", ":"))
    raw = claims.encode()
    return f"{_b64(raw)}.{_b64(_mac(secret, raw))}"


def check(secret: SecretStr, token: str, *, now: float) -> Claims:
    """Return the claims of a valid, unexpired token; raise ``TokenRejected`` (the MAC is compared in constant time)."""
    claims_part, sep, mac_part = token.partition(".")
    if not sep or not claims_part or not mac_part:
        raise TokenRejected("malformed token")
    try:
        raw, mac = _unb64(claims_part), _unb64(mac_part)
    except (binascii.Error, ValueError):
        raise TokenRejected("malformed token") from None
    if not hmac.compare_digest(_mac(secret, raw), mac):
        raise TokenRejected("bad token signature")
    try:
        doc = json.loads(raw)
        claims = Claims(str(doc["i"]), str(doc["a"]), int(doc["e"]))
    except (ValueError, KeyError, TypeError):
        raise TokenRejected("malformed token claims") from None
    if claims.action not in CHAT_ACTIONS:
        raise TokenRejected(f"unknown action {claims.action!r}")
    if now > claims.expires:
        raise TokenRejected("expired token")
    return claims


@dataclass(frozen=True, slots=True)
class CallbackSigner:
    """Issues the action URLs of a notification: ``public_url`` of the API, tokens valid ``ttl_s``."""

    secret: SecretStr
    public_url: str
    ttl_s: float = 86400.0

    def urls(self, incident_id: str, *, now: datetime, approval: bool = False) -> dict[str, str]:
        """Return one signed callback URL per chat action on ``incident_id`` (``approval``: approve and deny only)."""
        expires = int(now.timestamp() + self.ttl_s)
        base = self.public_url.rstrip("/") + CALLBACK_PATH
        actions = APPROVAL_ACTIONS if approval else INCIDENT_ACTIONS
        return {a: url_with_path(base, issue(self.secret, incident_id, a, expires)) for a in actions}
