from __future__ import annotations

from dataclasses import replace

from services.responder.domain.lifecycle import SOURCE, transition
from services.responder.domain.state import IncidentState, NoticeKind, Trigger, apply_incident
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at, command, decision, policy


def test_storm_on_one_service_is_one_incident_updated_not_many() -> None:
    sim = Sim()
    for i in range(50):
        sim.anomaly(anomaly("api", f"sig{i % 7}", episode=str(i), t=i * 0.1), t=i * 0.1)
    state = sim.only()
    assert len(sim.of_type(ev.IncidentOpened)) == 1
    assert len(sim.of_type(ev.IncidentUpdated)) == 49
    assert len(state.incident.anomaly_ids) == 50
    assert set(state.incident.active_fingerprints) == {f"api/sig{i}" for i in range(7)}


def test_different_services_are_different_incidents() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    sim.anomaly(anomaly("db"), t=1)
    assert len(sim.book.incidents) == 2


def test_group_by_host_merges_services_of_one_host() -> None:
    sim = Sim(policy(grouping=policy().grouping.model_copy(update={"group_by": ("host",)})))
    sim.anomaly(anomaly("api", host="h1"), t=0)
    sim.anomaly(anomaly("web", host="h1"), t=1)
    sim.anomaly(anomaly("db", host="h2"), t=2)
    assert len(sim.book.incidents) == 2


def test_redelivered_or_repeated_anomaly_is_deduplicated() -> None:
    sim = Sim()
    first = anomaly("api")
    sim.anomaly(first, t=0)
    assert sim.anomaly(first, t=1).events == []
    revised = anomaly("api", revision=2, cls=ev.AnomalyUpdated)
    assert sim.anomaly(revised, t=2).outcome == "duplicate"
    assert len(sim.log) == 1


def test_decisions_are_deterministic_so_reprocessing_yields_the_same_ids() -> None:
    a, b = Sim(), Sim()
    e1 = a.anomaly(anomaly("api"), t=0).events
    e2 = b.anomaly(anomaly("api"), t=0).events
    assert [e.id for e in e1] == [e.id for e in e2]
    assert e1[0].data.incident.incident_id == e2[0].data.incident.incident_id


def test_all_signals_clear_then_auto_resolve_after_quiet_period() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "a"), t=0)
    sim.anomaly(anomaly("api", "b"), t=1)
    sim.anomaly(anomaly("api", "a", cls=ev.AnomalyResolved, revision=2), t=5)
    assert sim.only().incident.cleared_at is None
    sim.anomaly(anomaly("api", "b", cls=ev.AnomalyResolved, revision=2), t=6)
    assert sim.only().incident.cleared_at is not None
    assert sim.tick(6 + 29) == [] or not sim.of_type(ev.IncidentResolved)
    sim.tick(6 + 30)
    resolved = sim.of_type(ev.IncidentResolved)
    assert len(resolved) == 1 and "auto-resolved" in resolved[0].data.reason
    assert sim.only().incident.status is m.IncidentStatus.RESOLVED


def test_a_signal_the_detector_stopped_observing_clears_and_the_incident_says_it_was_not_seen_to_clear() -> None:
    sim = Sim()
    sim.anomaly(anomaly("pod-7", "http.up"), t=0)
    forgotten = {m.RESOLVED_BY: m.RESOLVED_BY_RETENTION}
    sim.anomaly(anomaly("pod-7", "http.up", cls=ev.AnomalyResolved, revision=2, labels=forgotten), t=5)
    update = sim.of_type(ev.IncidentUpdated)[-1]
    assert update.data.reason.startswith("signal no longer observed (target no longer scraped), not seen to clear")
    assert sim.only().incident.cleared_at is not None
    sim.tick(5 + 30)
    assert len(sim.of_type(ev.IncidentResolved)) == 1


def test_signal_firing_again_cancels_auto_resolve() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "a"), t=0)
    sim.anomaly(anomaly("api", "a", cls=ev.AnomalyResolved, revision=2), t=5)
    sim.anomaly(anomaly("api", "a", cls=ev.AnomalyUpdated, revision=3, t=10), t=10)  # newer evidence
    sim.tick(100)
    assert not sim.of_type(ev.IncidentResolved)


def test_a_revision_older_than_the_clearing_one_does_not_fire_the_signal_again() -> None:
    sim = Sim()
    firing = anomaly("api", "a", cls=ev.AnomalyUpdated, revision=2, t=3)
    sim.anomaly(anomaly("api", "a"), t=0)
    sim.anomaly(firing, t=3)
    sim.anomaly(anomaly("api", "a", cls=ev.AnomalyResolved, revision=3, t=3), t=5)
    assert sim.only().incident.cleared_at is not None

    assert sim.anomaly(firing, t=8).outcome == "stale revision"  # redelivered after the resolution
    assert sim.anomaly(anomaly("api", "a"), t=9).outcome == "stale revision"
    assert sim.only().incident.cleared_at is not None
    sim.tick(100)
    assert sim.of_type(ev.IncidentResolved)


