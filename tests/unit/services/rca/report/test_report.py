from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from services.rca.analyze import analyse, incident_anomaly_since
from services.rca.report.build import ReportConfig, build_report
from services.rca.report.collect import select
from services.rca.report.improve import noisy_rules, silent_signals
from services.rca.report.model import Chart
from services.rca.report.publish import document, render
from services.rca.report.svg import render_svg
from services.rca.store import WindowStore
from shared import events as ev
from shared import models as m
from shared.models import CauseCandidate
from tests.unit.services.rca.scenario import FAULT_AT, anomaly_event, at, lifecycle, metric_events

RANKING = (
    CauseCandidate(entity="demo", signal="process.cpu_percent", score=3.2, evidence="process.cpu_percent rose to 95"),
    CauseCandidate(entity="host-1", signal="host.cpu_percent", score=0.8, evidence="host.cpu_percent rose"),
)


def series() -> dict[str, list[tuple[float, float]]]:
    store = WindowStore()
    for e in metric_events("cpu-hog"):
        store.add(e)
    return store.window(at(0).timestamp(), at(400).timestamp())


def report(severity: m.Severity = m.Severity.MAJOR, ack_at: float | None = 320.0, **kw: object) -> object:
    anomaly = anomaly_event("process.cpu_percent")
    events = [anomaly, *lifecycle((anomaly.data.anomaly_id,), severity=severity, ack_at=ack_at)]
    return build_report(events, ranking=RANKING, series=series(), now=at(500), **kw)  # type: ignore[arg-type]


def test_timeline_holds_every_event_in_order() -> None:
    r = report()
    kinds = [e.kind for e in r.timeline]
    assert kinds == [
        "anomaly.detected", "incident.opened", "notification.dispatched", "recovery.planned",
        "recovery.step_started", "recovery.step_completed", "incident.acknowledged", "recovery.verified",
        "incident.resolved",
    ]  # fmt: skip
    assert r.recovery == "verified"
    assert r.impact_start == at(FAULT_AT + 4)
    assert r.duration_s == pytest.approx(380 - FAULT_AT - 6)


@pytest.mark.parametrize("severity", [m.Severity.CRITICAL, m.Severity.MAJOR, m.Severity.MINOR])
def test_compliance_counts_the_first_human_response_and_shows_automatic_recovery_beside(
    severity: m.Severity,
) -> None:
    c = report(severity).compliance
    assert c.response_s == pytest.approx(14.0) and c.responded_by.endswith("(incident.acknowledged)")
    assert c.automatic_s == pytest.approx(2.5) and c.automatic_by == "recovery.step_started"
    assert c.met is True


def test_an_automatic_recovery_step_is_no_response_issue_15() -> None:
    config = ReportConfig(response_targets_s={"critical": 10.0, "major": 7200.0, "minor": 14400.0})
    r = report(m.Severity.CRITICAL, ack_at=None, config=config)
    c = r.compliance
    assert c.response_s is None and c.responded_by == "" and c.automatic_by == "recovery.step_started"
    assert c.met is False  # nobody answered within 10 s, though recovery started after 2.5 s
    assert any(i.key == "response_missed" for i in r.improvements)


def test_compliance_missed_when_response_slower_than_target() -> None:
    config = ReportConfig(response_targets_s={"critical": 1.0, "major": 7200.0, "minor": 14400.0})
    c = report(m.Severity.CRITICAL, config=config).compliance
    assert c.met is False and c.target_s == 1.0
    assert any(i.key == "response_missed" for i in report(m.Severity.CRITICAL, config=config).improvements)


