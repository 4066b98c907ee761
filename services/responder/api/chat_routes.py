"""Two-way chat: Slack's interactions endpoint and the signed callback URLs of other chat tools.

Neither route takes the API's bearer token (the gate lets ``/api/chat/`` through): a Slack request
is authenticated by its v0 signature under ``RESPONDER_API_SLACK_SIGNING_SECRET``, a callback by
its HMAC token under ``RESPONDER_API_CALLBACK_SECRET``. Each publishes an operator command to
``responder.commands.v1``; the responder applies it and its acknowledge/resolve notice edits the
Slack message (``chat.update``). The Slack route answers 200 at once (Slack waits 3 s at most).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import httpx
from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from pydantic import Field

from services.responder.api.auth import ErrorBody
from services.responder.api.chat import (
    BadPayload,
    ChatAction,
    command_of,
    ephemeral_reply,
    nothing_awaits,
    request_id,
    slack_actions,
)
from services.responder.api.commands import command_event
from services.responder.api.deps import ApiDeps
from services.responder.api.incident_routes import publish
from services.responder.api.requests import Body
from services.responder.api.views import CommandAccepted
from services.responder.notify.callback import APPROVAL_ACTIONS, TokenRejected, check
from services.responder.notify.slack import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRejected,
    escape,
    verify_slack,
)
from shared.errors import ActionError
from shared.text import clean_line

log = logging.getLogger(__name__)


class CallbackRequest(Body):
    """Who pressed the link, and the note's text (``note`` only)."""

    actor: str = Field("chat", min_length=1, max_length=200)
    text: str = Field("", max_length=4000)


SLACK_FORM: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["payload"],
                    "properties": {"payload": {"type": "string", "description": "the interaction, as JSON"}},
                }
            }
        },
    }
}


class NothingAwaits(ActionError):
    """An approve or deny pressed when no recovery step of the incident awaits a decision."""


def chat_router(deps: ApiDeps) -> APIRouter:
    """Return the chat endpoints bound to ``deps``."""
    router = APIRouter(prefix="/api/chat", tags=["chat"])
    projection = deps.projection

    async def perform(action: ChatAction, text: str = "") -> CommandAccepted | None:
        """Publish the command of ``action``; None when the incident is unknown.

        Raises ``NothingAwaits`` for an approve or deny when no step of the incident awaits a decision.
        """
        if not projection.knows(action.incident_id):
            deps.commands.labels(f"chat-{action.action}", "unknown-incident").inc()
            return None
        if action.action in APPROVAL_ACTIONS and not projection.awaiting_approval(action.incident_id):
            deps.commands.labels(f"chat-{action.action}", "nothing-awaits").inc()
            raise NothingAwaits(nothing_awaits(action.incident_id))
        kind, default_text = command_of(action)
        event = command_event(
            kind,
            action.incident_id,
            actor=action.actor,
            text=text or default_text,
            request_id=action.request_id,
            now=deps.clock(),
        )
        sent = await publish(deps, event, action.incident_id)
        deps.commands.labels(f"chat-{action.action}", "accepted" if sent else "duplicate").inc()
        return CommandAccepted(
            command_id=event.data.command_id,
            event_id=event.id,
            event_type=event.type,
            incident_id=action.incident_id,
            duplicate=not sent,
        )

    @router.post(
        "/slack/interactions",
        status_code=status.HTTP_200_OK,
        response_class=Response,
        openapi_extra=SLACK_FORM,
        responses={
            200: {"description": "accepted (Slack needs nothing back)"},
            400: {"model": ErrorBody, "description": "not Slack's interaction form (payload=<JSON>)"},
            401: {"model": ErrorBody, "description": "missing, stale or wrong X-Slack-Signature"},
        },
    )
    async def slack_interactions(request: Request, background: BackgroundTasks) -> Response:
        """Slack's interactivity request URL: a signed ``block_actions`` payload becomes operator commands."""
        secret = deps.settings.slack_signing_secret
        if secret is None or not secret.get_secret_value():
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "Slack is not configured: set RESPONDER_API_SLACK_SIGNING_SECRET"
            )
        body = await request.body()
        headers = request.headers
        try:
            verify_slack(
                secret,
                headers.get(TIMESTAMP_HEADER),
                headers.get(SIGNATURE_HEADER),
                body,
                now=deps.clock().timestamp(),
            )
        except SignatureRejected as exc:
            deps.auth_failures.inc()
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"Slack signature refused: {exc}") from None
        try:
            actions = slack_actions(body)
        except BadPayload as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        prefix = deps.settings.slack_reply_prefix
        for action in actions:
            try:
                known = await perform(action) is not None
                reply = ephemeral_reply(action, known=known)
            except NothingAwaits as exc:
                reply = str(exc)
            except ValueError:  # an incident id the command model refuses: nothing to act on
                deps.commands.labels(f"chat-{action.action}", "invalid").inc()
                reply = ephemeral_reply(action, known=False)
            if reply and prefix and action.reply_to.startswith(prefix):  # only Slack's own hooks host
                background.add_task(post_ephemeral, action.reply_to, reply)
        return Response(status_code=status.HTTP_200_OK)

    @router.post(
        "/callback/{token}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CommandAccepted,
        responses={403: {"model": ErrorBody, "description": "forged, altered or expired callback token"}},
    )
    async def chat_callback(token: str, body: CallbackRequest | None = None) -> CommandAccepted:
        """Perform the action a signed callback URL of a notification names (ack, ..., approve, deny)."""
        secret = deps.settings.callback_secret
        if secret is None or not secret.get_secret_value():
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "callbacks are not configured: set RESPONDER_API_CALLBACK_SECRET"
            )
        try:
            claims = check(secret, token, now=deps.clock().timestamp())
        except TokenRejected as exc:
            deps.auth_failures.inc()
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"callback refused: {exc}") from None
        b = body or CallbackRequest()
        if claims.action == "note" and not b.text.strip():
            raise HTTPException(422, "a note needs 'text'")
        action = ChatAction(
            claims.action,
            claims.incident_id,
            f"chat:{clean_line(b.actor, limit=100)}",
            request_id("callback", token, b.actor, b.text),
        )
        try:
            accepted = await perform(action, b.text if claims.action == "note" else "")
        except NothingAwaits as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        if accepted is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown incident {claims.incident_id}")
        return accepted

    return router


async def post_ephemeral(url: str, text: str) -> None:
    """Tell only the presser ``text`` through the interaction's ``response_url`` (after the 200 went out)."""
    body = {"response_type": "ephemeral", "replace_original": False, "text": escape(clean_line(text))}
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            await client.post(url, json=body)
    except httpx.HTTPError as exc:  # the command is published already; the reply is a courtesy
        log.warning("Slack response_url reply failed: %s", type(exc).__name__)
