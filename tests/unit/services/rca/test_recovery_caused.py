"""Issue 15: what an earlier recovery's restart did, and an earlier finished fault, are no root cause."""

from __future__ import annotations

from services.rca.analyze import DEMOTED, analyse
from services.rca.store import WindowStore
from shared import events as ev
from shared import models as m
from tests.unit.services.rca.scenario import FAULT_AT, anomaly_event, at, incident, metric_events


def step(cls: type[ev.RecoveryStepStarted] | type[ev.RecoveryStepCompleted], t: float) -> ev.Event:
    data = m.RecoveryProgress(
        plan_id="plan-earlier", incident_id="inc-0", target="demo",
        step=m.RecoveryStep(index=0, action="restart_process", target="demo"),
    )  # fmt: skip
    return cls.create(data, source="/t", id_parts=(cls.event_type,), time=at(t))


def slow_case(*, with_history: bool) -> tuple[WindowStore, list[m.Incident]]:
    """An error burst (incident inc-0) cured by a restart 60 s before a slowdown opens inc-1."""
    store = WindowStore()
    for e in metric_events("crash", until=FAULT_AT + 30)[-30:]:  # short history: the detector's hints decide
        store.add(e)
    burst = anomaly_event("log:t7", t=FAULT_AT - 90, kind=m.AnomalyKind.LOG_PATTERN)
    store.add_anomaly(burst.data.model_copy(update={"labels": {"template": "ERROR burst <*>"}, "score": 1.0}))
    store.add_anomaly(anomaly_event("http.up", t=FAULT_AT - 58).data.model_copy(update={"score": 1.0}))
    store.add(anomaly_event("http.latency_p95_ms", t=FAULT_AT + 4))
    earlier = m.Incident(
        incident_id="inc-0", group_key="demo", target="demo", title="errors", severity=m.Severity.MAJOR,
        severity_reason="r", status=m.IncidentStatus.TRIGGERED, opened_at=at(FAULT_AT - 90),
        anomaly_ids=("an-demo-log:t7", "an-demo-http.up"), cleared_at=at(FAULT_AT - 30),
    )  # fmt: skip
    if with_history:
        store.add(step(ev.RecoveryStepStarted, FAULT_AT - 60))
        store.add(step(ev.RecoveryStepCompleted, FAULT_AT - 55))
    return store, [earlier] if with_history else []


def rank(store: WindowStore, others: list[m.Incident]) -> list[m.CauseCandidate]:
    inc = incident(("an-demo-http.latency_p95_ms",))
    since = [at(FAULT_AT + 4).timestamp()]
    end = at(FAULT_AT + 30).timestamp()
    result = analyse(store, inc, end=end, lookback_s=600.0, top=5, anomaly_since=since, others=others)
    return list(result.ranking)


def test_without_the_recovery_and_incident_history_the_restart_and_the_old_burst_lead() -> None:
    ranking = rank(*slow_case(with_history=False))
    assert ranking[0].signal in {"http.up", "log:ERROR burst <*>"}


def test_the_restart_s_blink_and_the_finished_burst_are_never_the_top_cause() -> None:
    ranking = rank(*slow_case(with_history=True))
    assert ranking, "something is ranked"
    assert (ranking[0].entity, ranking[0].signal) == ("demo", "http.latency_p95_ms")
    assert "ERROR burst" not in " ".join(c.evidence for c in ranking if DEMOTED not in c.evidence)
    for c in ranking:
        if c.signal == "http.up":
            assert DEMOTED in c.evidence


def test_a_target_whose_restart_blink_is_dropped_keeps_its_place_named_by_its_live_evidence() -> None:
    from services.rca.analyze import demote, strongest_hints

    store = WindowStore()
    store.add_anomaly(anomaly_event("http.up", t=FAULT_AT + 1).data)  # the restart's blink: dropped
    store.add_anomaly(anomaly_event("db.rows", t=FAULT_AT).data)  # the table dropped: live
    blink, rows = store.anomalies["an-demo-http.up"], store.anomalies["an-demo-db.rows"]
    ranking = [
        m.CauseCandidate(entity="demo", signal="http.up", score=9.0, evidence="http.up fell"),
        m.CauseCandidate(entity="vm", signal="host.load1", score=1.0, evidence="load fell"),
        m.CauseCandidate(entity="other", signal="http.up", score=0.5, evidence="blink"),
    ]
    other_blink = store.anomalies["an-demo-http.up"].anomaly.model_copy(update={"target": "other"})
    store.add_anomaly(other_blink.model_copy(update={"anomaly_id": "an-other-http.up"}))
    dropped = [blink, store.anomalies["an-other-http.up"]]
    result = demote(ranking, dropped=dropped, kept=[rows], hints=strongest_hints([rows]))
    assert [(c.entity, c.signal) for c in result] == [("demo", "db.rows"), ("vm", "host.load1"), ("other", "http.up")]
    assert "db.rows anomalous" in result[0].evidence and DEMOTED in result[0].evidence
    assert DEMOTED in result[2].evidence  # no live evidence of its own: to the end
