"""The pipeline's dead man's switch: silent and falling-behind stages from heartbeats alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.collector.domain import stages
from shared import models as m

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = stages.StagePolicy(missed_beats=3, lag_beats=3, min_lag=100)


def beat(service: str, seq: int, *, lag: int = 0, started: datetime = T0, instance: str = "", stopping: bool = False):
    return m.ServiceHeartbeat(
        service=service,
        instance=instance or f"{service}-1",
        pid=1,
        ready=True,
        started_at=started,
        sequence=seq,
        interval_s=2.0,
        consumers=(m.ConsumerStatus(topic="t", group="g", joined=True, lag=lag),),
        stopping=stopping,
    )


def fold(seen, b: m.ServiceHeartbeat, at: datetime):
    return stages.record(seen, b, beat_id=f"{b.instance}-{b.sequence}", beat_time=at, now=at, policy=POLICY)


def test_a_stage_that_keeps_beating_is_fine_and_one_that_stops_is_silent() -> None:
    seen: dict = {}
    for i in range(5):
        seen = fold(seen, beat("detector", i + 1), T0 + timedelta(seconds=2 * i))
    last = T0 + timedelta(seconds=8)
    assert stages.assess(seen, last + timedelta(seconds=5), POLICY) == []
    problems = stages.assess(seen, last + timedelta(seconds=7), POLICY)
    assert [(p.service, p.problem) for p in problems] == [("detector", stages.Problem.SILENT)]
    assert "no heartbeat from detector-1 for 7s" in problems[0].detail
    assert problems[0].since == last


def test_a_planned_stop_is_not_an_outage_and_a_replacement_covers_the_old_instance() -> None:
    seen = fold({}, beat("rca", 1), T0)
    seen = fold(seen, beat("rca", 2, stopping=True), T0 + timedelta(seconds=2))
    assert stages.assess(seen, T0 + timedelta(minutes=5), POLICY) == []
    seen = fold({}, beat("rca", 1, instance="pod-a"), T0)
    later = T0 + timedelta(seconds=30)
    seen = fold(seen, beat("rca", 1, instance="pod-b", started=later), later)
    assert stages.assess(seen, later + timedelta(seconds=1), POLICY) == []


def test_lag_that_keeps_rising_is_falling_behind_and_a_drop_ends_it() -> None:
    seen: dict = {}
    for i, lag in enumerate((50, 400, 900)):
        seen = fold(seen, beat("detector", i + 1, lag=lag), T0 + timedelta(seconds=2 * i))
    now = T0 + timedelta(seconds=5)
    problems = stages.assess(seen, now, POLICY)
    assert [p.problem for p in problems] == [stages.Problem.FALLING_BEHIND]
    assert "lag 900 and growing" in problems[0].detail
    started, ended = stages.changes({}, problems)
    assert started == problems and ended == []
    seen = fold(seen, beat("detector", 4, lag=10), T0 + timedelta(seconds=6))
    current = stages.assess(seen, T0 + timedelta(seconds=7), POLICY)
    assert current == []
    started, ended = stages.changes({p.fingerprint: p for p in problems}, current)
    assert started == [] and ended == problems


def test_a_high_but_steady_lag_is_not_falling_behind() -> None:
    seen: dict = {}
    for i in range(4):
        seen = fold(seen, beat("detector", i + 1, lag=5000), T0 + timedelta(seconds=2 * i))
    assert stages.assess(seen, T0 + timedelta(seconds=7), POLICY) == []


def test_episode_ids_come_from_the_heartbeats_so_two_watchers_agree() -> None:
    seen_a = fold({}, beat("responder", 1), T0)
    seen_b = fold({}, beat("responder", 1), T0)
    a = stages.assess(seen_a, T0 + timedelta(seconds=10), POLICY)
    b = stages.assess(seen_b, T0 + timedelta(seconds=11), POLICY)
    assert [p.episode_id for p in a] == [p.episode_id for p in b]
    anomaly = stages.to_anomaly(a[0], host="h", now=T0 + timedelta(seconds=10))
    assert anomaly.target == "pipeline:responder" and anomaly.impact is m.Impact.MAJOR_FUNCTION
    assert stages.to_anomaly(a[0], host="h", now=T0, resolved=True).revision == 2


def test_redelivered_and_stale_heartbeats_change_nothing() -> None:
    seen = fold({}, beat("detector", 5), T0)
    assert fold(seen, beat("detector", 4), T0 + timedelta(seconds=1)) is seen
    old = stages.record({}, beat("detector", 1), beat_id="x", beat_time=T0, now=T0 + timedelta(hours=2), policy=POLICY)
    assert old == {}
