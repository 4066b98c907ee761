"""Slack: Block Kit incident messages with buttons, posted and updated through the Web API; request signing.

The channel posts one message per incident and channel (``chat.postMessage``) and records the
message's reference (``<channel id>:<ts>``) in the outcome's detail as ``ref=<channel>:<ts>``; the
responder folds it back (`services.responder.domain.state.message_ref`) and passes it with every
later notice of the same incident, so acknowledge and resolve edit the message (``chat.update``)
instead of posting again. A message Slack no longer has is posted anew.

The buttons (acknowledge, escalate, resolve, add note) come back to
``POST /api/chat/slack/interactions`` as a ``block_actions`` payload, checked with `verify_slack`:
Slack's v0 signature, an HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` under the app's signing
secret, sent in ``X-Slack-Signature`` with ``X-Slack-Request-Timestamp`` (at most 5 minutes old).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Final

import httpx
from pydantic import SecretStr

from services.responder.domain.state import NoticeKind
from services.responder.notify.callback import APPROVAL_ACTIONS
from services.responder.notify.channel import ChannelError, Outbound
from shared.errors import DataError
from shared.text import clean_line

SLACK_API: Final = "https://slack.com/api"
SIGNATURE_HEADER: Final = "X-Slack-Signature"
TIMESTAMP_HEADER: Final = "X-Slack-Request-Timestamp"
MAX_SKEW_S: Final = 300
SECTION_LIMIT: Final = 2900  # Slack refuses a section text over 3000 characters

ACTION_IDS: Final[dict[str, str]] = {
    "ack": "incident_ack",
    "escalate": "incident_escalate",
    "resolve": "incident_resolve",
    "note": "incident_note",
    "approve": "recovery_approve",
    "deny": "recovery_deny",
}
"""The button of each chat action (the ``action_id`` Slack sends back)."""


BUTTON_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "ack": "Acknowledge",
        "escalate": "Escalate",
        "resolve": "Resolve",
        "note": "Add note",
        "approve": "Approve",
        "deny": "Deny",
    },
    "ko": {
        "ack": "확인",
        "escalate": "에스컬레이션",
        "resolve": "해결",
        "note": "메모 추가",
        "approve": "승인",
        "deny": "거부",
    },
}

FINAL_ERRORS: Final = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "channel_not_found", "not_in_channel",
     "is_archived", "missing_scope", "invalid_blocks", "msg_too_long", "no_text", "invalid_arguments"}
)  # fmt: skip
"""Web API errors that another try cannot fix."""


class SignatureRejected(DataError, ValueError):
    """A request did not carry a valid, fresh Slack signature; the text says why (no secret in it)."""


def slack_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """Return Slack's v0 signature of a request: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def verify_slack(secret: SecretStr, timestamp: str | None, signature: str | None, body: bytes, *, now: float) -> None:
    """Raise ``SignatureRejected`` unless ``signature`` signs ``body`` at ``timestamp`` within 5 minutes of ``now``.

    The timestamp is checked first (a replayed request is refused even with a valid signature);
    the signatures are compared in constant time.
    """
    if not timestamp or not signature:
        raise SignatureRejected(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise SignatureRejected(f"{TIMESTAMP_HEADER} is not a number") from None
    if abs(now - sent_at) > MAX_SKEW_S:
        raise SignatureRejected(f"stale request: {TIMESTAMP_HEADER} more than {MAX_SKEW_S}s from now")
    expected = slack_signature(secret.get_secret_value().encode(), timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureRejected("signature mismatch")


def escape(text: str) -> str:
    """Escape the three characters Slack's text treats as markup (``&``, ``<``, ``>``): no links, no mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(outbound: Outbound) -> list[dict[str, Any]]:
    """Return the Block Kit blocks of a notification: its text, its links, and the buttons while it is open.

    Every text from an event is escaped (`escape`) and, in the section, shown as plain text, so a
    field cannot add a link, a mention or formatting. An acknowledged incident's message drops the
    Acknowledge button; a resolved one's has no buttons.
    """
    message = outbound.message
    incident_id = outbound.incident.incident_id
    body = message.body if len(message.body) <= SECTION_LIMIT else message.body[: SECTION_LIMIT - 1] + "…"
    links = f"<{_url(message.console_url)}|Console> · <{_url(message.runbook_url)}|Runbook>"
    out: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "plain_text", "text": body, "emoji": False}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": links}]},
    ]
    if outbound.kind is not NoticeKind.RESOLVE:
        labels = BUTTON_LABELS.get(message.language, BUTTON_LABELS["en"])
        buttons: list[dict[str, Any]] = []
        approval = outbound.kind is NoticeKind.APPROVAL
        for action, action_id in ACTION_IDS.items():
            if (action in APPROVAL_ACTIONS) != approval:
                continue  # an approval notice has Approve/Deny only; the others never have them
            if action == "ack" and outbound.kind is NoticeKind.ACKNOWLEDGE:
                continue  # already acknowledged
            button: dict[str, Any] = {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": labels[action]},
                "value": incident_id,
            }
            if action in ("ack", "approve"):
                button["style"] = "primary"
            elif action in ("resolve", "deny"):
                button["style"] = "danger"
            buttons.append(button)
        out.append({"type": "actions", "block_id": f"incident:{incident_id}"[:255], "elements": buttons})
    return out


def _url(url: str) -> str:
    """A link target inside ``<url|label>``: escaped, and without ``|`` (which would end the URL)."""
    return escape(url).replace("|", "%7C")


def message_body(outbound: Outbound, channel: str) -> dict[str, Any]:
    """Return the ``chat.postMessage`` / ``chat.update`` arguments of a notification."""
    return {
        "channel": channel,
        "text": escape(clean_line(outbound.message.title)),
        "blocks": blocks(outbound),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def parse_ref(ref: str) -> tuple[str, str] | None:
    """Return the (channel id, ts) of a recorded message reference ``<channel>:<ts>``, or None."""
    channel, sep, ts = ref.partition(":")
    return (channel, ts) if sep and channel and ts else None


class SlackChannel:
    """Post (then update) Block Kit messages in ``channel`` with a bot token; ``api_url`` is a local server in tests."""

    kind = "slack"

    def __init__(
        self, name: str, token: SecretStr, channel: str, client: httpx.AsyncClient, api_url: str = SLACK_API
    ) -> None:
        self.name = name
        self.channel = channel
        self.api_url = (api_url or SLACK_API).rstrip("/")
        self._token = token
        self._client = client

    async def send_once(self, outbound: Outbound) -> str:
        """Update the incident's message when one is known (``outbound.ref``), else post one; return ``ref=``."""
        known = parse_ref(outbound.ref)
        if known is not None:
            channel, ts = known
            body = message_body(outbound, channel) | {"ts": ts}
            try:
                answer = await self._call("chat.update", body)
                return f"slack chat.update ref={answer.get('channel', channel)}:{answer.get('ts', ts)}"
            except ChannelError as exc:
                if "message_not_found" not in str(exc) and "cant_update_message" not in str(exc):
                    raise
        answer = await self._call("chat.postMessage", message_body(outbound, self.channel))
        channel, ts = str(answer.get("channel", self.channel)), str(answer.get("ts", ""))
        return f"slack chat.postMessage ref={channel}:{ts}" if ts else "slack chat.postMessage"

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """Call one Web API method; raise ``ChannelError`` (final for errors a retry cannot fix)."""
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Content-Type": "application/json; charset=utf-8",
        }
        try:
            response = await self._client.post(f"{self.api_url}/{method}", content=json.dumps(body), headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{method}: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ChannelError(f"{method}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise ChannelError(f"{method}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = clean_line(str(answer.get("error", "unknown") if isinstance(answer, dict) else "unknown"), limit=80)
            raise ChannelError(f"{method}: {error}", retryable=error not in FINAL_ERRORS and response.status_code < 400)
        return answer
