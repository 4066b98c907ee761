"""Incident and recovery events drive the scrape cadence of the target they concern."""

from __future__ import annotations

from typing import Any

from services.collector.cadence_book import CadenceBook
from shared import events as ev
from shared.bus import Delivery
from shared.models import IncidentStatus


def apply_event(book: CadenceBook, event: ev.Envelope[Any]) -> None:
    """Fold one incident or recovery event into the cadence book (other events are ignored)."""
    if isinstance(event, ev.RecoveryVerified):
        book.mark_closed(event.data.target, event.data.incident_id, at=event.time)
        return
    incident = getattr(event.data, "incident", None)
    if incident is None:
        return
    if isinstance(event, ev.IncidentResolved) or incident.status is IncidentStatus.RESOLVED:
        book.mark_closed(incident.target, incident.incident_id, at=event.time)
    else:
        book.mark_active(incident.target, incident.incident_id)


class CadenceHandlers:
    """Subscribers of the incidents and recovery topics."""

    def __init__(self, book: CadenceBook) -> None:
        self.book = book

    async def on_incident_event(self, event: ev.Envelope[Any], delivery: Delivery) -> None:
        """An incident opened, changed or was resolved."""
        apply_event(self.book, event)

    async def on_recovery_event(self, event: ev.Envelope[Any], delivery: Delivery) -> None:
        """A recovery step happened; a verified recovery ends the incident's fast cadence."""
        apply_event(self.book, event)
