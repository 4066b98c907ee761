"""The manual's Critical classes from the detector's signals: security, leak, data loss, with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from services.responder.domain.grouping import anomaly_labels
from services.responder.domain.policy import MANUAL_SEVERITY_RULES
from services.responder.domain.severity import classify
from shared import events as ev
from shared import models as m
from shared.phrases import translate
from shared.problems import explains, problem_class
from tests.unit.services.responder.helpers import Sim, anomaly

SECURITY_REASON = "security-relevant template (words: unauthorized, customer table) burst 40/min"
SECURITY: dict[str, Any] = {
    "impact": m.Impact.SECURITY,
    "kind": m.AnomalyKind.LOG_PATTERN,
    "labels": {"problem": "security", "problem_reason": SECURITY_REASON},
}
LEAK: dict[str, Any] = {
    "impact": m.Impact.DATA_LOSS,
    "kind": m.AnomalyKind.STATISTICAL,
    "labels": {"problem": "leak", "problem_reason": "outbound traffic 52 MB/s, 40 times its learned level 1.3 MB/s"},
}


def test_a_security_log_burst_opens_a_critical_incident_with_the_reason() -> None:
    sim = Sim()
    sim.anomaly(anomaly("demo", "log:52cecff98a05374d", **SECURITY), t=0)
    inc = sim.only().incident
    assert inc.severity is m.Severity.CRITICAL and inc.problem == "security"
    assert inc.severity_reason.startswith("critical: security incident (security, rule security): ")
    assert inc.severity_reason.endswith(SECURITY_REASON)


def test_an_ordinary_error_burst_stays_minor() -> None:
    sim = Sim()
    sim.anomaly(anomaly("demo", "log:aa", impact=m.Impact.PARTIAL_FUNCTION, kind=m.AnomalyKind.LOG_PATTERN), t=0)
    inc = sim.only().incident
    assert inc.severity is m.Severity.MINOR and inc.problem == "errors"


@pytest.mark.parametrize(
    ("impact", "labels", "rule", "why"),
    [
        (m.Impact.SECURITY, {"problem": "security"}, "security", "security incident"),
        (m.Impact.DATA_LOSS, {"problem": "leak"}, "data-leak", "data leak"),
        (m.Impact.DATA_LOSS, {"problem": "data_loss"}, "data-loss", "data loss or leak"),
        (m.Impact.DATA_LOSS, {}, "data-loss", "data loss or leak"),
    ],
)
def test_each_class_maps_to_critical_by_its_rule(impact: m.Impact, labels: dict[str, str], rule: str, why: str) -> None:
    verdict = classify(anomaly_labels(anomaly(impact=impact, labels=labels).data), MANUAL_SEVERITY_RULES)
    assert (verdict.severity, verdict.rule) == (m.Severity.CRITICAL, rule)
    assert why in verdict.reason


def test_a_leak_and_a_security_burst_on_one_target_are_two_incidents() -> None:
    sim = Sim()
    sim.anomaly(anomaly("demo", "log:52cecff98a05374d", **SECURITY), t=0)
    sim.anomaly(anomaly("demo", "host.net_sent_bytes_per_s", **LEAK), t=1)
    problems = sorted(s.incident.problem for s in sim.book.incidents.values())
    assert problems == ["leak", "security"]
    leak = next(s.incident for s in sim.book.incidents.values() if s.incident.problem == "leak")
    assert leak.severity is m.Severity.CRITICAL and "data leak" in leak.severity_reason
    assert "40 times its learned level" in leak.severity_reason


def test_problem_classes_of_the_critical_signals() -> None:
    assert problem_class("log:x", m.Impact.SECURITY, {"problem": "security"}) == "security"
    assert problem_class("host.net_sent_bytes_per_s", m.Impact.DATA_LOSS, {"problem": "leak"}) == "leak"
    assert problem_class("backup.age_s", m.Impact.DATA_LOSS) == "data_loss"
    assert problem_class("log:x", m.Impact.SECURITY) == "security"
    assert problem_class("log:x", m.Impact.PARTIAL_FUNCTION, {"problem": "bogus"}) == "errors"
    assert not explains("down", "security") and not explains("security", "errors")


def test_the_reasons_read_in_korean() -> None:
    text = translate(f"critical: data leak (data_loss, rule data-leak): {SECURITY_REASON}", "ko")
    assert "데이터 유출" in text and "보안 관련 로그 템플릿 (단어: unauthorized, customer table)" in text
    assert "분당 40줄 급증" in text


def test_a_security_incident_stays_security_when_its_title_follows_the_signal_still_firing() -> None:
    sim = Sim()
    sim.anomaly(anomaly("demo", "log:aa", t=0, **SECURITY), t=0)
    sim.anomaly(anomaly("demo", "log:bb", t=1, **SECURITY), t=1)
    assert len(sim.book.incidents) == 1
    sim.anomaly(anomaly("demo", "log:aa", cls=ev.AnomalyResolved, revision=2, **SECURITY), t=5)
    inc = sim.only().incident
    assert inc.title_fingerprint == "demo/log:bb"
    assert inc.problem == "security" and inc.severity is m.Severity.CRITICAL