def test_noisy_rule_gets_a_threshold_suggestion_from_its_data() -> None:
    firings = [
        m.Anomaly(
            anomaly_id=f"a{i}",
            fingerprint="f",
            kind=m.AnomalyKind.THRESHOLD,
            target="demo",
            signal="host.load1",
            impact=m.Impact.RESOURCE_PRESSURE,
            score=0.5,
            observed=2.0 + i / 10,
            threshold=2.0,
            since=at(i),
            last_seen=at(i),
            summary="s",
        )
        for i in range(40)
    ]
    out = noisy_rules(firings, incident_anomaly_ids=set(), min_firings=5)
    assert len(out) == 1 and out[0].key == "noisy_threshold"
    assert out[0].params["fired"] == "40" and out[0].params["current"] == "2"
    assert float(out[0].params["suggested"]) == pytest.approx(5.9 * 1.1, rel=1e-3)
    assert noisy_rules(firings, incident_anomaly_ids={f"a{i}" for i in range(20)}, min_firings=5) == []


def test_silent_signal_suggests_a_threshold_between_baseline_and_peak() -> None:
    out = silent_signals(RANKING, [], series(), anomaly_start=at(FAULT_AT).timestamp())
    demo = next(i for i in out if i.params["entity"] == "demo")
    assert demo.key == "silent_signal_threshold" and demo.params["op"] == ">"
    assert 10 < float(demo.params["suggested"]) < 95
    alerted = silent_signals(RANKING, [anomaly_event("process.cpu_percent").data], series(),
                             anomaly_start=at(FAULT_AT).timestamp())  # fmt: skip
    assert all(i.params["entity"] != "demo" for i in alerted)
    assert all(i.params["entity"] != "host-1" for i in out)  # 0.8 against 3.2: a weak runner-up, no rule


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_markdown_has_every_section(lang: str) -> None:
    text = render(report(), "md", lang)
    headings = {
        "en": ["Summary", "Severity", "Impact window", "Timeline", "Response-target compliance",
               "Root-cause ranking", "Key metrics", "Improvement plan"],
        "ko": ["요약", "심각도", "영향 시간대", "타임라인", "대응 목표 준수", "근본 원인 순위", "주요 지표",
               "개선 계획"],
    }[lang]  # fmt: skip
    for heading in headings:
        assert re.search(rf"^##.*{heading}", text, re.MULTILINE), heading
    assert "<svg" in text and "process.cpu_percent" in text
    assert ("MET" in text) if lang == "en" else ("준수" in text)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_html_is_self_contained_with_charts(lang: str) -> None:
    html = render(report(), "html", lang)
    assert html.startswith("<!DOCTYPE html>") and f'lang="{lang}"' in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<svg") >= 2 and 'class="impact"' in html and 'class="anomaly-mark"' in html
    for section in ("summary", "severity", "impact", "timeline", "compliance", "rca", "charts", "improvements"):
        assert f'id="{section}"' in html


def test_svg_is_well_formed_and_splits_gaps() -> None:
    chart = Chart(series="demo|process.up", points=((0.0, 1.0), (1.0, 1.0), (2.0, float("nan")), (3.0, 0.0),
                  (4.0, 0.0)), start=0.0, end=5.0, anomaly_start=2.5, anomaly_end=4.5, marks=(2.6,))  # fmt: skip
    root = ET.fromstring(render_svg(chart))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 2
    assert root.find(f"{ns}title").text == "demo|process.up"


def test_timeline_selection_by_correlation_and_payload() -> None:
    anomaly = anomaly_event("process.cpu_percent")
    other = anomaly_event("http.error_rate", target="other")
    fault = ev.FaultInjected.create(m.FaultInjected(fault="cpu-hog", target="demo"), source="/c", id_parts=("f",),
                                    time=at(FAULT_AT))  # fmt: skip
    events = [other, fault, anomaly, *lifecycle((anomaly.data.anomaly_id,))]
    history = select("inc-1", events)
    kinds = [e.type for e in history.events]
    assert ev.FaultInjected.event_type in kinds and other.id not in {e.id for e in history.events}
    assert history.incident_anomaly_ids == {anomaly.data.anomaly_id}
    assert set(history.anomalies) == {anomaly.data.anomaly_id, other.data.anomaly_id}
    r = build_report(history.events, ranking=RANKING, series={}, now=at(500))
    assert r.fault == "cpu-hog" and r.charts == ()
    assert "no metrics" in render(r, "md", "en").lower()


