"""Anomaly revisions as events: deterministic ids from (anomaly id, revision), keyed by target."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from services.detector.domain.tracker import Change, Emission
from shared import events as ev
from shared.bus import EventBus

EVENT_OF: Final[dict[Change, type[ev.AnomalyEvent]]] = {
    Change.DETECTED: ev.AnomalyDetected,
    Change.UPDATED: ev.AnomalyUpdated,
    Change.RESOLVED: ev.AnomalyResolved,
}


def to_event(emission: Emission, *, source: str, time: datetime, causation: ev.Cause | None = None) -> ev.AnomalyEvent:
    """Wrap an anomaly revision in its event; the id derives from (anomaly id, revision)."""
    anomaly = emission.anomaly
    return EVENT_OF[emission.change].create(
        anomaly,
        source=source,
        id_parts=(anomaly.anomaly_id, anomaly.revision),
        time=time,
        subject=anomaly.target,
        causation=causation,
    )


async def publish_emissions(
    bus: EventBus, emissions: Iterable[Emission], *, time: datetime, causation: ev.Cause | None = None
) -> int:
    """Publish anomaly revisions keyed by target; return how many were new."""
    sent = 0
    for emission in emissions:
        event = to_event(emission, source=bus.source, time=time, causation=causation)
        sent += await bus.publish(event, key=emission.anomaly.target)
    return sent
