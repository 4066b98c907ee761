"""On-call schedules: people and their contact rules, rotations, layers and overrides; who is on call when.

Everything here is a pure function of the schedule and a time. A team's schedule has layers (each
a rotation, optionally restricted to time intervals); a later layer wins wherever it has someone,
and an override (a person for a time range) wins over every layer. A rotation hands off every day
or week at a local time of day in its time zone (wall-clock time: a hand-off at 09:00 stays at
09:00 across a daylight-saving change). ``timeline`` cuts a time range into segments of one person
(or nobody: a gap); hand-offs, gaps, "who is on call now and next" and the iCalendar export all
derive from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Final, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.responder.domain.windows import TimeInterval, zone
from shared.models import Team

PersonName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
"""A person's handle: letters, digits, ``.``, ``_``, ``@``, ``-`` (it names notification channels)."""
SHIFT_DAYS: Final = {"daily": 1, "weekly": 7}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(_Frozen):
    """One step of a person's contact rules: a channel, tried ``delay_s`` after the previous step.

    ``type`` and ``url``/``secret`` are those of a team route (webhook, pagerduty, apprise for
    e-mail, Teams..., slack with buttons, log); a secret is the name of a ``RESPONDER_SECRETS__<NAME>``
    entry. ``channel``: slack only, the channel or the person's member id (a direct message).
    """

    type: Literal["webhook", "pagerduty", "apprise", "slack", "log"]
    url: str = ""
    secret: str | None = None
    channel: str = ""
    delay_s: float = Field(0.0, ge=0, description="wait after the previous contact (the first: after the page)")

    @model_validator(mode="after")
    def _slack_needs_channel_and_token(self) -> Contact:
        if self.type == "slack" and (not self.channel or not self.secret):
            raise ValueError(
                "a slack contact needs 'channel' (channel or member id) and 'secret' (the bot token's name)"
            )
        return self


class Person(_Frozen):
    """Someone who can be on call, and how to reach them, in order."""

    name: PersonName
    contacts: tuple[Contact, ...] = Field(min_length=1)


class Rotation(_Frozen):
    """``people`` take turns, ``every`` day or week, handing off at ``handoff`` local time in ``timezone``.

    The first turn (``people[0]``) starts on ``start`` at the hand-off time; a weekly rotation hands
    off on ``start``'s weekday. Before ``start`` the rotation has nobody.
    """

    people: tuple[PersonName, ...] = Field(min_length=1)
    every: Literal["daily", "weekly"] = "weekly"
    handoff: time = time(9, 0)
    timezone: str = "UTC"
    start: date

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    def shift_start(self, index: int) -> datetime:
        """Return when turn ``index`` begins (UTC); turn 0 begins on ``start``."""
        day = self.start + timedelta(days=index * SHIFT_DAYS[self.every])
        return datetime.combine(day, self.handoff, tzinfo=zone(self.timezone)).astimezone(zone("UTC"))

    def shift_at(self, at: datetime) -> int | None:
        """Return the index of the turn running at ``at``, or None before the first one."""
        local = at.astimezone(zone(self.timezone))
        index = (local.date() - self.start).days // SHIFT_DAYS[self.every]
        while index >= 0 and self.shift_start(index) > at:
            index -= 1
        while self.shift_start(index + 1) <= at:
            index += 1
        return index if index >= 0 else None

    def person_at(self, at: datetime) -> str | None:
        """Return who is on turn at ``at``."""
        index = self.shift_at(at)
        return None if index is None else self.people[index % len(self.people)]


class Layer(_Frozen):
    """A rotation, present only while one of ``only`` holds (always, when empty)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    rotation: Rotation
    only: tuple[TimeInterval, ...] = ()

    def person_at(self, at: datetime) -> str | None:
        """Return who this layer puts on call at ``at`` (None: nobody, a lower layer may have someone)."""
        if self.only and not any(interval.contains(at) for interval in self.only):
            return None
        return self.rotation.person_at(at)


class Override(_Frozen):
    """``person`` is on call from ``start`` to ``end`` whatever the layers say."""

    person: PersonName
    start: AwareDatetime
    end: AwareDatetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Schedule(_Frozen):
    """A team's schedule: layers (later ones win where they have someone) and overrides."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    team: Team
    layers: tuple[Layer, ...] = Field(min_length=1)
    overrides: tuple[Override, ...] = ()


