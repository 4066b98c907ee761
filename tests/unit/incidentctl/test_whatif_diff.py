"""What a replay changed: two runs' incidents summarised and compared."""

from __future__ import annotations

import pytest

from incidentctl.whatif import VirtualClock, check_prefix
from incidentctl.whatif_diff import Outcome, diff, format_diff, summarize
from shared import events as ev
from shared import models as m
from tests.factories import at

Transition = ev.Envelope[m.IncidentTransition]


def _incident(iid: str, *, t: float, severity: m.Severity = m.Severity.MINOR, opened: float = 10.0,
              cls: type[Transition] = ev.IncidentOpened) -> Transition:  # fmt: skip
    incident = m.Incident(
        incident_id=iid, group_key="demo", target="demo", title="demo cpu", severity=severity,
        severity_reason="rule", status=m.IncidentStatus.TRIGGERED, opened_at=at(opened),
    )  # fmt: skip
    data = m.IncidentTransition(incident=incident, reason="test")
    return cls.create(data, source="/tests", id_parts=(iid, cls.event_type, t), time=at(t), subject=iid)


def _page(iid: str, *, t: float, kind: str = "page") -> ev.NotificationDispatched:
    data = m.NotificationRecord(
        notification_id=f"n-{iid}-{t}", incident_id=iid, channel="log", team=m.Team.L1, kind=kind
    )
    return ev.NotificationDispatched.create(data, source="/tests", id_parts=(iid, t, kind), time=at(t), subject=iid)


def _rca(iid: str, *, t: float, entity: str, signal: str) -> ev.RootCauseIdentified:
    data = m.RootCauseAnalysis(
        incident_id=iid, target="demo", window_start=at(0), window_end=at(t),
        ranking=(m.CauseCandidate(entity=entity, signal=signal, score=0.9, evidence="x"),),
    )  # fmt: skip
    return ev.RootCauseIdentified.create(data, source="/tests", id_parts=(iid, t), time=at(t), subject=iid)


def test_summary_takes_peak_severity_first_page_and_latest_root_cause() -> None:
    events = [
        _incident("inc-1", t=10),
        _page("inc-1", t=14, kind="resolve"),  # not a page
        _page("inc-1", t=13),
        _page("inc-1", t=12),
        _incident("inc-1", t=20, severity=m.Severity.MAJOR, cls=ev.IncidentUpdated),
        _incident("inc-1", t=30, severity=m.Severity.MINOR, cls=ev.IncidentUpdated),
        _rca("inc-1", t=40, entity="demo", signal="http.up"),
        _rca("inc-1", t=50, entity="demo", signal="process.cpu_percent"),
    ]
    (outcome,) = summarize(events)
    assert outcome.severity is m.Severity.MAJOR
    assert outcome.first_page_at == at(12)
    assert outcome.root_cause == "demo process.cpu_percent"


def test_summary_keeps_only_incidents_opened_in_the_window() -> None:
    events = [_incident(iid, t=t, opened=t) for iid, t in (("inc-early", 5), ("inc-in", 50), ("inc-late", 100))]
    assert [o.incident_id for o in summarize(events, opened_from=at(10), opened_to=at(100))] == ["inc-in"]


def _outcome(iid: str, t: float, severity: m.Severity = m.Severity.MINOR, page: float | None = None,
             cause: str | None = "demo process.cpu_percent", target: str = "demo") -> Outcome:  # fmt: skip
    return Outcome(iid, target, at(t), severity, "t", at(page) if page is not None else None, cause)


def test_an_incident_not_opened_in_the_replay_changes_every_aspect() -> None:
    rows = diff([_outcome("inc-1", 10, page=11)], [])
    assert [(r.aspect, r.original, r.replay, r.changed) for r in rows] == [
        ("incident opened", "yes 12:00:10", "no", True),
        ("severity", "minor", "-", True),
        ("first page after opening", "1s", "-", True),
        ("top root cause", "demo process.cpu_percent", "-", True),
    ]


def test_the_same_incident_later_and_more_severe_differs_only_there() -> None:
    rows = diff([_outcome("inc-1", 10, page=11)], [_outcome("inc-9", 10, m.Severity.MAJOR, page=15)])
    changed = {r.aspect: (r.original, r.replay) for r in rows if r.changed}
    assert changed == {"severity": ("minor", "major"), "first page after opening": ("1s", "5s")}


def test_incidents_pair_per_target_in_order_of_opening() -> None:
    original = [_outcome("a1", 10, target="a"), _outcome("b1", 20, target="b")]
    replay = [_outcome("b1", 20, target="b"), _outcome("c1", 30, target="c")]
    opened = {(r.target, r.original, r.replay) for r in diff(original, replay) if r.aspect == "incident opened"}
    assert opened == {("a", "yes 12:00:10", "no"), ("b", "yes 12:00:20", "yes 12:00:20"), ("c", "no", "yes 12:00:30")}


def test_the_table_marks_changed_rows_and_counts_them() -> None:
    text = format_diff(diff([_outcome("inc-1", 10, page=11)], [_outcome("inc-2", 10, page=11, cause=None)]))
    lines = text.splitlines()
    assert lines[0].split() == ["TARGET", "ASPECT", "ORIGINAL", "REPLAY"]
    assert [line[0] for line in lines[1:5]] == [" ", " ", " ", "*"]
    assert "(no analysis)" in lines[4]
    assert lines[-1] == "1 of 4 aspects changed (* marks them)"
    assert format_diff([]) == "no incident in either run: nothing changed"


def test_the_virtual_clock_stands_until_started_then_runs_faster() -> None:
    clock = VirtualClock(at(0), speed=1000.0)
    assert clock() == at(0)
    assert clock.wall_seconds_until(at(10)) == pytest.approx(0.01)
    clock.start()
    assert clock() >= at(0)
    assert clock.wall_seconds_until(at(-5)) == 0.0


@pytest.mark.parametrize(("into", "source"), [("p.", "p."), ("a b", ""), ("../x", ""), ("", "")])
def test_a_replay_prefix_must_be_new_and_plain(into: str, source: str) -> None:
    with pytest.raises(ValueError, match="--into"):
        check_prefix(into, source)


def test_times_a_second_apart_are_the_same_decision_but_not_five_seconds() -> None:
    close = diff([_outcome("inc-1", 10, page=10)], [_outcome("inc-2", 11, page=13)])
    assert not any(r.changed for r in close)  # opened 1 s later, paged 2 s after opening instead of 0 s
    apart = diff([_outcome("inc-1", 10, page=10)], [_outcome("inc-2", 16, page=30)])
    assert {r.aspect for r in apart if r.changed} == {"incident opened", "first page after opening"}
    unpaged = diff([_outcome("inc-1", 10, page=10)], [_outcome("inc-2", 10)])
    assert [(r.original, r.replay) for r in unpaged if r.changed] == [("0s", "no page")]


def test_a_dropped_incident_is_the_one_furthest_in_time_not_the_first() -> None:
    original = [_outcome("a1", 10), _outcome("a2", 100)]
    rows = diff(original, [_outcome("r1", 110)])
    opened = [(r.original, r.replay) for r in rows if r.aspect == "incident opened"]
    assert opened == [("yes 12:00:10", "no"), ("yes 12:01:40", "yes 12:01:50")]