def test_another_responder_folding_the_incident_knows_which_revisions_are_stale() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "a"), t=0)
    sim.anomaly(anomaly("api", "a", cls=ev.AnomalyResolved, revision=2, t=0), t=5)
    heir = Sim()  # the new owner of the partition after a rebalance: it knows only the incident's events
    for event in sim.log:
        heir._emit([event])
    assert heir.anomaly(anomaly("api", "a"), t=6).outcome == "stale revision"
    assert heir.anomaly(anomaly("api", "a", cls=ev.AnomalyUpdated, revision=3, t=6), t=6).outcome == "revised"


def test_merge_and_split_carry_the_clearing_revisions() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "a"), t=0)
    sim.anomaly(anomaly("api", "b", episode="2", t=1), t=1)
    sim.anomaly(anomaly("api", "a", cls=ev.AnomalyResolved, revision=2, t=1), t=2)
    state = sim.only()
    cleared = state.incident.cleared_through
    assert set(cleared) == {"an-api-a-1"}
    split = sim.decide(decision(ev.SplitRequested, state.incident.incident_id, t=3, anomaly_ids=("an-api-a-1",)), t=3)
    opened = next(e for e in split.events if isinstance(e, ev.IncidentOpened))
    assert opened.data.incident.cleared_through == cleared
    assert sim.anomaly(anomaly("api", "a"), t=4).outcome == "stale revision"


def test_recurrence_after_resolution_opens_a_new_linked_incident() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", episode="1"), t=0)
    first = sim.only().incident.incident_id
    sim.command(command(ev.ResolveRequested, first, t=5), t=5)
    late = anomaly("api", episode="1", revision=2, cls=ev.AnomalyUpdated)
    assert sim.anomaly(late, t=6).events == []
    sim.anomaly(anomaly("api", episode="2", t=7), t=7)
    opened = sim.of_type(ev.IncidentOpened)
    assert len(opened) == 2
    assert opened[1].data.incident.previous_incident_id == first
    assert sim.book.incidents[first].incident.status is m.IncidentStatus.RESOLVED


def test_commands_acknowledge_note_resolve() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    iid = sim.only().incident.incident_id
    assert sim.command(command(ev.AcknowledgeRequested, iid, t=1), t=1).events
    assert sim.command(command(ev.AcknowledgeRequested, iid, t=2), t=2).events == []
    sim.command(command(ev.NoteRequested, iid, t=3, text="looking"), t=3)
    assert sim.only().notes == ("looking",)
    sim.command(command(ev.ResolveRequested, iid, t=4), t=4)
    assert sim.only().incident.status is m.IncidentStatus.RESOLVED
    assert sim.only().acknowledged_by == "alice"


def test_incident_carries_evidence_since_and_labels() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", labels={"team": "payments"}), t=0)
    inc = sim.only().incident
    assert inc.labels["service"] == "api" and inc.labels["host"] == "h1"
    assert "observed 900ms" in inc.evidence[0] and "since" in inc.evidence[0]


def test_an_opened_or_updated_fold_keeps_every_other_part_of_the_incident_s_state() -> None:
    """``apply_incident`` builds the state of a snapshot-only event positionally: the same as ``replace``."""
    sim = Sim()
    opened = sim.anomaly(anomaly("api"), t=0).events[0]
    updated = sim.anomaly(anomaly("api", episode="2"), t=1).events[0]
    assert isinstance(opened, ev.IncidentOpened) and isinstance(updated, ev.IncidentUpdated)
    every = IncidentState(
        incident=opened.data.incident, fired=frozenset({"f"}), paged=(m.Team.L1,),
        breached=frozenset({m.Severity.MAJOR}), applied=frozenset({opened.id}),
        triggers=(Trigger("t", NoticeKind.PAGE, (m.Team.L1,), updated.time, "r"),),
        decided=frozenset({"c"}), notes=("n",), acknowledged_by="x", resolved_at=updated.time,
    )  # fmt: skip
    folded = apply_incident(every, updated)
    assert updated.causationid is not None
    assert folded == replace(
        every,
        incident=updated.data.incident,
        applied=every.applied | {updated.id},
        decided=every.decided | {updated.causationid},
    )
    assert apply_incident(folded, updated) is folded


def test_a_transition_is_the_event_create_builds() -> None:
    sim = Sim()
    opened = sim.anomaly(anomaly("api"), t=0).events[0]
    incident = opened.data.incident
    cause = anomaly("api", episode="2")
    for causation, team, step in ((cause, None, None), (None, m.Team.L2, 1)):
        built = transition(
            ev.IncidentEscalated, incident, "why", id_parts=("x", 1), now=at(5), causation=causation, team=team,
            step=step,
        )  # fmt: skip
        data = m.IncidentTransition(incident=incident, reason="why", actor="responder", team=team, escalation_step=step)
        created = ev.IncidentEscalated.create(
            data, source=SOURCE, id_parts=(incident.incident_id, "x", 1), time=at(5), subject=incident.incident_id,
            correlationid=incident.incident_id, causation=causation,
        )  # fmt: skip
        assert built == created and built.model_fields_set == created.model_fields_set
        assert ev.encode_event(built) == ev.encode_event(created)
