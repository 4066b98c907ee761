"""The book's index of open incidents answers exactly what a scan of ``open_by_group`` answers."""

from __future__ import annotations

import random

import pytest

from services.responder.domain.inhibition import inhibited_by, inhibited_in
from services.responder.domain.lifecycle import transition
from services.responder.domain.policy import MANUAL_INHIBIT_RULES, InhibitRule
from services.responder.domain.state import PROBLEM_SEP, Book, fold_incident_event
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import at

BASES = ("service=a", "service=b", "service=a,problem=x")
PROBLEMS = ("", "down", "errors", "latency")
RULES = (
    *MANUAL_INHIBIT_RULES,
    InhibitRule(name="any-critical", source={"severity": "critical"}, target={"severity": "minor"}),
    InhibitRule(name="two-equal", source={"scope": "*"}, target={"scope": "*"}, equal=("service", "host")),
)


def _incident(rng: random.Random, n: int, incident_id: str | None = None) -> m.Incident:
    base = rng.choice(BASES)
    problem = rng.choice(PROBLEMS)
    key = f"{base}{PROBLEM_SEP}{problem}" if problem else base
    labels = {name: rng.choice(("a", "b", "h1")) for name in ("service", "host") if rng.random() < 0.8}
    if rng.random() < 0.7:
        labels["scope"] = rng.choice(("host", "service"))
    return m.Incident(
        incident_id=incident_id or f"inc-{n}",
        group_key=key,
        target=labels.get("service", "t"),
        title="t",
        severity=rng.choice(list(m.Severity)),
        severity_reason="r",
        status=m.IncidentStatus.RESOLVED if rng.random() < 0.25 else m.IncidentStatus.TRIGGERED,
        opened_at=at(rng.randrange(5)),
        impacts=(rng.choice(list(m.Impact)),),
        labels=labels,
        active_fingerprints=("f",) if rng.random() < 0.8 else (),
    )


def _scan_under(book: Book, key: str) -> list[str]:
    return [k for k in book.open_by_group if k == key or k.startswith(key + PROBLEM_SEP)]


def _scan_sharing(book: Book, wanted: list[tuple[str, str]]) -> list[m.Incident]:
    return [i for i in book.open_incidents() if all(i.labels.get(name) == v for name, v in wanted)]


@pytest.mark.parametrize("seed", range(20))
def test_index_agrees_with_a_scan_after_every_fold(seed: int) -> None:
    """Opens, updates (labels and group keys may change), resolves, reopens: index == scan, order included."""
    rng = random.Random(seed)
    book = Book()
    known: list[str] = []
    for n in range(120):
        reuse = known and rng.random() < 0.6
        incident = _incident(rng, n, rng.choice(known) if reuse else None)
        known.append(incident.incident_id)
        cls = ev.IncidentResolved if incident.status is m.IncidentStatus.RESOLVED else ev.IncidentUpdated
        fold_incident_event(book, transition(cls, incident, "r", id_parts=(n,), now=at(n)))
        for key in (*BASES, "service=a,problem=x,problem=", "nothing"):
            assert book.open_keys_under(key) == _scan_under(book, key)
        for wanted in ([], [("service", "a")], [("service", "b"), ("host", "h1")], [("host", "zz")]):
            assert book.open_sharing(wanted) == _scan_sharing(book, wanted)
        labels = {"service": rng.choice(("a", "b")), "host": "h1", "scope": "service", "severity": "minor"}
        assert inhibited_in(book, labels, RULES) == inhibited_by(book.open_incidents(), labels, RULES)
