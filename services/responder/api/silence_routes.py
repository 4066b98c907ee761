"""Silence endpoints and the Alertmanager webhook."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.responder.api.alertmanager import WebhookPayload, to_events
from services.responder.api.auth import Guard
from services.responder.api.commands import silence_created, silence_expired, silence_window
from services.responder.api.deps import ApiDeps
from services.responder.api.incident_routes import publish
from services.responder.api.requests import SilenceRequest
from services.responder.api.views import AlertIngestResult, CommandAccepted, SilenceView


@contextlib.contextmanager
def event_contract() -> Iterator[None]:
    """Turn a request the event contract refuses (a label too long, a control character) into a 422."""
    try:
        yield
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def silence_router(deps: ApiDeps, *, read: Guard, write: Guard) -> APIRouter:
    """Return the silence endpoints bound to ``deps``."""
    router = APIRouter(prefix="/api/silences", tags=["silences"])

    @router.get("", response_model=list[SilenceView], dependencies=[Depends(read)])
    async def list_silences(active: bool = False) -> list[SilenceView]:
        """List silences (``active=true``: only those in force now)."""
        views = deps.projection.silences(now=deps.clock())
        return [v for v in views if v.state == "active"] if active else views

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CommandAccepted,
        dependencies=[Depends(write)],
    )
    async def create_silence(
        body: SilenceRequest,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> CommandAccepted:
        """Create a silence (maintenance window) from matchers and an end time or a duration."""
        now = deps.clock()
        try:
            starts, ends = silence_window(
                now=now, starts_at=body.starts_at, ends_at=body.ends_at, duration_s=body.duration_s
            )
        except ValueError as exc:  # the documented 422 shape, like every other invalid body
            error = {"type": "value_error", "loc": ("body",), "msg": str(exc), "input": None}
            raise RequestValidationError([error]) from exc
        with event_contract():
            event = silence_created(
                matchers=body.matchers,
                starts_at=starts,
                ends_at=ends,
                author=body.author,
                reason=body.reason,
                request_id=body.request_id or idempotency_key or uuid.uuid4().hex,
                now=now,
            )
        sent = await publish(deps, event, event.data.silence_id)
        return CommandAccepted(
            command_id=event.data.silence_id, event_id=event.id, event_type=event.type, duplicate=not sent
        )

    @router.delete(
        "/{silence_id}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CommandAccepted,
        dependencies=[Depends(write)],
    )
    async def expire_silence(silence_id: str) -> CommandAccepted:
        """Expire a silence now."""
        silence = deps.projection.silence(silence_id)
        if silence is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown silence {silence_id}")
        event = silence_expired(silence, now=deps.clock())
        sent = await publish(deps, event, silence_id)
        return CommandAccepted(command_id=silence_id, event_id=event.id, event_type=event.type, duplicate=not sent)

    return router


def alertmanager_router(deps: ApiDeps, *, write: Guard) -> APIRouter:
    """Return the Alertmanager webhook endpoint bound to ``deps``."""
    router = APIRouter(tags=["ingest"])

    @router.post(
        "/api/alertmanager",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=AlertIngestResult,
        dependencies=[Depends(write)],
    )
    async def alertmanager_webhook(payload: WebhookPayload) -> AlertIngestResult:
        """Turn each alert of an Alertmanager webhook (v4) into an anomaly event (idempotent per alert)."""
        with event_contract():
            events = to_events(payload, deps.settings.alertmanager, now=deps.clock())
        published = 0
        for event, alert in zip(events, payload.alerts, strict=True):
            sent = not deps.projection.has_event(event.id) and await publish(deps, event, event.data.target)
            published += sent
            deps.alerts.labels(alert.status, "published" if sent else "duplicate").inc()
        return AlertIngestResult(
            received=len(events),
            published=published,
            duplicates=len(events) - published,
            anomaly_ids=[e.data.anomaly_id for e in events],
        )

    return router
