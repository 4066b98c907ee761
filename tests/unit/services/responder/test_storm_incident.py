"""A storm's incident stays within the contract and cheap to update: it lists its first anomalies, not all."""

from __future__ import annotations

from services.responder.domain.lifecycle import MAX_LISTED_ANOMALIES, UNLISTED_NOTE
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, command, decision


def storm(sim: Sim, count: int, *, start: int = 0) -> None:
    for i in range(start, start + count):
        sim.anomaly(anomaly("api", f"sig{i}", episode=str(i), t=i * 0.001), t=i * 0.001)


def test_joins_past_the_listing_limit_leave_the_incident_as_it_is_and_say_so_once() -> None:
    sim = Sim()
    storm(sim, MAX_LISTED_ANOMALIES + 200)
    state = sim.only()
    assert len(state.incident.anomaly_ids) == len(state.incident.active_fingerprints) == MAX_LISTED_ANOMALIES
    assert len(sim.of_type(ev.IncidentUpdated)) == MAX_LISTED_ANOMALIES - 1  # the unlisted 200 changed nothing
    assert [e.data.reason for e in sim.of_type(ev.IncidentNoteAdded)] == [UNLISTED_NOTE]
    assert state.notes == (UNLISTED_NOTE,)
    assert "sig1100" not in state.incident.signals
    biggest = max(sim.log, key=lambda e: len(ev.encode_event(e)))  # type: ignore[arg-type]
    assert ev.parse_event(ev.encode_event(biggest)) == biggest  # type: ignore[arg-type]


def test_an_unlisted_anomaly_still_raises_the_severity_and_is_listed_nowhere() -> None:
    sim = Sim()
    storm(sim, MAX_LISTED_ANOMALIES)
    before = sim.only().incident
    down = anomaly("api", "http.up", episode="down", t=5.0, impact=m.Impact.SERVICE_DOWN)
    decision = sim.anomaly(down, t=5.0)
    after = sim.only().incident
    assert decision.outcome == "unlisted" and after.severity is m.Severity.CRITICAL != before.severity
    assert "unlisted anomaly joined" in decision.events[0].data.reason
    assert after.anomaly_ids == before.anomaly_ids and after.active_fingerprints == before.active_fingerprints
    assert down.data.anomaly_id not in sim.book.incident_of_anomaly


def test_a_resolved_storm_incident_leaves_a_still_firing_unlisted_anomaly_to_a_new_incident() -> None:
    sim = Sim()
    storm(sim, MAX_LISTED_ANOMALIES + 1)
    first = sim.only().incident.incident_id
    sim.command(command(ev.ResolveRequested, first, t=10.0), t=10.0)
    late = MAX_LISTED_ANOMALIES
    decision = sim.anomaly(
        anomaly("api", f"sig{late}", episode=str(late), t=11.0, revision=2, cls=ev.AnomalyUpdated), t=11.0
    )
    assert decision.outcome.startswith("opened") and len(sim.book.incidents) == 2


def test_the_anomaly_index_follows_anomalies_moved_to_another_incident() -> None:
    sim = Sim()
    storm(sim, 5)
    source = sim.only().incident
    moved = source.anomaly_ids[1:3]
    sim.decide(decision(ev.SplitRequested, source.incident_id, t=1.0, anomaly_ids=moved), t=1.0)
    storm(sim, 1, start=5)
    index = sim.book.incident_of_anomaly
    (new_id,) = set(sim.book.incidents) - {source.incident_id}
    assert {a: index[a] for a in moved} == dict.fromkeys(moved, new_id)
    kept = sim.book.incidents[source.incident_id].incident.anomaly_ids
    assert {index[a] for a in kept} == {source.incident_id} and len(kept) == 4
