"""On-call endpoints over injected dependencies: now and next, schedules read and put, iCalendar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, time

import httpx
import icalendar
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.responder.api import ApiSettings, build_api
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from services.responder.domain.oncall import Contact, Layer, Person, Roster, Rotation, Schedule
from services.responder.domain.windows import MaintenanceWindow
from shared import events as ev
from shared import models as m
from tests.factories import T0
from tests.unit.services.responder.api.builders import at
from tests.unit.services.responder.api.test_routes import AUTH, READ, READ_TOKEN, TOKEN, Recorder

WINDOW = MaintenanceWindow.model_validate(
    {
        "name": "noon",
        "matchers": ["service=api"],
        "time_intervals": [{"times": [{"start_time": "12:00", "end_time": "13:00"}]}],
    }
)


def roster() -> Roster:
    rotation = Rotation(
        people=("ann", "bob"), every="daily", handoff=time(18), timezone="UTC", start=date(2025, 12, 31)
    )
    people = tuple(Person(name=n, contacts=(Contact(type="log"),)) for n in ("ann", "bob", "cat"))
    l2 = Schedule(name="l2-primary", team=m.Team.L2, layers=(Layer(name="base", rotation=rotation),))
    return Roster(people=people, schedules=(l2,))


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    recorder = Recorder()
    deps = ApiDeps(
        settings=ApiSettings(token=SecretStr(TOKEN), read_token=SecretStr(READ_TOKEN)),
        projection=Projection(),
        publish=recorder,
        registry=CollectorRegistry(),
        clock=lambda: at(0),  # 2026-01-01 12:00 UTC: ann, from 2025-12-31 18:00 (turn 0)
        roster=roster,
        windows=lambda: (WINDOW,),
    )
    transport = httpx.ASGITransport(app=build_api(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=READ) as c:
        yield c, recorder


async def test_who_is_on_call_now_and_next(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    c, _ = client
    body = (await c.get("/api/oncall", params={"team": "L2"})).json()
    assert body["now"]["person"] == "ann" and body["schedule"] == "l2-primary"  # turn 0 from 2025-12-31 18:00
    assert body["next"]["person"] == "bob" and body["next"]["since"].startswith("2026-01-01T18:00:00")
    later = (await c.get("/api/oncall", params={"team": "L2", "at": "2026-01-01T19:00:00+01:00"})).json()
    assert later["now"]["person"] == "bob"
    missing = await c.get("/api/oncall", params={"team": "L1"})
    assert missing.status_code == 404 and "no on-call schedule" in missing.json()["detail"]


async def test_put_publishes_a_schedule_update_and_refuses_unknown_people(
    client: tuple[httpx.AsyncClient, Recorder],
) -> None:
    c, recorder = client
    schedule = (await c.get("/api/schedules/l2-primary")).json()
    schedule["layers"][0]["rotation"]["people"] = ["cat", "ann"]
    put = await c.put("/api/schedules/l2-primary", json=schedule, headers=AUTH | {"Idempotency-Key": "k1"})
    assert put.status_code == 202, put.text
    ((event, key),) = recorder.events
    assert isinstance(event, ev.ScheduleUpdated) and key == "l2-primary"
    assert Schedule.model_validate(event.data.schedule).layers[0].rotation.people == ("cat", "ann")
    again = await c.put("/api/schedules/l2-primary", json=schedule, headers=AUTH | {"Idempotency-Key": "k1"})
    assert again.json()["duplicate"] is True
    schedule["layers"][0]["rotation"]["people"] = ["zed"]
    bad = await c.put("/api/schedules/l2-primary", json=schedule, headers=AUTH)
    assert bad.status_code == 422 and "unknown person 'zed'" in bad.json()["message"]
    assert (await c.put("/api/schedules/l2-primary", json=schedule)).status_code == 401  # the read token only
    assert (await c.put("/api/schedules/other", json=schedule, headers=AUTH)).status_code == 422


async def test_the_calendar_export_is_icalendar(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    c, _ = client
    response = await c.get("/api/schedules/l2-primary/schedule.ics", params={"days": 2})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["L2 on call: ann", "L2 on call: bob", "L2 on call: ann"]
    assert events[0].decoded("dtstart") == T0
    assert (await c.get("/api/schedules/nope/schedule.ics")).status_code == 404


async def test_windows_are_listed_with_whether_they_hold_now(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    c, _ = client
    (view,) = (await c.get("/api/windows")).json()
    assert view["active"] is True and view["window"]["name"] == "noon"  # the clock reads 12:00 UTC
    assert view["window"]["matchers"] == [{"name": "service", "op": "=", "value": "api"}]
