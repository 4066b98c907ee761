"""The cadence state of every target, shared by the incident handlers and the scrape loops."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from services.collector.domain.cadence import (
    Intervals,
    TargetCadence,
    incident_active,
    incident_closed,
    interval_at,
    next_scrape_at,
)


class CadenceBook:
    """Holds each target's incident state and wakes its scrape loop when the state changes."""

    def __init__(self, intervals: Intervals) -> None:
        self.intervals = intervals
        self._states: defaultdict[str, TargetCadence] = defaultdict(TargetCadence)
        self._wakeups: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def state(self, target: str) -> TargetCadence:
        """Return the incident state of ``target``."""
        return self._states[target]

    def wakeup(self, target: str) -> asyncio.Event:
        """Return the event set whenever ``target``'s state changes."""
        return self._wakeups[target]

    def mark_active(self, target: str, incident_id: str) -> None:
        """Record an open incident on ``target``."""
        self._update(target, incident_active(self._states[target], incident_id))

    def mark_closed(self, target: str, incident_id: str, *, at: datetime) -> None:
        """Record that an incident on ``target`` closed at ``at``."""
        self._update(target, incident_closed(self._states[target], incident_id, at=at))

    def interval(self, target: str, *, now: datetime) -> float:
        """Return ``target``'s scrape interval at ``now``."""
        return interval_at(self._states[target], now=now, intervals=self.intervals)

    def next_due(self, target: str, *, last_scrape: datetime | None, now: datetime) -> datetime:
        """Return when ``target`` should next be scraped."""
        return next_scrape_at(self._states[target], last_scrape=last_scrape, now=now, intervals=self.intervals)

    def _update(self, target: str, new: TargetCadence) -> None:
        if new is not self._states[target]:
            self._states[target] = new
            self._wakeups[target].set()
