"""Incident endpoints: list, detail with timeline, report, and the operator commands."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from fastapi.responses import FileResponse

from services.responder.api.auth import ErrorBody, Guard
from services.responder.api.commands import CommandKind, command_event, declare_event
from services.responder.api.deps import ApiDeps
from services.responder.api.requests import (
    AckRequest,
    ActorRequest,
    ApprovalRequest,
    DeclareRequest,
    DenyRequest,
    EscalateRequest,
    MergeRequest,
    NoteRequest,
    ReassignRequest,
    SeverityRequest,
    SplitRequest,
)
from services.responder.api.views import CommandAccepted, IncidentDetail, IncidentSummary
from shared.events import CommandEvent, Event
from shared.files import UnsafePath, confined
from shared.models import IncidentStatus, Severity

REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
REFUSED = status.HTTP_409_CONFLICT  # a decision the incident's state does not allow
MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


def incident_router(deps: ApiDeps, *, read: Guard, write: Guard) -> APIRouter:
    """Return the incident endpoints bound to ``deps``."""
    router = APIRouter(prefix="/api/incidents", tags=["incidents"])
    projection = deps.projection

    @router.get("", response_model=list[IncidentSummary], dependencies=[Depends(read)])
    async def list_incidents(
        status_: Annotated[IncidentStatus | None, Query(alias="status")] = None,
        severity: Severity | None = None,
        target: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[IncidentSummary]:
        """List incidents, newest first, optionally filtered."""
        return projection.incidents(status=status_, severity=severity, target=target, limit=limit)

    @router.get("/{incident_id}", response_model=IncidentDetail, dependencies=[Depends(read)])
    async def get_incident(incident_id: str) -> IncidentDetail:
        """One incident with its full timeline (every event across topics tied to it)."""
        detail = projection.incident(incident_id)
        if detail is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown incident {incident_id}")
        return detail

    @router.get("/{incident_id}/report", dependencies=[Depends(read)], response_class=FileResponse)
    async def get_report(incident_id: str, format: Literal["md", "html"] = "md") -> FileResponse:
        """The incident report the RCA service wrote (Markdown or HTML)."""
        detail = projection.incident(incident_id)
        report = detail.rca.report_path if detail is not None and detail.rca is not None else None
        path = find_report(report, format, deps.settings.reports_dir) if report else None
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {format} report for incident {incident_id}")
        headers = {"Content-Security-Policy": REPORT_CSP} if format == "html" else {}
        return FileResponse(path, media_type=MEDIA_TYPES[format], headers=headers)

    async def submit(
        kind: CommandKind,
        incident_id: str,
        actor: str,
        text: str,
        request_id: str | None,
        key: str | None,
        **fields: Any,
    ) -> CommandAccepted:
        if not projection.knows(incident_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown incident {incident_id}")
        rid = request_id or key or uuid.uuid4().hex
        event = command_event(kind, incident_id, actor=actor, text=text, request_id=rid, now=deps.clock(), **fields)
        return await accepted(kind, event)

    async def accepted(kind: CommandKind, event: CommandEvent) -> CommandAccepted:
        incident_id = event.data.incident_id
        sent = await publish(deps, event, incident_id)
        deps.commands.labels(kind.value, "accepted" if sent else "duplicate").inc()
        return CommandAccepted(
            command_id=event.data.command_id,
            event_id=event.id,
            event_type=event.type,
            incident_id=incident_id,
            duplicate=not sent,
        )

    idempotency = Header(None, alias="Idempotency-Key", max_length=200)

    def command_route(kind: CommandKind, summary: str) -> None:
        async def endpoint(
            incident_id: str, body: ActorRequest | None = None, idempotency_key: str | None = idempotency
        ) -> CommandAccepted:
            b = body or ActorRequest()
            return await submit(kind, incident_id, b.actor, b.text, b.request_id, idempotency_key)

        router.add_api_route(
            f"/{{incident_id}}/{kind.value}",
            endpoint,
            methods=["POST"],
            status_code=status.HTTP_202_ACCEPTED,
            response_model=CommandAccepted,
            dependencies=[Depends(write)],
            summary=summary,
            name=f"{kind.value}_incident",
        )

    command_route(CommandKind.RESOLVE, "Resolve an incident")
    command_route(CommandKind.RCA, "Run root-cause analysis of an incident now")

    @router.post(
        "/{incident_id}/notes",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CommandAccepted,
        dependencies=[Depends(write)],
    )
    async def add_note(
        incident_id: str, body: NoteRequest, idempotency_key: str | None = idempotency
    ) -> CommandAccepted:
        """Add a note to an incident's timeline."""
        return await submit(CommandKind.NOTE, incident_id, body.actor, body.text, body.request_id, idempotency_key)

    write_route: dict[str, Any] = {
        "status_code": status.HTTP_202_ACCEPTED,
        "response_model": CommandAccepted,
        "dependencies": [Depends(write)],
    }

    @router.post("/{incident_id}/ack", name="ack_incident", **write_route)
    async def acknowledge(
        incident_id: str, body: AckRequest | None = None, idempotency_key: str | None = idempotency
    ) -> CommandAccepted:
        """Acknowledge an incident for a level (default: the highest paged); that level's escalation stops."""
        b = body or AckRequest()
        return await submit(CommandKind.ACK, incident_id, b.actor, b.text, b.request_id, idempotency_key, level=b.level)

    @router.post("", name="declare_incident", **write_route)
    async def declare(body: DeclareRequest, idempotency_key: str | None = idempotency) -> CommandAccepted:
        """Declare an incident by hand (a security incident, a data leak): it pages by its severity's policy."""
        rid = body.request_id or idempotency_key or uuid.uuid4().hex
        fields = {"severity": body.severity, "impact": body.impact, "title": body.title, "target": body.target}
        event = declare_event(
            actor=body.actor, text=body.text, request_id=rid, now=deps.clock(), team=body.team, **fields
        )
        return await accepted(CommandKind.DECLARE, event)

    @router.post("/{incident_id}/escalate", name="escalate_incident", **write_route)
    async def escalate(
        incident_id: str, body: EscalateRequest | None = None, idempotency_key: str | None = idempotency
    ) -> CommandAccepted:
        """Escalate now to the next level (or ``level``): it is paged and its clock starts, even after an ack."""
        b = body or EscalateRequest()
        return await submit(
            CommandKind.ESCALATE, incident_id, b.actor, b.text, b.request_id, idempotency_key, level=b.level
        )

    @router.post("/{incident_id}/reassign", name="reassign_incident", **write_route)
    async def reassign(
        incident_id: str, body: ReassignRequest, idempotency_key: str | None = idempotency
    ) -> CommandAccepted:
        """Reassign to a team (paged now) and/or a person."""
        fields = {"team": body.team, "person": body.person}
        return await submit(
            CommandKind.REASSIGN, incident_id, body.actor, body.text, body.request_id, idempotency_key, **fields
        )

    @router.post("/{incident_id}/severity", name="override_severity", **write_route)
    async def severity_(
        incident_id: str, body: SeverityRequest, idempotency_key: str | None = idempotency
    ) -> CommandAccepted:
        """Override the severity with a reason (kept against automatic re-grading); null clears the override."""
        return await submit(
            CommandKind.SEVERITY,
            incident_id,
            body.actor,
            body.text,
            body.request_id,
            idempotency_key,
            severity=body.severity,
        )

    refusable = {**write_route, "responses": {409: {"model": ErrorBody, "description": "the decision is refused"}}}

    def awaiting(incident_id: str) -> None:
        if not projection.knows(incident_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown incident {incident_id}")
        if not projection.awaiting_approval(incident_id):
            raise HTTPException(REFUSED, f"no recovery step of {incident_id} awaits approval")

    @router.post("/{incident_id}/approve", name="approve_recovery", **refusable)
    async def approve(
        incident_id: str, body: ApprovalRequest | None = None, idempotency_key: str | None = idempotency
    ) -> CommandAccepted:
        """Approve the recovery step awaiting approval: recovery runs it (once)."""
        b = body or ApprovalRequest()
        awaiting(incident_id)
        return await submit(CommandKind.APPROVE, incident_id, b.actor, b.text, b.request_id, idempotency_key)

    @router.post("/{incident_id}/deny", name="deny_recovery", **refusable)
    async def deny(incident_id: str, body: DenyRequest, idempotency_key: str | None = idempotency) -> CommandAccepted:
        """Deny the recovery step awaiting approval: the recovery fails and the incident escalates."""
        awaiting(incident_id)
        return await submit(CommandKind.DENY, incident_id, body.actor, body.text, body.request_id, idempotency_key)

    @router.post("/{incident_id}/merge", name="merge_incident", **refusable)
    async def merge(incident_id: str, body: MergeRequest, idempotency_key: str | None = idempotency) -> CommandAccepted:
        """Merge this incident into ``into``: it resolves as merged, its anomalies move there."""
        if body.into == incident_id:
            raise HTTPException(REFUSED, "an incident cannot merge into itself")
        if not projection.knows(body.into):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown incident {body.into} to merge into")
        return await submit(
            CommandKind.MERGE,
            incident_id,
            body.actor,
            body.text,
            body.request_id,
            idempotency_key,
            other_incident_id=body.into,
        )

    @router.post("/{incident_id}/split", name="split_incident", **refusable)
    async def split(incident_id: str, body: SplitRequest, idempotency_key: str | None = idempotency) -> CommandAccepted:
        """Move the named anomalies of this incident to a new incident."""
        detail = projection.incident(incident_id)
        if detail is not None:
            unknown = [a for a in body.anomaly_ids if a not in detail.incident.anomaly_ids]
            if unknown:
                raise HTTPException(REFUSED, f"not anomalies of {incident_id}: {', '.join(unknown)}")
            if len(set(body.anomaly_ids)) >= len(detail.incident.anomaly_ids):
                raise HTTPException(REFUSED, "a split must leave the incident an anomaly")
        fields = {"anomaly_ids": body.anomaly_ids, "title": body.title}
        return await submit(
            CommandKind.SPLIT, incident_id, body.actor, body.text, body.request_id, idempotency_key, **fields
        )

    return router


async def publish(deps: ApiDeps, event: Event, key: str) -> bool:
    """Publish through the bus; a broker failure becomes 503 (the client may retry with its request id)."""
    try:
        return await deps.publish(event, key)
    except Exception as exc:  # any broker/client error: the request was not accepted
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"event bus unavailable: {type(exc).__name__}"
        ) from exc


def find_report(report_path: str, fmt: str, reports_dir: str | None) -> Path | None:
    """Locate the report file of format ``fmt`` named by (or next to) ``report_path``, inside ``reports_dir``.

    ``report_path`` comes from an ``rca.completed`` event, which anyone able to produce to the topic
    can forge: only a file inside ``reports_dir`` (symbolic links resolved) is ever returned, and
    without a ``reports_dir`` no report is served at all.
    """
    if not reports_dir or fmt not in MEDIA_TYPES:
        return None
    root = Path(reports_dir)
    try:
        base = confined(root, report_path)
    except UnsafePath:
        return None
    if base.is_dir():
        candidates = [base / f"report.{fmt}", *sorted(base.glob(f"*.{fmt}"))]
    else:
        candidates = [base.with_suffix(f".{fmt}")]
    for path in candidates:
        try:
            resolved = confined(root, path)
        except UnsafePath:
            continue
        if resolved.is_file():
            return resolved
    return None