class Roster(_Frozen):
    """Everyone who can be paged and every team's schedule (the ``oncall`` section of the responder's config)."""

    people: tuple[Person, ...] = ()
    schedules: tuple[Schedule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [p.name for p in self.people]
        if len(set(names)) != len(names):
            raise ValueError(f"people: a name is declared twice: {sorted(n for n in names if names.count(n) > 1)[0]}")
        known = set(names)
        teams: set[Team] = set()
        for schedule in self.schedules:
            if schedule.team in teams:
                raise ValueError(f"schedules: team {schedule.team.value} has two schedules")
            teams.add(schedule.team)
            for layer in schedule.layers:
                for person in layer.rotation.people:
                    if person not in known:
                        raise ValueError(f"schedule {schedule.name}: layer {layer.name}: unknown person {person!r}")
            for override in schedule.overrides:
                if override.person not in known:
                    raise ValueError(f"schedule {schedule.name}: override: unknown person {override.person!r}")
        return self

    def person(self, name: str) -> Person | None:
        """Return the person called ``name``."""
        return next((p for p in self.people if p.name == name), None)

    def schedule_of(self, team: Team) -> Schedule | None:
        """Return the schedule of ``team`` (None: the team is paged through its channels)."""
        return next((s for s in self.schedules if s.team is team), None)

    def schedule(self, name: str) -> Schedule | None:
        """Return the schedule called ``name``."""
        return next((s for s in self.schedules if s.name == name), None)

    def with_schedule(self, schedule: Schedule) -> Roster:
        """Return this roster with ``schedule`` added or replacing the one of the same name (validated)."""
        kept = tuple(s for s in self.schedules if s.name != schedule.name)
        return Roster.model_validate({"people": self.people, "schedules": (*kept, schedule)})


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who is on call at a time, and why (``override`` or the layer's name)."""

    person: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Segment:
    """``person`` (None: a gap) is on call from ``start`` to ``end`` (UTC)."""

    start: datetime
    end: datetime
    person: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Handoff:
    """At ``at`` the on-call of a schedule changes from ``previous`` to ``person`` (None: nobody)."""

    at: datetime
    previous: str | None
    person: str | None
    source: str


def on_call(schedule: Schedule, at: datetime) -> OnCall:
    """Return who is on call for ``schedule`` at ``at``: the latest override, else the highest layer with someone."""
    for override in reversed(schedule.overrides):
        if override.start <= at < override.end:
            return OnCall(override.person, "override")
    for layer in reversed(schedule.layers):
        person = layer.person_at(at)
        if person is not None:
            return OnCall(person, layer.name)
    return OnCall(None, "gap")


def who_is_on_call(roster: Roster, team: Team, at: datetime) -> OnCall | None:
    """Return who is on call for ``team`` at ``at`` (None: the team has no schedule; its channels are paged)."""
    schedule = roster.schedule_of(team)
    return None if schedule is None else on_call(schedule, at)


def _interval_edges(interval: TimeInterval, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every local midnight and time-range edge of ``interval`` in [start, end] (candidate changes)."""
    tz = zone(interval.location)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        yield datetime.combine(day, time(0), tzinfo=tz)
        for time_range in interval.times:
            for minute in time_range.minutes:
                yield datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minute)
        day += timedelta(days=1)


def _edges(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in (start, end) at which the schedule's on-call may change."""
    edges: set[datetime] = set()
    for layer in schedule.layers:
        rotation = layer.rotation
        index = rotation.shift_at(start)
        index = 0 if index is None else index + 1
        while (at := rotation.shift_start(index)) < end:
            edges.add(at)
            index += 1
        for interval in layer.only:
            edges.update(_interval_edges(interval, start, end))
    for override in schedule.overrides:
        edges.update((override.start, override.end))
    utc = zone("UTC")
    return sorted(e.astimezone(utc) for e in edges if start < e < end)


def timeline(schedule: Schedule, start: datetime, end: datetime) -> list[Segment]:
    """Cut [start, end) into segments of one on-call person each (``person`` None: a gap), in order."""
    segments: list[Segment] = []
    current = on_call(schedule, start)
    since = start
    for edge in _edges(schedule, start, end):
        here = on_call(schedule, edge)
        if here.person != current.person:
            segments.append(Segment(since, edge, current.person, current.source))
            current, since = here, edge
    segments.append(Segment(since, end, current.person, current.source))
    return segments


def handoffs(schedule: Schedule, start: datetime, end: datetime) -> list[Handoff]:
    """Return the changes of on-call in (start, end), in order (to nobody: a gap begins)."""
    segments = timeline(schedule, start, end)
    return [Handoff(b.start, a.person, b.person, b.source) for a, b in itertools.pairwise(segments)]


def next_handoff(schedule: Schedule, after: datetime, *, horizon: timedelta = timedelta(days=60)) -> Handoff | None:
    """Return the first change of on-call after ``after`` within ``horizon`` (None: nobody changes)."""
    for span in (min(timedelta(days=1), horizon), min(timedelta(days=8), horizon), horizon):  # near ones first
        found = handoffs(schedule, after, after + span)
        if found:
            return found[0]
    return None


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Segment]:
    """Return the segments of [start, end) with nobody on call."""
    return [s for s in timeline(schedule, start, end) if s.person is None]


def contact_plan(person: Person, paged_at: datetime) -> list[tuple[int, Contact, datetime]]:
    """Return each contact step of ``person`` with its index and the time it is due for a page at ``paged_at``."""
    plan: list[tuple[int, Contact, datetime]] = []
    at = paged_at
    for index, contact in enumerate(person.contacts):
        at += timedelta(seconds=contact.delay_s)
        plan.append((index, contact, at))
    return plan


def contact_channel(person: str, index: int) -> str:
    """Return the channel name of a person's contact step (part of each notification's id)."""
    return f"oncall:{person}:{index}"


def schedules_for(roster: Roster, teams: Iterable[Team]) -> Sequence[Schedule]:
    """Return the schedules of ``teams`` that have one."""
    return [s for team in teams if (s := roster.schedule_of(team)) is not None]
