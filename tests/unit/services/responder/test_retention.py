"""Forgetting resolved incidents after the retention: the live book becomes what a rebuild would hold."""

from __future__ import annotations

from datetime import timedelta

from services.responder.domain.retention import SWEEP_EVERY_SHARE, Sweeps, forget_resolved
from services.responder.domain.stakeholders import UpdateLog
from services.responder.domain.state import NotificationStatus, fold_notification_event
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at

DAY = timedelta(days=1)


def _resolved_incident(sim: Sim, target: str, *, t: float) -> str:
    """Open an incident on ``target`` at ``t``, clear it, let it auto-resolve (30 s quiet); return its id."""
    sim.anomaly(anomaly(target, "latency", t=t), t=t)
    sim.anomaly(anomaly(target, "latency", t=t + 1, cls=ev.AnomalyResolved, revision=2), t=t + 1)
    sim.tick(t + 31)
    (state,) = [s for s in sim.book.incidents.values() if s.incident.target == target]
    assert state.incident.status is m.IncidentStatus.RESOLVED
    return state.incident.incident_id


def _delivered(sim: Sim, incident_id: str, nid: str, *, t: float) -> None:
    data = m.NotificationRecord(
        notification_id=nid, incident_id=incident_id, team=m.Team.L1, channel="chat", kind="page", detail="ref=msg-1"
    )
    for cls in (ev.NotificationDispatched, ev.NotificationDelivered):
        event = cls.create(data, source="/tests", id_parts=(nid, cls.event_type), time=at(t), subject=incident_id)
        fold_notification_event(sim.book, event)


def test_an_incident_resolved_longer_ago_than_the_retention_goes_with_everything_that_indexes_it() -> None:
    sim = Sim()
    old = _resolved_incident(sim, "api", t=0)
    _delivered(sim, old, "n-old", t=2)
    recent = _resolved_incident(sim, "db", t=6 * 86400)
    _delivered(sim, recent, "n-recent", t=6 * 86400 + 2)
    sim.anomaly(anomaly("web", "latency", t=6 * 86400), t=6 * 86400)  # open: never forgotten
    book = sim.book

    gone = forget_resolved(book, now=at(7 * 86400 + 60), retention=7 * DAY)

    assert gone == {old}
    assert set(book.incidents) == {recent, book.open_by_group[next(iter(book.open_by_group))]}
    assert old not in book.incident_of_anomaly.values() and old not in book.latest_by_group.values()
    assert recent in book.incident_of_anomaly.values() and recent in book.latest_by_group.values()
    assert set(book.notifications) == set(book.notification_records) == {"n-recent"}
    assert book.notifications["n-recent"] is NotificationStatus.DELIVERED
    assert [key[0] for key in book.message_refs] == [recent]


def test_nothing_goes_within_the_retention_or_with_a_retention_of_zero() -> None:
    sim = Sim()
    kept = _resolved_incident(sim, "api", t=0)
    assert forget_resolved(sim.book, now=at(7 * 86400), retention=7 * DAY) == set()
    assert not Sweeps(timedelta(0)).due(at(10**8))
    assert set(sim.book.incidents) == {kept}


def test_a_late_revision_of_a_forgotten_incidents_anomaly_opens_a_new_incident_as_after_a_restart() -> None:
    sim = Sim()
    old = _resolved_incident(sim, "api", t=0)
    forget_resolved(sim.book, now=at(8 * 86400), retention=7 * DAY)
    late = anomaly("api", "latency", t=8 * 86400, revision=3, cls=ev.AnomalyUpdated)

    decision = sim.anomaly(late, t=8 * 86400)

    assert decision.outcome.startswith("opened")
    (state,) = sim.book.incidents.values()
    assert state.incident.incident_id != old and state.incident.status is not m.IncidentStatus.RESOLVED


def test_the_book_is_looked_over_once_the_clock_moved_on_by_a_share_of_the_retention() -> None:
    sweeps = Sweeps(7 * DAY)
    assert sweeps.due(at(0))
    step = 7 * DAY * SWEEP_EVERY_SHARE
    assert not sweeps.due(at(0) + step - timedelta(seconds=1))
    assert sweeps.due(at(0) + step)
    assert not sweeps.due(at(0) + step + timedelta(seconds=1))


def test_status_updates_of_forgotten_incidents_are_dropped_and_a_replay_of_them_is_seen_once_more() -> None:
    sim = Sim()
    old = _resolved_incident(sim, "api", t=0)
    updates = UpdateLog()
    for event in sim.log:
        updates.observe(event)
    assert old in updates.by_incident

    updates.forget({old})

    assert updates.by_incident == {} and updates.seen == set()


def test_the_clock_loop_walks_only_the_incidents_not_resolved_in_the_order_they_were_folded() -> None:
    sim = Sim()
    resolved = _resolved_incident(sim, "api", t=0)
    sim.anomaly(anomaly("db", "latency", t=100), t=100)
    sim.anomaly(anomaly("web", "latency", t=101), t=101)
    unresolved = [s.incident.incident_id for s in sim.book.incidents.values() if s.incident.incident_id != resolved]

    assert [s.incident.incident_id for s in sim.book.unresolved_incidents()] == unresolved
    assert all(s.incident.status is not m.IncidentStatus.RESOLVED for s in sim.book.unresolved_incidents())
