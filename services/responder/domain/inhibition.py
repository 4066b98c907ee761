"""Inhibition: an open incident suppresses anomalies that are symptoms of it (host down, critical)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.responder.domain.grouping import matches
from services.responder.domain.policy import InhibitRule
from services.responder.domain.state import Book
from shared.models import Incident, IncidentStatus


@dataclass(frozen=True, slots=True)
class Inhibition:
    """Which incident suppresses an anomaly, under which rule."""

    incident_id: str
    rule: str


def _source_matches(incident: Incident, matchers: Mapping[str, str]) -> bool:
    labels = dict(incident.labels) | {"severity": incident.severity.value}
    rest = {k: v for k, v in matchers.items() if k != "impact"}
    if "impact" in matchers and matchers["impact"] not in {i.value for i in incident.impacts}:
        return False
    return matches(labels, rest)


def inhibited_by(
    incidents: Iterable[Incident], target_labels: Mapping[str, str], rules: Iterable[InhibitRule]
) -> Inhibition | None:
    """Return the first open incident that inhibits an anomaly with ``target_labels`` (incl. ``severity``).

    The source side matches the incident's labels, its severity and any of its impacts; the
    ``equal`` labels must be present and equal on both sides, so a host-down inhibits only the
    services of that host and a Critical only its own service's Minor symptoms. An incident whose
    signals have all cleared (waiting to auto-resolve) inhibits nothing: what fires now is new.
    """
    open_incidents = [i for i in incidents if _inhibits(i)]
    for rule in rules:
        if not matches(target_labels, rule.target):
            continue
        wanted = [(name, target_labels.get(name)) for name in rule.equal]
        if not all(value for _, value in wanted):
            continue  # an equal label the anomaly lacks can match no incident
        for incident in _sharing(open_incidents, wanted):
            if _source_matches(incident, rule.source):
                return Inhibition(incident.incident_id, rule.name)
    return None


def inhibited_in(book: Book, target_labels: Mapping[str, str], rules: Iterable[InhibitRule]) -> Inhibition | None:
    """``inhibited_by`` over the book's open incidents, found through its label index (same answer, no scan)."""
    for rule in rules:
        if not matches(target_labels, rule.target):
            continue
        wanted = [(name, target_labels.get(name)) for name in rule.equal]
        present = [(name, value) for name, value in wanted if value]
        if len(present) != len(wanted):
            continue  # an equal label the anomaly lacks can match no incident
        for incident in book.open_sharing(present):
            if _inhibits(incident) and _source_matches(incident, rule.source):
                return Inhibition(incident.incident_id, rule.name)
    return None


def _inhibits(incident: Incident) -> bool:
    return incident.status is not IncidentStatus.RESOLVED and bool(incident.active_fingerprints)


def _sharing(incidents: list[Incident], wanted: list[tuple[str, str | None]]) -> list[Incident]:
    """The incidents whose labels have every wanted value (the cheap test first: a storm has many)."""
    if len(wanted) == 1:
        ((name, value),) = wanted
        return [i for i in incidents if i.labels.get(name) == value]
    return [i for i in incidents if all(i.labels.get(name) == value for name, value in wanted)]
