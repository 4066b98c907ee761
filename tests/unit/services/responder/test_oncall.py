"""On-call rotation math: hand-offs across a DST change, layers, overrides, gaps; pages to the person on call."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from pydantic import ValidationError

from services.responder.domain.oncall import (
    Contact,
    Layer,
    Override,
    Person,
    Roster,
    Rotation,
    Schedule,
    gaps,
    handoffs,
    next_handoff,
    on_call,
    timeline,
    who_is_on_call,
)
from services.responder.domain.oncall_ical import schedule_ics
from services.responder.domain.outbox import owed_notices
from services.responder.domain.windows import TimeInterval, TimeRange
from shared import events as ev
from shared import models as m
from tests.factories import T0
from tests.unit.services.responder.helpers import Sim, anomaly, at, command


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def person(name: str, *delays: float) -> Person:
    contacts = [Contact(type="webhook", url=f"http://pager/{name}")]
    contacts += [Contact(type="log", delay_s=d) for d in delays]
    return Person(name=name, contacts=tuple(contacts))


def weekly_berlin(*people: str) -> Rotation:
    """Mondays 09:00 Europe/Berlin, from Monday 2026-03-16 (DST begins Sunday 2026-03-29)."""
    return Rotation(people=people, every="weekly", handoff=time(9), timezone="Europe/Berlin", start=date(2026, 3, 16))


def schedule(*layers: Layer, overrides: tuple[Override, ...] = (), team: m.Team = m.Team.L2) -> Schedule:
    return Schedule(name=f"{team.value.lower()}-primary", team=team, layers=layers, overrides=overrides)


def test_weekly_hand_off_keeps_local_time_across_the_dst_change() -> None:
    s = schedule(Layer(name="base", rotation=weekly_berlin("ann", "bob", "cat")))
    assert on_call(s, utc(2026, 3, 16, 7, 59)).person is None  # before the first turn
    assert on_call(s, utc(2026, 3, 16, 8, 0)).person == "ann"  # 09:00 CET = 08:00 UTC
    assert on_call(s, utc(2026, 3, 23, 8, 0)).person == "bob"
    # after the change to summer time 09:00 CEST is 07:00 UTC
    assert on_call(s, utc(2026, 3, 30, 6, 59)).person == "bob"
    assert on_call(s, utc(2026, 3, 30, 7, 0)).person == "cat"
    assert on_call(s, utc(2026, 4, 6, 7, 0)).person == "ann"  # the rotation wraps
    nxt = next_handoff(s, utc(2026, 3, 29, 12, 0))
    assert nxt is not None and (nxt.at, nxt.previous, nxt.person) == (utc(2026, 3, 30, 7, 0), "bob", "cat")


def test_a_hand_off_in_the_skipped_or_repeated_hour_of_a_dst_change_happens_once() -> None:
    rotation = Rotation(
        people=("ann", "bob"), every="daily", handoff=time(2, 30), timezone="Europe/Berlin", start=date(2026, 3, 1)
    )
    s = schedule(Layer(name="base", rotation=rotation))
    # 2026-03-29 02:30 does not exist in Berlin (02:00 CET -> 03:00 CEST): the hand-off is at 03:30 CEST
    spring = handoffs(s, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert [c.at for c in spring] == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    # 2026-10-25 02:30 happens twice (03:00 CEST -> 02:00 CET): the hand-off is at the first
    autumn = handoffs(s, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert [c.at for c in autumn] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert all(a.person != b.person for a, b in itertools.pairwise(autumn))


def test_daily_rotation_hands_off_at_its_time_of_day() -> None:
    rotation = Rotation(people=("ann", "bob"), every="daily", handoff=time(18), timezone="UTC", start=date(2026, 1, 1))
    s = schedule(Layer(name="base", rotation=rotation))
    assert on_call(s, utc(2026, 1, 1, 17, 59)).person is None
    assert on_call(s, utc(2026, 1, 1, 18)).person == "ann"
    assert on_call(s, utc(2026, 1, 2, 17, 59)).person == "ann"
    assert on_call(s, utc(2026, 1, 2, 18)).person == "bob"
    changes = handoffs(s, utc(2026, 1, 2), utc(2026, 1, 4))
    assert [(c.at, c.person) for c in changes] == [(utc(2026, 1, 2, 18), "bob"), (utc(2026, 1, 3, 18), "ann")]


def business_hours() -> TimeInterval:
    return TimeInterval(
        weekdays=("monday:friday",), times=(TimeRange(start_time="09:00", end_time="17:00"),), location="Europe/Berlin"
    )


def test_a_higher_layer_wins_where_it_has_someone() -> None:
    day = Rotation(people=("cat",), every="daily", handoff=time(0), timezone="Europe/Berlin", start=date(2026, 3, 1))
    s = schedule(
        Layer(name="base", rotation=weekly_berlin("ann", "bob")),
        Layer(name="office", rotation=day, only=(business_hours(),)),
    )
    wednesday = utc(2026, 3, 18, 9, 0)  # 10:00 CET
    assert on_call(s, wednesday) == on_call(s, wednesday).__class__("cat", "office")
    assert on_call(s, utc(2026, 3, 18, 16, 0)).person == "ann"  # 17:00 CET: the office layer has nobody
    assert on_call(s, utc(2026, 3, 21, 10, 0)).person == "ann"  # Saturday
    segments = timeline(s, utc(2026, 3, 18), utc(2026, 3, 19))
    assert [(x.start.hour, x.person) for x in segments] == [(0, "ann"), (8, "cat"), (16, "ann")]


def test_an_override_wins_over_every_layer_for_its_range() -> None:
    base = Layer(name="base", rotation=weekly_berlin("ann", "bob"))
    cover = Override(person="dan", start=utc(2026, 3, 18, 12), end=utc(2026, 3, 18, 14), reason="swap")
    s = schedule(base, overrides=(cover,))
    assert on_call(s, utc(2026, 3, 18, 11, 59)).person == "ann"
    assert (
        on_call(s, utc(2026, 3, 18, 12)) == on_call(s, utc(2026, 3, 18, 13))
        and on_call(s, utc(2026, 3, 18, 12)).source == "override"
    )
    assert on_call(s, utc(2026, 3, 18, 14)).person == "ann"
    changes = handoffs(s, utc(2026, 3, 18), utc(2026, 3, 19))
    assert [(c.at.hour, c.previous, c.person) for c in changes] == [(12, "ann", "dan"), (14, "dan", "ann")]


def test_gaps_are_the_times_with_nobody_on_call() -> None:
    day = Rotation(people=("cat",), every="daily", handoff=time(0), timezone="Europe/Berlin", start=date(2026, 3, 1))
    s = schedule(Layer(name="office", rotation=day, only=(business_hours(),)))
    found = gaps(s, utc(2026, 3, 18), utc(2026, 3, 19))  # Wednesday, CET (UTC+1)
    assert [(g.start, g.end) for g in found] == [
        (utc(2026, 3, 18), utc(2026, 3, 18, 8)),
        (utc(2026, 3, 18, 16), utc(2026, 3, 19)),
    ]
    change = next_handoff(s, utc(2026, 3, 18, 10))
    assert change is not None and change.person is None and change.at == utc(2026, 3, 18, 16)


def test_roster_validation_names_the_unknown_person_and_the_bad_time_zone() -> None:
    with pytest.raises(ValidationError, match="unknown person 'zed'"):
        Roster(people=(person("ann"),), schedules=(schedule(Layer(name="base", rotation=weekly_berlin("zed"))),))
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Rotation(people=("ann",), timezone="Mars/Olympus", start=date(2026, 1, 1))
    with pytest.raises(ValidationError, match="end must be after start"):
        Override(person="ann", start=utc(2026, 1, 2), end=utc(2026, 1, 1))


def test_the_icalendar_export_parses_back_to_the_shifts() -> None:
    layer = "base, nights; weekends \\ and holidays: a long name that needs folding " + "x" * 20
    s = schedule(
        Layer(name=layer, rotation=weekly_berlin("ann", "bob")),
        overrides=(Override(person="dan", start=utc(2026, 3, 18, 12), end=utc(2026, 3, 18, 14)),),
    )
    text = schedule_ics(s, utc(2026, 3, 16), utc(2026, 3, 30), stamp=utc(2026, 3, 1))
    assert all(len(line) <= 75 for line in text.split(b"\r\n"))  # folded per RFC 5545
    parsed = icalendar.Calendar.from_ical(text)
    events = [(e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"])) for e in parsed.walk("VEVENT")]
    assert events == [
        (utc(2026, 3, 16), utc(2026, 3, 16, 8), "L2: nobody on call"),
        (utc(2026, 3, 16, 8), utc(2026, 3, 18, 12), "L2 on call: ann"),
        (utc(2026, 3, 18, 12), utc(2026, 3, 18, 14), "L2 on call: dan"),
        (utc(2026, 3, 18, 14), utc(2026, 3, 23, 8), "L2 on call: ann"),
        (utc(2026, 3, 23, 8), utc(2026, 3, 30), "L2 on call: bob"),
    ]
    assert len({str(e["uid"]) for e in parsed.walk("VEVENT")}) == 5
    descriptions = [str(e["description"]) for e in parsed.walk("VEVENT") if "description" in e]
    assert descriptions[0] == f"schedule l2-primary, {layer}"  # escaped and unfolded back
    assert b"\\, nights\\; weekends" in text


def roster_l1(*delays: float) -> Roster:
    rotation = Rotation(
        people=("ann", "bob"), every="daily", handoff=time(12, 0, 30), start=T0.date() - timedelta(days=2)
    )
    return Roster(
        people=(person("ann", *delays), person("bob", *delays)),
        schedules=(schedule(Layer(name="base", rotation=rotation), team=m.Team.L1),),
    )


def owed(sim: Sim, roster: Roster | None, now: float) -> list[str]:
    state = sim.only()
    return [
        n.channel
        for n in owed_notices(state, {m.Team.L1: ("team",)}, set(), now=at(now), max_age_s=3600, roster=roster)
    ]


def test_a_page_goes_to_the_person_on_call_then_to_their_next_contact_after_its_delay() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    sim.tick(0)  # L1 paged at T0 (12:00:00): yesterday's turn (from 12:00:30) is ann's
    assert who_is_on_call(roster_l1(), m.Team.L1, at(0)) == on_call(roster_l1().schedules[0], at(0))
    assert who_is_on_call(roster_l1(), m.Team.L2, at(0)) is None
    assert owed(sim, None, 0) == ["team"]  # no schedule: the team's chbobels, as before
    assert owed(sim, roster_l1(60), 0) == ["team", "oncall:bob:0"]
    assert owed(sim, roster_l1(60), 59) == ["team", "oncall:bob:0"]
    assert owed(sim, roster_l1(60), 60) == ["team", "oncall:bob:0", "oncall:bob:1"]
    sim.command(command(ev.AcknowledgeRequested, sim.only().incident.incident_id, t=30), t=30)
    assert "oncall:bob:1" not in owed(sim, roster_l1(60), 60)  # acknowledged before the next contact was due
    assert (
        owed(sim, roster_l1(60), 60)[-1] == "oncall:bob:0"
    )  # the acknowledgement is told to bob, paged before the hand-off


def test_the_page_after_the_hand_off_goes_to_the_next_person() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=40)
    sim.tick(40)  # after the 12:00:30 hand-off: ann
    assert owed(sim, roster_l1(), 40) == ["team", "oncall:ann:0"]
