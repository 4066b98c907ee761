"""An external alert restarts nothing unless the target's own signals confirm it or its rule is allow-listed."""

from __future__ import annotations

import pytest

from services.recovery.app import build_catalog
from services.recovery.domain.catalog import Catalog, RestartProcess
from services.recovery.domain.confirm import LatestScrape
from services.recovery.domain.planner import PlanDecision, plan_recovery
from services.recovery.settings import RecoverySettings
from shared.models import Impact, Incident, IncidentStatus, Severity
from tests.factories import at

RESTART = RestartProcess(name="demo", target="demo", argv=("python", "-m", "demo"), pidfile="/tmp/demo.pid")
CATALOG = Catalog.build([RESTART])
TRUSTING = Catalog.build([RESTART], external_rules={"demo": ["DemoProcessDown"]})
NOW = 1000.0
HEALTHY = LatestScrape(NOW - 2, {"process.up": 1.0, "http.up": 1.0, "process.cpu_percent": 3.0})
CRASHED = LatestScrape(NOW - 2, {"process.up": 0.0, "http.up": 0.0})


def alert_incident(anomaly_ids: tuple[str, ...] = ("am-3f2a9c0d1b7e",), rule: str = "InstanceDown") -> Incident:
    """What a critical Alertmanager alert labelled with the managed target's name becomes."""
    return Incident(
        incident_id="inc-1", group_key="service=demo", target="demo", title="InstanceDown firing on demo",
        severity=Severity.CRITICAL, severity_reason="service down", status=IncidentStatus.TRIGGERED, opened_at=at(0),
        anomaly_ids=anomaly_ids, signals=(rule,), impacts=(Impact.SERVICE_DOWN,),
    )  # fmt: skip


def plan(inc: Incident, latest: LatestScrape | None, catalog: Catalog = CATALOG) -> PlanDecision:
    return plan_recovery(inc, catalog, now=NOW, max_restarts=3, window_s=600.0, latest=latest, confirm_max_age_s=30.0)


@pytest.mark.parametrize("latest", [HEALTHY, None, LatestScrape(NOW - 120, {"process.up": 0.0})])
def test_an_unconfirmed_external_alert_runs_no_action(latest: LatestScrape | None) -> None:
    decision = plan(alert_incident(), latest)
    assert decision.plan is None and not decision.escalate
    assert "not confirmed by the target's own signals" in decision.reason


def test_an_external_alert_confirmed_by_the_targets_metrics_gets_its_restart() -> None:
    decision = plan(alert_incident(), CRASHED)
    assert decision.plan is not None and [s.action for s in decision.plan.steps] == ["restart_process"]


def test_an_allow_listed_rule_is_trusted_alone() -> None:
    assert plan(alert_incident(rule="DemoProcessDown"), HEALTHY, TRUSTING).plan is not None
    assert plan(alert_incident(rule="InstanceDown"), HEALTHY, TRUSTING).plan is None


def test_an_incident_with_the_detectors_own_anomaly_is_planned_as_before() -> None:
    mixed = alert_incident(anomaly_ids=("am-3f2a9c0d1b7e", "an-demo-process.up"))
    assert plan(mixed, HEALTHY).plan is not None


def test_external_rules_come_from_the_settings() -> None:
    settings = RecoverySettings(
        managed_processes=[{"name": "demo", "command": ["python", "-m", "demo"], "pidfile": "/tmp/demo.pid"}],
        targets={"demo": {"external_rules": ["DemoProcessDown"]}},
    )
    assert build_catalog(settings).external_rules == {"demo": frozenset({"DemoProcessDown"})}
