from __future__ import annotations

from services.responder.domain.escalation import due_steps, next_team
from services.responder.domain.policy import MANUAL_ESCALATION
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at, command, policy


def teams(events: list[ev.Envelope[object]]) -> list[str]:
    return [e.data.team.value for e in events if isinstance(e, ev.IncidentEscalated)]


def test_unacknowledged_major_escalates_l1_l2_l3_on_schedule() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", impact=m.Impact.SEVERE_DEGRADATION), t=0)
    assert teams(sim.tick(0)) == ["L1"]
    assert sim.tick(9.9) == []
    step2 = sim.tick(10)
    assert teams(step2) == ["L2"]
    assert any(isinstance(e, ev.ResponseTargetBreached) for e in step2)
    assert sim.tick(19) == []
    assert teams(sim.tick(20)) == ["L3"]
    later = sim.tick(500)
    assert later and all(e.data.reason.startswith("reminder") for e in later)  # only repeat_interval reminders
    assert len(sim.of_type(ev.ResponseTargetBreached)) == 1


def test_critical_pages_l1_and_l2_at_once_then_l3() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", impact=m.Impact.SERVICE_DOWN), t=0)
    assert sorted(teams(sim.tick(0))) == ["L1", "L2"]
    assert teams(sim.tick(15)) == ["L3"]


def test_acknowledge_stops_escalation_and_breach() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    sim.tick(0)
    sim.command(command(ev.AcknowledgeRequested, sim.only().incident.incident_id, t=5), t=5)
    assert sim.tick(100) == []
    assert not sim.of_type(ev.ResponseTargetBreached)


def test_group_wait_holds_the_first_page() -> None:
    sim = Sim(policy(grouping=policy().grouping.model_copy(update={"group_wait_s": 3})))
    sim.anomaly(anomaly("api"), t=0)
    assert sim.tick(2.9) == []
    assert teams(sim.tick(3)) == ["L1"]


def test_overdue_steps_after_an_outage_all_fire_once() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    assert sorted(teams(sim.tick(60))) == ["L1", "L2", "L3"]
    assert sim.tick(61) == []


def test_severity_raise_restarts_the_clock_under_the_new_policy() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "cpu", impact=m.Impact.RESOURCE_PRESSURE), t=0)
    assert teams(sim.tick(0)) == ["L1"]
    sim.anomaly(anomaly("api", "up", impact=m.Impact.SERVICE_DOWN), t=30)
    assert sorted(teams(sim.tick(30))) == ["L1", "L2"]
    assert sim.tick(44) == [] or not teams(sim.tick(44))
    assert teams(sim.tick(45)) == ["L3"]


def test_recovery_failed_escalates_to_next_tier_and_verified_is_noted() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    sim.tick(0)
    iid = sim.only().incident.incident_id

    def progress(cls: type[ev.Envelope[m.RecoveryProgress]], n: int) -> ev.Envelope[m.RecoveryProgress]:
        data = m.RecoveryProgress(plan_id="p", incident_id=iid, target="api", ok=False, detail="restart failed")
        return cls.create(data, source="/t", id_parts=(n,), time=at(n), subject=iid)

    assert teams(sim.recovery(progress(ev.RecoveryFailed, 1), t=1).events) == ["L2"]
    assert teams(sim.recovery(progress(ev.RecoveryFailed, 2), t=2).events) == ["L3"]
    third = sim.recovery(progress(ev.RecoveryFailed, 3), t=3)
    assert isinstance(third.events[0], ev.IncidentNoteAdded)
    verified = sim.recovery(progress(ev.RecoveryVerified, 4), t=4)
    assert "recovery verified" in verified.events[0].data.reason
    assert teams(sim.tick(30)) == []  # L2 and L3 were already paged by the failed recoveries


def test_fold_is_idempotent_so_replaying_the_log_rebuilds_the_same_state() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    sim.tick(0)
    sim.tick(10)
    rebuilt = Sim()
    for event in sim.log + sim.log:
        from services.responder.domain.state import fold_incident_event

        fold_incident_event(rebuilt.book, event)
    assert rebuilt.only().fired == sim.only().fired
    assert rebuilt.only().paged == (m.Team.L1, m.Team.L2)
    assert rebuilt.tick(10) == []
    assert teams(rebuilt.tick(20)) == ["L3"]


def test_manual_defaults_and_next_team() -> None:
    assert MANUAL_ESCALATION[m.Severity.MAJOR].response_target_s == 7200
    assert MANUAL_ESCALATION[m.Severity.MINOR].response_target_s == 4 * 3600
    assert MANUAL_ESCALATION[m.Severity.CRITICAL].steps[0].teams == (m.Team.L1, m.Team.L2)
    assert MANUAL_ESCALATION[m.Severity.CRITICAL].steps[1].after_s == 900
    assert next_team(()) is m.Team.L1
    assert next_team((m.Team.L1, m.Team.L2)) is m.Team.L3
    assert next_team((m.Team.L3,)) is None


def test_due_steps_is_pure_in_time() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    inc = sim.only().incident
    assert [s.team for s in due_steps(inc, frozenset(), policy().escalation, now=at(10))] == [m.Team.L1, m.Team.L2]
    assert due_steps(inc, frozenset({"major:0:L1"}), policy().escalation, now=at(5)) == []


def test_repeat_interval_reminds_each_paged_team_while_unacknowledged() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api"), t=0)
    sim.tick(0)
    sim.tick(10)
    sim.tick(20)
    assert teams(sim.tick(59)) == []
    assert teams(sim.tick(60)) == ["L1"]
    assert teams(sim.tick(70)) == ["L2"]
    assert teams(sim.tick(80)) == ["L3"]
    assert teams(sim.tick(119)) == []
    assert teams(sim.tick(120)) == ["L1"]
    sim.command(command(ev.AcknowledgeRequested, sim.only().incident.incident_id, t=121), t=121)
    assert sim.tick(1000) == []
