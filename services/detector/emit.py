"""Anomaly revisions as events: deterministic ids from (anomaly id, revision), keyed by target."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from services.detector.domain.tracker import Change, Emission
from shared import events as ev
from shared.bus import EventBus
from shared.models import Anomaly

EVENT_OF: Final[dict[Change, type[ev.Envelope[Anomaly]]]] = {
    Change.DETECTED: ev.AnomalyDetected,
    Change.UPDATED: ev.AnomalyUpdated,
    Change.RESOLVED: ev.AnomalyResolved,
}


def to_event(
    emission: Emission, *, source: str, time: datetime, causation: ev.Envelope[Any] | None = None
) -> ev.Envelope[Anomaly]:
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
    bus: EventBus, emissions: Iterable[Emission], *, time: datetime, causation: ev.Envelope[Any] | None = None
) -> int:
    """Publish anomaly revisions keyed by target; return how many were new."""
    sent = 0
    for emission in emissions:
        event = to_event(emission, source=bus.source, time=time, causation=causation)
        sent += await bus.publish(event, key=emission.anomaly.target)
    return sent
