"""Adaptive scrape cadence per target: normal, faster while an incident is open, slower after recovery.

The manual asks for a 5-minute scrape normally, 1 minute while an incident on the target is open
and 10 minutes for a while after recovery. The state is kept as two sets (incidents seen open,
incidents seen closed, with the time they closed) rather than a current phase, so applying the
same events twice or out of order (a start-up replay racing the live subscription) gives the same
answer: an incident is open if it was seen open and never seen closed, and the target is in the
post-recovery phase until ``post_recovery_duration_s`` after its last closing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

MAX_CLOSED_REMEMBERED: Final = 10_000


class Phase(StrEnum):
    """Which cadence a target is scraped at."""

    NORMAL = "normal"
    INCIDENT = "incident"
    POST_RECOVERY = "post_recovery"


@dataclass(frozen=True, slots=True)
class Intervals:
    """Scrape intervals (seconds) of each phase and how long the post-recovery phase lasts."""

    normal_s: float = 300.0
    incident_s: float = 60.0
    post_recovery_s: float = 600.0
    post_recovery_duration_s: float = 1800.0

    def of(self, phase: Phase) -> float:
        """Return the interval of ``phase``."""
        if phase is Phase.INCIDENT:
            return self.incident_s
        if phase is Phase.POST_RECOVERY:
            return self.post_recovery_s
        return self.normal_s


@dataclass(frozen=True, slots=True)
class TargetCadence:
    """What the collector knows about one target's incidents."""

    opened: frozenset[str] = frozenset()
    closed: dict[str, datetime] = field(default_factory=dict)

    @property
    def open_incidents(self) -> frozenset[str]:
        """Incidents seen open and not (yet) seen closed."""
        return frozenset(i for i in self.opened if i not in self.closed)

    @property
    def last_closed_at(self) -> datetime | None:
        """When the most recent incident on this target closed."""
        return max(self.closed.values(), default=None)


def incident_active(state: TargetCadence, incident_id: str) -> TargetCadence:
    """Record that ``incident_id`` is open (opened, updated, acknowledged...); closed ids stay closed."""
    if incident_id in state.opened:
        return state
    return replace(state, opened=state.opened | {incident_id})


def incident_closed(state: TargetCadence, incident_id: str, *, at: datetime) -> TargetCadence:
    """Record that ``incident_id`` was resolved or its recovery verified at ``at`` (the earliest close wins)."""
    known = state.closed.get(incident_id)
    if known is not None and known <= at:
        return state
    closed = {**state.closed, incident_id: at}
    if len(closed) > MAX_CLOSED_REMEMBERED:
        oldest = sorted(closed, key=closed.__getitem__)[: len(closed) - MAX_CLOSED_REMEMBERED]
        for old in oldest:
            del closed[old]
    return replace(state, opened=state.opened | {incident_id}, closed=closed)


def phase_at(state: TargetCadence, *, now: datetime, intervals: Intervals) -> Phase:
    """Return the target's phase at ``now``."""
    if state.open_incidents:
        return Phase.INCIDENT
    last = state.last_closed_at
    if last is not None and now < last + timedelta(seconds=intervals.post_recovery_duration_s):
        return Phase.POST_RECOVERY
    return Phase.NORMAL


def interval_at(state: TargetCadence, *, now: datetime, intervals: Intervals) -> float:
    """Return the scrape interval (seconds) in effect for the target at ``now``."""
    return intervals.of(phase_at(state, now=now, intervals=intervals))


def next_scrape_at(
    state: TargetCadence, *, last_scrape: datetime | None, now: datetime, intervals: Intervals
) -> datetime:
    """Return when the next scrape is due: one current interval after the last one (now if never scraped).

    The interval is the one in effect now, so an incident opening during a long normal interval
    brings the next scrape forward at once.
    """
    if last_scrape is None:
        return now
    return last_scrape + timedelta(seconds=interval_at(state, now=now, intervals=intervals))
