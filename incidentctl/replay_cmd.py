"""``incidentctl replay``: the postmortem view, events of every topic in time order within a window.

The pure parts (time parsing, the window, topic names, the merge) are separate from the reading,
so they are unit-tested without a broker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TextIO

from incidentctl.exits import UnknownTopic, say
from shared.events import Event, encode_event
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS

_RELATIVE: Final = re.compile(r"^-(\d+(?:\.\d+)?)([smhd])$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, *, now: datetime) -> datetime:
    """A moment from ``-30m`` / ``-2h`` / ``-45s`` / ``-1d`` (before ``now``), ``now``, or an ISO 8601 time.

    An ISO time without a zone is taken as UTC. Raise ValueError (a usage error) for anything else.
    """
    value = text.strip()
    if value == "now":
        return now
    relative = _RELATIVE.match(value)
    if relative:
        return now - timedelta(seconds=float(relative.group(1)) * _UNITS[relative.group(2)])
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(say("err_time", text=text)) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """Event times ``start <= t < end``; None is open on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(say("err_window", start=self.start.isoformat(), end=self.end.isoformat()))

    @classmethod
    def parse(cls, start: str | None, end: str | None, *, now: datetime) -> Window:
        """The window of ``--from`` / ``--to`` (either may be missing)."""
        return cls(
            parse_when(start, now=now) if start else None,
            parse_when(end, now=now) if end else None,
        )

    def __contains__(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)


def known_topics(prefix: str = "") -> list[str]:
    """Names of the topics that carry CloudEvents, with the stack's prefix."""
    return [prefix + t.name for t in ALL_TOPICS if t.events]


def resolve_topics(names: Sequence[str], prefix: str = "") -> list[str]:
    """The full topic names for ``names`` (default: every event topic); a name may omit the prefix.

    Raises:
        UnknownTopic: for a name that is not an event topic of the contract.

    """
    known = known_topics(prefix)
    if not names:
        return known
    out: list[str] = []
    for name in names:
        full = name if name in known else prefix + name
        if full not in known:
            names_known = ", ".join(t.name for t in ALL_TOPICS if t.events)
            raise UnknownTopic(say("err_topic", name=name, known=names_known))
        out.append(full)
    return out


@dataclass(frozen=True, slots=True)
class Recorded:
    """One event as read from a topic, with where it was."""

    event: Event
    topic: str
    partition: int
    offset: int


def in_time_order(records: Iterable[Recorded], window: Window = Window()) -> list[Recorded]:
    """The records inside ``window``, merged across topics by event time (ties: topic, partition, offset)."""
    inside = [r for r in records if r.event.time in window]
    return sorted(inside, key=lambda r: (r.event.time, r.topic, r.partition, r.offset))


def of_incident(record: Recorded, incident: str | None) -> bool:
    """Whether ``record`` belongs to ``incident`` (its correlation id or subject); any when None."""
    return incident is None or record.event.correlationid == incident or record.event.subject == incident


async def read_recorded(settings: ServiceSettings, topic_names: Sequence[str]) -> list[Recorded]:
    """Every event now on ``topic_names`` (bad records skipped), in read order."""
    return [
        Recorded(event, record.topic, record.partition, record.offset)
        async for record, event in replay(settings, topic_names)
    ]


async def dump_events(
    settings: ServiceSettings,
    topic_names: Sequence[str],
    *,
    incident: str | None = None,
    window: Window = Window(),
    out: TextIO,
) -> int:
    """Write the events of ``topic_names`` in time order, one JSON object per line; return the count."""
    records = await read_recorded(settings, topic_names)
    count = 0
    for item in in_time_order(records, window):
        if of_incident(item, incident):
            out.write(encode_event(item.event).decode() + "\n")
            count += 1
    return count


__all__ = [
    "Recorded",
    "Window",
    "dump_events",
    "in_time_order",
    "known_topics",
    "of_incident",
    "parse_when",
    "read_recorded",
    "resolve_topics",
]
