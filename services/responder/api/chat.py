"""Chat actions (pure): Slack ``block_actions`` payloads and callback tokens mapped to operator commands.

A button (acknowledge, escalate, resolve, add note) becomes the operator command of the same
meaning, with the chat user as its actor; "escalate" pages the next level now (the escalate
decision, `services/responder/domain/decisions.py`). "Add note" records a note saying who asked (no
dialog is opened).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

from services.responder.api.commands import CommandKind
from services.responder.notify.slack import ACTION_IDS
from shared.errors import DataError
from shared.text import clean_line

ACTION_OF_ID: Final = {action_id: action for action, action_id in ACTION_IDS.items()}
MAX_PAYLOAD_ACTIONS: Final = 5


class BadPayload(DataError, ValueError):
    """An interaction payload that is not Slack's documented form."""


@dataclass(frozen=True, slots=True)
class ChatAction:
    """One button press: ``action`` (ack, escalate, resolve, note, approve, deny) on an incident, by ``actor``."""

    action: str
    incident_id: str
    actor: str
    request_id: str
    reply_to: str = ""  # Slack's response_url of the interaction ("" when none)


def command_of(action: ChatAction) -> tuple[CommandKind, str]:
    """Return the operator command (kind and text) a chat action publishes."""
    match action.action:
        case "ack":
            return CommandKind.ACK, "acknowledged from chat"
        case "resolve":
            return CommandKind.RESOLVE, "resolved from chat"
        case "escalate":
            return CommandKind.ESCALATE, f"escalated by {action.actor} from chat"
        case "approve":
            return CommandKind.APPROVE, f"approved by {action.actor} from chat"
        case "deny":
            return CommandKind.DENY, f"denied by {action.actor} from chat"
        case _:
            return CommandKind.NOTE, f"note requested by {action.actor} from chat"


def slack_actions(body: bytes) -> list[ChatAction]:
    """Return the incident buttons pressed in a Slack interaction (form-encoded ``payload=<JSON>``).

    Only ``block_actions`` carry buttons; other interaction types give no action. Actions that are
    not this service's buttons are skipped. Raises ``BadPayload`` for a body that is not the form.
    """
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=10)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        raise BadPayload("expected a form field 'payload' holding JSON") from None
    if not isinstance(payload, dict):
        raise BadPayload("the payload is not a JSON object")
    if payload.get("type") != "block_actions":
        return []
    actor = slack_actor(payload.get("user"))
    interaction = str(payload.get("trigger_id") or payload.get("container", {}).get("message_ts") or "")
    actions = payload.get("actions")
    if not isinstance(actions, list):
        raise BadPayload("block_actions without an 'actions' list")
    found: list[ChatAction] = []
    for item in actions[:MAX_PAYLOAD_ACTIONS]:
        if not isinstance(item, dict):
            continue
        name = ACTION_OF_ID.get(str(item.get("action_id", "")))
        incident_id = item.get("value")
        if name is None or not isinstance(incident_id, str) or not incident_id:
            continue
        rid = request_id("slack", interaction, str(item.get("action_ts", "")), name, incident_id)
        reply_to = payload.get("response_url")
        found.append(ChatAction(name, incident_id, actor, rid, reply_to if isinstance(reply_to, str) else ""))
    return found


def ephemeral_reply(action: ChatAction, *, known: bool) -> str | None:
    """Return what only the presser is told (through ``response_url``), or None when the message edit says it.

    Acknowledge and resolve show as the edited message; an escalation pages others and a note changes
    nothing visible, and a press on an unknown incident does nothing, so those are confirmed to the
    presser alone.
    """
    if not known:
        return f"Unknown incident {action.incident_id}: nothing was done."
    if action.action == "escalate":
        return f"Escalation requested for {action.incident_id}: the next level is paged now."
    if action.action == "note":
        return f"Recorded on {action.incident_id}'s timeline that you asked for a note; add its text in the console."
    if action.action == "approve":
        return f"Approved: recovery runs {action.incident_id}'s waiting step (once)."
    if action.action == "deny":
        return f"Denied: {action.incident_id}'s waiting step will not run; the incident escalates."
    return None


def nothing_awaits(incident_id: str) -> str:
    """What an Approve or Deny press is told when no step of the incident awaits a decision."""
    return f"No recovery step of {incident_id} awaits approval (decided, timed out or never asked): nothing was done."


def slack_actor(user: Any) -> str:
    """Return the actor of a Slack user: ``slack:<username>`` (else the user id), one clean line."""
    if not isinstance(user, dict):
        return "slack:unknown"
    name = user.get("username") or user.get("name") or user.get("id") or "unknown"
    return "slack:" + clean_line(str(name), limit=100)


def request_id(*parts: str) -> str:
    """Return a request id derived from ``parts`` (the same press twice publishes the same command)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
