from __future__ import annotations

import pytest

from services.responder.domain.grouping import anomaly_labels
from services.responder.domain.policy import MANUAL_SEVERITY_RULES, SeverityRule
from services.responder.domain.severity import classifier, classify
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at, policy, silence


@pytest.mark.parametrize(
    ("impact", "severity", "why"),
    [
        (m.Impact.SERVICE_DOWN, m.Severity.CRITICAL, "service fully down"),
        (m.Impact.DATA_LOSS, m.Severity.CRITICAL, "data loss"),
        (m.Impact.SECURITY, m.Severity.CRITICAL, "security"),
        (m.Impact.MAJOR_FUNCTION, m.Severity.MAJOR, "major function"),
        (m.Impact.SEVERE_DEGRADATION, m.Severity.MAJOR, "severe performance"),
        (m.Impact.PARTIAL_OUTAGE, m.Severity.MAJOR, "partial outage"),
        (m.Impact.PARTIAL_FUNCTION, m.Severity.MINOR, "partial function"),
        (m.Impact.SLIGHT_DEGRADATION, m.Severity.MINOR, "slight degradation"),
        (m.Impact.RESOURCE_PRESSURE, m.Severity.MINOR, "slight degradation"),
    ],
)
def test_manual_severity_with_reason(impact: m.Impact, severity: m.Severity, why: str) -> None:
    verdict = classify(anomaly_labels(anomaly(impact=impact).data), MANUAL_SEVERITY_RULES)
    assert verdict.severity is severity
    assert why in verdict.reason and impact.value in verdict.reason


def test_rules_are_overridable_and_first_match_wins() -> None:
    rules = (
        SeverityRule(name="payments-critical", severity=m.Severity.CRITICAL, match={"team": "payments"}, reason="pay"),
        *MANUAL_SEVERITY_RULES,
    )
    labels = anomaly_labels(anomaly(impact=m.Impact.SLIGHT_DEGRADATION, labels={"team": "payments"}).data)
    assert classify(labels, rules).severity is m.Severity.CRITICAL
    assert classify({"impact": "unknown"}, rules, default=m.Severity.MAJOR).rule == "default"


def test_the_classifier_remembers_verdicts_by_the_labels_the_rules_read_and_gives_classify_s() -> None:
    rules = (
        SeverityRule(name="payments-critical", severity=m.Severity.CRITICAL, match={"team": "payments"}, reason="pay"),
        SeverityRule(name="any-tier", severity=m.Severity.MAJOR, match={"tier": "*"}),
        *MANUAL_SEVERITY_RULES,
    )
    judge = classifier(rules, m.Severity.MAJOR)
    assert classifier(rules, m.Severity.MAJOR) is judge and classifier(rules, m.Severity.MINOR) is not judge
    cases = [
        anomaly_labels(anomaly(impact=impact, labels=labels).data)
        for impact in m.Impact
        for labels in ({}, {"team": "payments"}, {"team": "web"}, {"tier": "1"}, {"problem_reason": "why"})
    ]
    cases += [{"impact": "unknown"}, {}, {"impact": ""}, {"impact": "service_down", "team": "payments"}]
    for labels in cases * 2:  # the second time from memory
        assert judge(labels) == classify(labels, rules, default=m.Severity.MAJOR), labels


def test_severity_rises_as_incident_grows_and_the_change_is_an_event() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "cpu", impact=m.Impact.RESOURCE_PRESSURE), t=0)
    assert sim.only().incident.severity is m.Severity.MINOR
    sim.anomaly(anomaly("api", "down", impact=m.Impact.SERVICE_DOWN), t=3)
    inc = sim.only().incident
    assert inc.severity is m.Severity.CRITICAL and inc.severity_since == at(3)
    update = sim.of_type(ev.IncidentUpdated)[-1]
    assert "severity raised minor → critical" in update.data.reason
    sim.anomaly(anomaly("api", "slow", impact=m.Impact.SLIGHT_DEGRADATION), t=4)
    assert sim.only().incident.severity is m.Severity.CRITICAL  # never lowered


def test_host_down_inhibits_its_services_but_not_other_hosts() -> None:
    sim = Sim()
    sim.anomaly(anomaly("host:h1", "up", impact=m.Impact.SERVICE_DOWN, host="h1"), t=0)
    decision = sim.anomaly(anomaly("api", "errors", host="h1"), t=1)
    assert decision.outcome.startswith("inhibited")
    assert isinstance(decision.events[0], ev.IncidentNoteAdded)
    assert len(sim.book.incidents) == 1
    assert sim.anomaly(anomaly("db", "errors", host="h2"), t=2).outcome == "opened"


def test_critical_inhibits_minor_symptoms_of_its_own_service() -> None:
    sim = Sim(policy(grouping=policy().grouping.model_copy(update={"group_by": ("service", "signal")})))
    sim.anomaly(anomaly("api", "up", impact=m.Impact.SERVICE_DOWN), t=0)
    minor = sim.anomaly(anomaly("api", "cpu", impact=m.Impact.RESOURCE_PRESSURE), t=1)
    assert minor.outcome.startswith("inhibited")
    major = sim.anomaly(anomaly("api", "lat", impact=m.Impact.SEVERE_DEGRADATION), t=2)
    assert major.outcome == "opened"
    other = sim.anomaly(anomaly("web", "cpu", impact=m.Impact.RESOURCE_PRESSURE), t=3)
    assert other.outcome == "opened"


def test_resolved_incident_inhibits_nothing() -> None:
    sim = Sim()
    sim.anomaly(anomaly("host:h1", "up", impact=m.Impact.SERVICE_DOWN, host="h1"), t=0)
    iid = sim.only().incident.incident_id
    from tests.unit.services.responder.helpers import command

    sim.command(command(ev.ResolveRequested, iid, t=1), t=1)
    assert sim.anomaly(anomaly("api", host="h1"), t=2).outcome == "opened"


def test_silence_mutes_matching_anomalies_only_inside_its_window() -> None:
    sim = Sim()
    sim.silence(silence({"service": "api"}, start=10, end=20))
    assert sim.anomaly(anomaly("api", episode="early"), t=5).outcome == "opened"
    sim2 = Sim()
    sim2.silence(silence({"service": "api"}, start=10, end=20))
    assert sim2.anomaly(anomaly("api"), t=15).outcome.startswith("silenced by s1")
    assert sim2.anomaly(anomaly("db"), t=15).outcome == "opened"
    assert sim2.anomaly(anomaly("api", episode="late"), t=20).outcome == "opened"


def test_expired_silence_and_empty_matchers_mute_nothing() -> None:
    sim = Sim()
    sim.silence(silence({}, start=0, end=100, sid="all"))
    sim.silence(silence({"service": "api"}, start=0, end=100, sid="s2"))
    expired = silence({"service": "api"}, start=0, end=100, sid="s2")
    sim.silence(ev.SilenceExpired.create(expired.data, source="/t", id_parts=("x",), time=at(10), subject="s2"))
    assert sim.anomaly(anomaly("api"), t=15).outcome == "opened"
