"""Incident and recovery events drive the scrape cadence of the target they concern."""

from __future__ import annotations

from services.collector.cadence_book import CadenceBook
from shared import events as ev
from shared.bus import Delivery
from shared.models import IncidentStatus


def apply_event(book: CadenceBook, event: ev.IncidentEvent | ev.RecoveryEvent) -> None:
    """Fold one incident or recovery event into the cadence book (other recovery steps change nothing)."""
    if isinstance(event, ev.RecoveryVerified):
        book.mark_closed(event.data.target, event.data.incident_id, at=event.time)
        return
    if isinstance(event, ev.RecoveryEvent):
        return
    incident = event.data.incident
    if isinstance(event, ev.IncidentResolved) or incident.status is IncidentStatus.RESOLVED:
        book.mark_closed(incident.target, incident.incident_id, at=event.time)
    else:
        book.mark_active(incident.target, incident.incident_id)


class CadenceHandlers:
    """Subscribers of the incidents and recovery topics."""

    def __init__(self, book: CadenceBook) -> None:
        self.book = book

    async def on_incident_event(self, event: ev.IncidentEvent, delivery: Delivery) -> None:
        """An incident opened, changed or was resolved."""
        apply_event(self.book, event)

    async def on_recovery_event(self, event: ev.RecoveryEvent, delivery: Delivery) -> None:
        """A recovery step happened; a verified recovery ends the incident's fast cadence."""
        apply_event(self.book, event)
