"""On-call endpoints: who is on call now and next, schedules (read and replace), iCalendar; maintenance windows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.responder.api.auth import Guard
from services.responder.api.deps import ApiDeps
from services.responder.api.incident_routes import publish
from services.responder.api.views import CommandAccepted, OnCallNow, OnCallView, WindowView
from services.responder.domain.oncall import Roster, Schedule, next_handoff, on_call
from services.responder.domain.oncall_ical import schedule_ics
from services.responder.domain.windows import window_active
from shared import events as ev
from shared.models import ScheduleChange, Team

SOURCE = "/services/responder/api"


def oncall_router(deps: ApiDeps, *, read: Guard, write: Guard) -> APIRouter:
    """Return the on-call endpoints bound to ``deps`` (the roster is the responder's, ``deps.roster``)."""
    router = APIRouter(prefix="/api", tags=["on-call"])

    def schedule_named(name: str) -> Schedule:
        schedule = deps.roster().schedule(name)
        if schedule is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown schedule {name}")
        return schedule

    @router.get("/oncall", response_model=OnCallView, dependencies=[Depends(read)])
    async def who_is_on_call(team: Team, at: datetime | None = None) -> OnCallView:
        """Who is on call for ``team`` now (or at ``at``), and the next hand-off."""
        schedule = deps.roster().schedule_of(team)
        if schedule is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"team {team.value} has no on-call schedule: its pages go to its channels"
            )
        when = at or deps.clock()
        if when.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "at: give a time zone (e.g. Z or +09:00)")
        now = on_call(schedule, when)
        change = next_handoff(schedule, when)
        upcoming = None if change is None else OnCallNow(person=change.person, source=change.source, since=change.at)
        return OnCallView(
            team=team,
            schedule=schedule.name,
            at=when,
            now=OnCallNow(person=now.person, source=now.source),
            next=upcoming,
        )

    @router.get("/schedules", response_model=list[Schedule], dependencies=[Depends(read)])
    async def list_schedules() -> list[Schedule]:
        """Every team's on-call schedule (the config's, or the last one put here)."""
        return list(deps.roster().schedules)

    @router.get("/schedules/{name}", response_model=Schedule, dependencies=[Depends(read)])
    async def get_schedule(name: str) -> Schedule:
        """One schedule."""
        return schedule_named(name)

    @router.put(
        "/schedules/{name}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CommandAccepted,
        dependencies=[Depends(write)],
    )
    async def put_schedule(
        name: str,
        body: Schedule,
        author: str = "api",
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> CommandAccepted:
        """Replace (or add) a schedule; it must name only people of the roster. The responder applies it."""
        if body.name != name:
            raise _invalid(f"the schedule's name {body.name!r} differs from the path's {name!r}")
        roster: Roster = deps.roster()
        try:
            roster.with_schedule(body)
        except ValidationError as exc:
            raise _invalid("; ".join(str(e["msg"]) for e in exc.errors())) from exc
        request_id = idempotency_key or uuid.uuid4().hex
        try:
            data = ScheduleChange(
                schedule_name=name, team=body.team, schedule=body.model_dump(mode="json"), author=author
            )
        except ValidationError as exc:
            raise _invalid("; ".join(str(e["msg"]) for e in exc.errors())) from exc
        event = ev.ScheduleUpdated.create(
            data, source=SOURCE, id_parts=(name, request_id), time=deps.clock(), subject=name
        )
        sent = await publish(deps, event, name)
        return CommandAccepted(command_id=request_id, event_id=event.id, event_type=event.type, duplicate=not sent)

    @router.get(
        "/schedules/{name}/schedule.ics",
        dependencies=[Depends(read)],
        response_class=Response,
        responses={200: {"content": {"text/calendar": {}}, "description": "the shifts as iCalendar (RFC 5545)"}},
    )
    async def schedule_calendar(name: str, days: Annotated[int, Query(ge=1, le=366)] = 28) -> Response:
        """The schedule's shifts (and gaps) from now for ``days`` days as an iCalendar document."""
        schedule = schedule_named(name)
        now = deps.clock()
        body = schedule_ics(schedule, now, now + timedelta(days=days), stamp=now)
        headers = {"Content-Disposition": f'attachment; filename="{name}.ics"'}
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    @router.get("/windows", response_model=list[WindowView], dependencies=[Depends(read)], tags=["silences"])
    async def list_windows() -> list[WindowView]:
        """The configured maintenance windows, and whether each holds now."""
        now = deps.clock()
        return [WindowView(window=w, active=window_active(w, now)) for w in deps.windows()]

    return router


def _invalid(message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": message, "input": None}])
