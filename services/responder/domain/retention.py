"""Forgetting resolved incidents once they are older than the responder's topics keep their events.

A restarted responder rebuilds its book from its own topics, which keep 7 days of events, so it
knows no incident resolved longer ago than that. A responder that ran for months forgot nothing:
its book, and with it the pass of the clock loop and of the notification outbox over every
incident each tick, grew with every incident it ever saw. ``forget_resolved`` makes the live book
what a restart would rebuild. An incident resolved more than the retention ago goes, with its
anomalies' index entries, its notification records and chat message references. A late revision
of one of its anomalies is then decided as a restarted responder decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from services.responder.domain.state import Book, IncidentState
from shared.models import IncidentStatus

SWEEP_EVERY_SHARE: Final = 0.01
"""The book is looked over once the clock has moved on by this share of the retention (100 min of 7 days)."""


@dataclass
class Sweeps:
    """When the book was last looked over for incidents to forget."""

    retention: timedelta
    last: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether to look now (and note it); never with a retention of 0."""
        if not self.retention:
            return False
        if self.last is not None and now - self.last < self.retention * SWEEP_EVERY_SHARE:
            return False
        self.last = now
        return True


def resolved_since(state: IncidentState) -> datetime | None:
    """When the incident was resolved (None while it is not).

    A resolved incident folded again from a later event (a note after the resolution) has no
    ``resolved_at`` of its own: its snapshot's last update stands for it.
    """
    if state.incident.status is not IncidentStatus.RESOLVED:
        return None
    return state.resolved_at or state.incident.updated_at or state.incident.opened_at


def forget_resolved(book: Book, *, now: datetime, retention: timedelta) -> set[str]:
    """Drop every incident resolved more than ``retention`` before ``now`` and what indexes it; return their ids."""
    gone = {
        incident_id
        for incident_id, state in book.incidents.items()
        if (resolved := resolved_since(state)) is not None and now - resolved > retention
    }
    if not gone:
        return gone
    for incident_id in gone:
        del book.incidents[incident_id]
        book.recovering.pop(incident_id, None)
    for index in (book.incident_of_anomaly, book.latest_by_group):
        for key in [k for k, incident_id in index.items() if incident_id in gone]:
            del index[key]
    for nid in [n for n, record in book.notification_records.items() if record.data.incident_id in gone]:
        del book.notification_records[nid]
        book.notifications.pop(nid, None)
    for ref in [r for r in book.message_refs if r[0] in gone]:
        del book.message_refs[ref]
    return gone