def test_es_document() -> None:
    doc = document(report(), lang="en", paths=[])
    assert doc["incident_id"] == "inc-1" and doc["root_cause_entity"] == "demo"
    assert doc["response_target_met"] is True and doc["timeline"][0]["kind"] == "anomaly.detected"


def test_report_from_store_analysis_end_to_end() -> None:
    anomaly = anomaly_event("process.cpu_percent")
    store = WindowStore()
    for e in [*metric_events("cpu-hog"), anomaly]:
        store.add(e)
    events = [anomaly, *lifecycle((anomaly.data.anomaly_id,))]
    inc = events[-1].data.incident
    result = analyse(store, inc, end=at(380).timestamp(), lookback_s=300.0, top=5,
                     anomaly_since=incident_anomaly_since(store, inc))  # fmt: skip
    r = build_report(events, ranking=result.ranking, series=store.window(0, at(500).timestamp()), now=at(500))
    assert r.ranking[0].entity == "demo" and r.charts[0].series == "demo|process.cpu_percent"


def test_report_timeline_keeps_an_earlier_fault_of_the_target_off_issue_15() -> None:
    anomaly = anomaly_event("process.cpu_percent")  # since FAULT_AT + 4, incident opened FAULT_AT + 6

    def injected(name: str, t: float) -> ev.FaultInjected:
        data = m.FaultInjected(fault=name, target="demo")
        return ev.FaultInjected.create(data, source="/c", id_parts=(name,), time=at(t))

    earlier, this = injected("error-burst", FAULT_AT - 300), injected("cpu-hog", FAULT_AT)
    history = select("inc-1", [earlier, this, anomaly, *lifecycle((anomaly.data.anomaly_id,))])
    faults = [e.data.fault for e in history.events if isinstance(e, ev.FaultInjected)]
    assert faults == ["cpu-hog"]


def test_report_timeline_follows_the_causal_chain() -> None:
    anomaly = anomaly_event("process.cpu_percent")
    story = lifecycle((anomaly.data.anomaly_id,))
    silence = m.Silence(silence_id="s-1", matchers={"service": "demo"}, starts_at=at(FAULT_AT), ends_at=at(400),
                        author="bob", reason="from the incident page")  # fmt: skip
    when = at(FAULT_AT + 7)
    caused = ev.SilenceCreated.create(silence, source="/api", id_parts=("s",), time=when, causation=story[0])
    history = select("inc-1", [anomaly, *story, caused])
    assert caused.id in {e.id for e in history.events}


def test_another_incident_updated_by_one_of_ours_stays_out_of_the_history() -> None:
    anomaly = anomaly_event("process.cpu_percent")
    story = lifecycle((anomaly.data.anomaly_id,))
    verified = next(e for e in story if isinstance(e, ev.RecoveryVerified))
    other = story[0].data.incident.model_copy(update={"incident_id": "inc-2", "problem": "errors"})
    touched = ev.IncidentUpdated.create(m.IncidentTransition(incident=other, reason="target recovered"),
                                        source="/r", id_parts=("u2",), time=at(FAULT_AT + 31),
                                        correlationid="inc-2", causation=verified)  # fmt: skip
    history = select("inc-1", [anomaly, *story, touched])
    assert touched.id not in {e.id for e in history.events}
    assert touched.id in {e.id for e in select("inc-2", [anomaly, *story, touched]).events}


def test_resolved_automatically_within_the_target_reads_as_not_needed() -> None:
    from services.rca.report import wording

    r = report(m.Severity.CRITICAL, ack_at=None)  # resolved 74 s after opening; target 900 s
    assert r.compliance.met is None and r.compliance.verdict == "not needed"
    assert "NOT NEEDED" in wording.compliance(r, "en") and "recovery.step_started" in wording.compliance(r, "en")
    assert "불필요" in wording.compliance(r, "ko")
