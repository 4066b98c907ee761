from __future__ import annotations

from services.rca.analyze import Analysis, analyse, rca_event
from services.rca.gather import Window
from services.rca.settings import RcaSettings
from services.rca.store import WindowStore
from shared import events as ev
from shared import models as m
from shared.models import CauseCandidate
from tests.unit.services.rca.scenario import FAULT_AT, anomaly_event, at, incident, lifecycle, metric_events

ANALYSIS = Analysis(Window(0.0, 10.0, 20.0), (CauseCandidate(entity="demo", signal="x", score=1.0, evidence="e"),))


def test_rca_event_id_depends_on_incident_and_trigger_only() -> None:
    story = lifecycle(("a",))
    resolved = story[-1]
    inc = resolved.data.incident
    first = rca_event(inc, ANALYSIS, trigger=resolved, source="/s", report_path=None)
    again = rca_event(inc, ANALYSIS, trigger=resolved, source="/s", report_path=None)
    ask = ev.RcaRequested.create(
        m.OperatorCommand(command_id="c", incident_id=inc.incident_id, actor="a"), source="/c", id_parts=("c",)
    )
    other = rca_event(inc, ANALYSIS, trigger=ask, source="/s", report_path=None)
    assert first.id == again.id != other.id
    assert first.correlationid == inc.incident_id and first.causationid == resolved.id


def test_window_end_is_capped_at_the_newest_data() -> None:
    store = WindowStore()
    for e in metric_events("cpu-hog", until=400.0):
        store.add(e)
    store.add(anomaly_event("process.cpu_percent"))
    far_future = at(400).timestamp() + 10 * 86400
    result = analyse(store, incident(("an-demo-process.cpu_percent",)), end=far_future, lookback_s=300.0, top=3,
                     anomaly_since=[])  # fmt: skip
    assert result.window.end <= store.latest and result.ranking[0].entity == "demo"


def test_settings_defaults_follow_the_manual() -> None:
    s = RcaSettings()
    assert s.lookback_s == 600.0 and s.reports_dir == "./reports" and s.reports_index == "incident-reports"
    assert s.response_targets_s["major"] == 7200.0 and s.response_targets_s["minor"] == 14400.0


def test_short_history_falls_back_to_the_detectors_signal() -> None:
    # 20 s of history only: the engine finds no metric deviation, the detector's anomalies decide
    store = WindowStore()
    for e in metric_events("crash", until=330.0)[-30:]:
        store.add(e)
    resolved = anomaly_event("process.up").data.model_copy(update={"score": 0.0, "revision": 2})
    store.add(anomaly_event("http.up"))
    store.add(anomaly_event("process.up"))
    store.add_anomaly(resolved, resolved=True)  # the resolved revision has score 0: the peak counts
    assert store.anomalies["an-demo-process.up"].peak_score == 0.9
    inc = incident(("an-demo-process.up", "an-demo-http.up"))
    result = analyse(store, inc, end=at(330).timestamp(), lookback_s=600.0, top=5, anomaly_since=[])
    top = result.ranking[0]
    assert (top.entity, top.signal) == ("demo", "process.up") and "detector" in top.evidence
    assert all(c.score > 0 for c in result.ranking)


def test_log_pattern_hint_is_named_by_its_template() -> None:
    a = anomaly_event("log:t1", kind=m.AnomalyKind.LOG_PATTERN)
    data = a.data.model_copy(update={"labels": {"template": "ERROR boom <*>"}})
    store = WindowStore()
    store.add_anomaly(data)
    assert store.anomalies[data.anomaly_id].display_signal == "log:ERROR boom <*>"


def test_what_the_recovery_did_is_not_a_cause() -> None:
    store = WindowStore()
    for e in metric_events("cpu-hog", until=400.0):
        store.add(e)
    store.add(anomaly_event("process.cpu_percent", t=FAULT_AT + 4))
    store.add(anomaly_event("http.up", t=FAULT_AT + 12))  # the restart made the endpoint blink
    inc = incident(("an-demo-process.cpu_percent", "an-demo-http.up"))
    restart = at(FAULT_AT + 10).timestamp()
    result = analyse(store, inc, end=at(400).timestamp(), lookback_s=300.0, top=3, anomaly_since=[],
                     recovery_started=restart)  # fmt: skip
    assert result.window.end == restart
    assert (result.ranking[0].entity, result.ranking[0].signal) == ("demo", "process.cpu_percent")
    assert "http.up" not in " ".join(c.evidence for c in result.ranking)
