"""Dump events from topics as JSON lines, optionally only one incident's: the postmortem view."""

from __future__ import annotations

from typing import TextIO

from shared.events import encode_event
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS


async def dump_events(bootstrap: str, topic_names: list[str], *, incident: str | None, out: TextIO) -> int:
    """Write every event on ``topic_names`` (default: all) as one JSON object per line; return the count."""
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap)
    names = topic_names or [settings.topic_prefix + t.name for t in ALL_TOPICS if t.events]
    count = 0
    async for _, event in replay(settings, names):
        if incident is not None and event.correlationid != incident and event.subject != incident:
            continue
        out.write(encode_event(event).decode() + "\n")
        count += 1
    return count
