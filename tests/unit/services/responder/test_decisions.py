"""Human decisions (`domain.decisions`): declare, escalate, reassign, severity, merge, split; per-level acks.

Each decision is checked for its effect, for who and why on the event, and for idempotence: the
same command decided twice has one effect.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.responder.domain import decisions
from services.responder.domain.policy import GroupingPolicy
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at, command, decision, policy


def pages(events: list[Any]) -> list[str]:
    return [e.data.team.value for e in events if isinstance(e, ev.IncidentEscalated)]


def ack(incident_id: str, *, t: float, level: m.Team | None = None, actor: str = "alice") -> ev.AcknowledgeRequested:
    data = m.OperatorCommand(command_id=f"ack-{t}", incident_id=incident_id, actor=actor, level=level)
    return ev.AcknowledgeRequested.create(data, source="/tests", id_parts=(data.command_id,), time=at(t))


def opened(sim: Sim, target: str = "api", *, t: float = 0, **kw: Any) -> str:
    sim.anomaly(anomaly(target, t=t, **kw), t=t)
    return sim.book.incident_of_anomaly[f"an-{target}-{kw.get('signal', 'latency')}-1"]


def test_declare_opens_a_triggered_incident_that_pages_by_its_severity() -> None:
    sim = Sim()
    declare = decision(
        ev.DeclareRequested, t=0, actor="carol", text="customer data on a public bucket",
        severity=m.Severity.CRITICAL, impact=m.Impact.DATA_LOSS, title="data leak", target="billing",
    )  # fmt: skip
    first = sim.decide(declare, t=0)
    again = sim.decide(declare, t=1)
    assert first.outcome == "declared" and again.outcome == "already declared" and again.events == []
    state = sim.only()
    inc = state.incident
    assert inc.incident_id == declare.data.incident_id
    assert (inc.title, inc.severity, inc.status, inc.impacts) == (
        "data leak", m.Severity.CRITICAL, m.IncidentStatus.TRIGGERED, (m.Impact.DATA_LOSS,)
    )  # fmt: skip
    assert inc.declared_by == "carol" and inc.target == "billing"
    assert inc.labels == {"service": "billing", "recovery": "manual"}  # no automatic recovery
    (event,) = first.events
    assert event.data.actor == "carol" and "declared by carol" in event.data.reason
    assert "public bucket" in event.data.reason
    assert sorted(pages(sim.tick(0))) == ["L1", "L2"]  # the Critical policy: L1 and L2 at once


def test_declared_incident_ids_derive_from_the_command() -> None:
    assert decisions.declared_incident_id("c1") == decisions.declared_incident_id("c1")
    assert decisions.declared_incident_id("c1") != decisions.declared_incident_id("c2")


def test_l1_escalates_after_acknowledging_and_l2_is_paged_with_its_own_clock() -> None:
    sim = Sim()
    incident_id = opened(sim)
    assert pages(sim.tick(0)) == ["L1"]
    sim.command(ack(incident_id, t=2), t=2)
    inc = sim.only().incident
    assert inc.status is m.IncidentStatus.ACKNOWLEDGED and inc.acknowledged_levels == (m.Team.L1,)
    assert sim.tick(30) == []  # acknowledged: no L2 step
    up = decision(ev.EscalateRequested, incident_id, t=40, actor="ann", text="needs a database person")
    done = sim.decide(up, t=40)
    assert pages(done.events) == ["L2"]
    assert all(e.data.actor == "ann" and "needs a database person" in e.data.reason for e in done.events)
    assert sim.only().incident.status is m.IncidentStatus.TRIGGERED  # L2 has not acknowledged
    assert sim.decide(up, t=41).outcome == "duplicate command"  # the same command again: one effect
    assert pages(sim.of_type(ev.IncidentEscalated)) == ["L1", "L2"]
    # L2's step is at 10 s of the Major policy, L3's at 20 s: L3 is due 10 s after the hand escalation
    assert pages(sim.tick(49.9)) == []
    assert pages(sim.tick(50)) == ["L3"]
    reminders = sim.tick(40 + 60)
    assert pages(reminders) == ["L2"]  # L1 acknowledged: only L2 is reminded (L3's page is not 60 s old)


def test_a_lower_level_ack_does_not_silence_the_higher_levels_clock() -> None:
    sim = Sim()
    incident_id = opened(sim)
    sim.tick(0)
    assert pages(sim.tick(10)) == ["L2"]
    result = sim.command(ack(incident_id, t=11, level=m.Team.L1), t=11)
    (event,) = result.events
    assert isinstance(event, ev.IncidentUpdated) and "L2 has not" in event.data.reason
    assert sim.only().incident.status is m.IncidentStatus.TRIGGERED
    assert pages(sim.tick(20)) == ["L3"]
    assert sim.command(ack(incident_id, t=21, level=m.Team.L1), t=21).events == []  # L1 again: nothing new
    sim.command(ack(incident_id, t=22), t=22)  # by default the highest level paged (L3) acknowledges
    assert sim.only().incident.status is m.IncidentStatus.ACKNOWLEDGED


def test_escalating_above_l3_is_a_note() -> None:
    sim = Sim()
    incident_id = opened(sim)
    sim.tick(0)
    sim.tick(20)
    result = sim.decide(decision(ev.EscalateRequested, incident_id, t=21), t=21)
    assert [type(e) for e in result.events] == [ev.IncidentNoteAdded]
    assert "already at L3" in result.events[0].data.reason


def test_reassign_to_a_team_pages_it_and_to_a_person_records_the_assignee() -> None:
    sim = Sim()
    incident_id = opened(sim)
    to_l3 = decision(ev.ReassignRequested, incident_id, t=1, text="kernel bug", team=m.Team.L3, person="dave")
    result = sim.decide(to_l3, t=1)
    assert pages(result.events) == ["L3"]
    inc = sim.only().incident
    assert (inc.assigned_team, inc.assignee) == (m.Team.L3, "dave")
    assert "reassigned by alice to L3 / dave: kernel bug" in result.events[0].data.reason
    assert sim.decide(to_l3, t=2).events == []
    person_only = sim.decide(decision(ev.ReassignRequested, incident_id, t=3, person="erin"), t=3)
    assert pages(person_only.events) == [] and sim.only().incident.assignee == "erin"


def test_a_severity_override_sticks_against_regrading_until_cleared() -> None:
    sim = Sim()
    incident_id = opened(sim, signal="latency", impact=m.Impact.SEVERE_DEGRADATION)
    assert sim.only().incident.severity is m.Severity.MAJOR
    lower = decision(
        ev.SeverityRequested, incident_id, t=1, text="internal tool, nobody uses it at night", severity=m.Severity.MINOR
    )
    result = sim.decide(lower, t=1)
    inc = sim.only().incident
    assert (inc.severity, inc.severity_override) == (m.Severity.MINOR, m.Severity.MINOR)
    assert "nobody uses it at night" in inc.severity_reason and result.events[0].data.actor == "alice"
    assert sim.decide(lower, t=2).outcome == "duplicate command"
    sim.anomaly(anomaly("api", "errors", t=3, impact=m.Impact.SERVICE_DOWN), t=3)  # would make it Critical
    assert sim.only().incident.severity is m.Severity.MINOR
    clear = sim.decide(decision(ev.SeverityRequested, incident_id, t=4, text="back to the rules"), t=4)
    assert "override cleared" in clear.events[0].data.reason and sim.only().incident.severity_override is None
    sim.anomaly(anomaly("api", "errors", t=5, revision=2, impact=m.Impact.SERVICE_DOWN, episode="2"), t=5)
    assert sim.only().incident.severity is m.Severity.CRITICAL


def test_merge_resolves_the_absorbed_incident_and_moves_its_anomalies() -> None:
    sim = Sim()
    api = opened(sim, "api")
    web = opened(sim, "web", t=1)
    cmd = decision(ev.MergeRequested, web, t=2, text="same outage", other_incident_id=api)
    result = sim.decide(cmd, t=2)
    assert result.outcome == "merged"
    absorbed, kept = sim.book.incidents[web].incident, sim.book.incidents[api].incident
    assert absorbed.status is m.IncidentStatus.RESOLVED and absorbed.merged_into == api
    assert absorbed.anomaly_ids == () and set(kept.anomaly_ids) == {"an-api-latency-1", "an-web-latency-1"}
    assert "merged into " + api in result.events[0].data.reason
    assert sim.book.incident_of_anomaly["an-web-latency-1"] == api
    assert sim.decide(cmd, t=3).outcome == "duplicate command"
    assert kept.active_fingerprints == ("api/latency", "web/latency")
    sim.anomaly(anomaly("web", t=4, cls=ev.AnomalyResolved), t=4)  # the moved anomaly now clears in api
    assert sim.book.incidents[api].incident.active_fingerprints == ("api/latency",)


def test_split_moves_named_anomalies_to_a_new_incident() -> None:
    grouping = GroupingPolicy(group_wait_s=0, group_interval_s=5, repeat_interval_s=60, split_by_problem=False)
    sim = Sim(policy(grouping=grouping))
    incident_id = opened(sim, "api", signal="latency")
    sim.anomaly(anomaly("api", "errors", t=1), t=1)
    assert sim.only().incident.anomaly_ids == ("an-api-latency-1", "an-api-errors-1")
    cmd = decision(ev.SplitRequested, incident_id, t=2, text="two faults", anomaly_ids=("an-api-errors-1",))
    result = sim.decide(cmd, t=2)
    assert result.outcome == "split"
    new_id = decisions.split_incident_id(incident_id, cmd.data.command_id)
    source, new = sim.book.incidents[incident_id].incident, sim.book.incidents[new_id].incident
    assert source.anomaly_ids == ("an-api-latency-1",) and source.active_fingerprints == ("api/latency",)
    assert new.anomaly_ids == ("an-api-errors-1",) and new.active_fingerprints == ("api/errors",)
    assert new.status is m.IncidentStatus.TRIGGERED and new.severity is source.severity
    assert sim.book.incident_of_anomaly["an-api-errors-1"] == new_id
    assert sim.decide(cmd, t=3).outcome == "duplicate command" and len(sim.book.incidents) == 2
    everything = decision(ev.SplitRequested, incident_id, t=4, anomaly_ids=("an-api-latency-1",))
    assert sim.decide(everything, t=4).events == []  # a split must leave the incident an anomaly


def test_decisions_on_unknown_incidents_are_refused() -> None:
    sim = Sim()
    with pytest.raises(LookupError):
        sim.decide(decision(ev.EscalateRequested, "inc-nope", t=0), t=0)
    incident_id = opened(sim)
    with pytest.raises(LookupError):
        sim.decide(decision(ev.MergeRequested, incident_id, t=1, other_incident_id="inc-nope"), t=1)


def test_plain_ack_still_acknowledges_the_current_level() -> None:
    sim = Sim()
    incident_id = opened(sim)
    sim.tick(0)
    sim.command(command(ev.AcknowledgeRequested, incident_id, t=1), t=1)
    assert sim.only().incident.status is m.IncidentStatus.ACKNOWLEDGED
