"""iCalendar (RFC 5545) export of an on-call schedule: one event per shift, and one per gap."""

from __future__ import annotations

from datetime import datetime

import icalendar

from services.responder.domain.oncall import Schedule, timeline

PRODID = "-//incidentctl//on-call schedule//EN"


def schedule_ics(schedule: Schedule, start: datetime, end: datetime, *, stamp: datetime) -> bytes:
    """Return the shifts of ``schedule`` in [start, end) as an iCalendar document (folded, escaped by icalendar).

    Each shift is a ``VEVENT`` (``SUMMARY`` "L2 on call: alice"); a time with nobody on call is one
    too ("L2: nobody on call"), so a gap is visible in a calendar. ``UID`` derives from the schedule
    and the shift's start, so a re-export updates the same events; ``stamp`` is ``DTSTAMP``.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{schedule.team.value} on call ({schedule.name})")
    for segment in timeline(schedule, start, end):
        event = icalendar.Event()
        event.add("uid", f"{schedule.name}-{segment.start.strftime('%Y%m%dT%H%M%SZ')}@incidentctl")
        event.add("dtstamp", stamp)
        event.add("dtstart", segment.start)
        event.add("dtend", segment.end)
        if segment.person is None:
            event.add("summary", f"{schedule.team.value}: nobody on call")
        else:
            event.add("summary", f"{schedule.team.value} on call: {segment.person}")
            event.add("description", f"schedule {schedule.name}, {segment.source}")
        calendar.add_component(event)
    document: bytes = calendar.to_ical()
    return document
