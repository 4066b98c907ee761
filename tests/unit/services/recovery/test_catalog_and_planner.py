from __future__ import annotations

import pytest

from services.recovery.app import build_catalog
from services.recovery.domain.catalog import ActionNotDeclared, Catalog, HttpPost, RestartProcess, Wait
from services.recovery.domain.planner import plan_recovery, problem_class
from services.recovery.settings import RecoverySettings
from shared.models import Impact, Incident, IncidentStatus, Severity
from tests.factories import at

RESTART = RestartProcess(name="demo", target="demo", argv=("python", "-m", "demo"), pidfile="/tmp/demo.pid")
CATALOG = Catalog.build([RESTART, HttpPost(name="reset", target="demo", url="http://127.0.0.1:1/chaos/reset")])


def incident(
    target: str = "demo",
    signals: tuple[str, ...] = ("process.cpu_percent",),
    impacts: tuple[Impact, ...] = (Impact.RESOURCE_PRESSURE,),
    severity: Severity = Severity.MAJOR,
) -> Incident:
    return Incident(
        incident_id="inc-1", group_key=target, target=target, title="t", severity=severity, severity_reason="r",
        status=IncidentStatus.TRIGGERED, opened_at=at(0), signals=signals, impacts=impacts,
    )  # fmt: skip


def plan(inc: Incident, catalog: Catalog = CATALOG, restarts: tuple[float, ...] = ()) -> object:
    return plan_recovery(inc, catalog, restart_times=restarts, now=1000.0, max_restarts=2, window_s=600.0)


@pytest.mark.parametrize(
    ("signals", "impacts", "expected"),
    [
        (("process.up",), (), "down"),
        (("http.latency_p95_ms",), (Impact.SERVICE_DOWN,), "down"),
        (("process.cpu_percent",), (), "cpu"),
        (("http.error_rate",), (), "errors"),
        (("log:abc123",), (), "errors"),
        (("http.latency_p95_ms",), (), "latency"),
        (("process.rss_bytes",), (), "memory"),
        (("something",), (), "other"),
        (("log:abc123",), (Impact.SECURITY,), "security"),
        (("backup.last_ok",), (Impact.DATA_LOSS,), "data_loss"),
    ],
)
def test_problem_class(signals: tuple[str, ...], impacts: tuple[Impact, ...], expected: str) -> None:
    assert problem_class(incident(signals=signals, impacts=impacts)) == expected


@pytest.mark.parametrize("signal", ["process.up", "process.cpu_percent", "http.error_rate", "http.latency_p95_ms"])
def test_managed_target_gets_a_restart(signal: str) -> None:
    decision = plan(incident(signals=(signal,)))
    assert decision.plan is not None
    assert [s.action for s in decision.plan.steps] == ["restart_process"]
    assert decision.plan.steps[0].params["process"] == "demo"


def test_undeclared_target_gets_no_plan_and_escalates() -> None:
    decision = plan(incident(target="db"))
    assert decision.plan is None and decision.escalate
    assert "no recovery action declared" in decision.reason


def test_plan_id_is_deterministic() -> None:
    assert plan(incident()).plan.plan_id == plan(incident()).plan.plan_id


def test_flapping_guard_refuses_a_third_restart_in_the_window() -> None:
    assert plan(incident(), restarts=(900.0,)).plan is not None
    decision = plan(incident(), restarts=(500.0, 900.0))
    assert decision.plan is None and decision.escalate and "flapping" in decision.reason
    assert plan(incident(), restarts=(10.0, 20.0)).plan is not None  # outside the window


def test_severity_below_minimum_is_not_recovered_nor_escalated() -> None:
    decision = plan_recovery(
        incident(severity=Severity.MINOR), CATALOG, now=0.0, max_restarts=3, window_s=60.0,
        min_severity=Severity.MAJOR,
    )  # fmt: skip
    assert decision.plan is None and not decision.escalate


def test_configured_remedies_win() -> None:
    catalog = Catalog.build(list(CATALOG.actions["demo"].values()), {"demo": {"errors": ("http_post:reset", "wait")}})
    decision = plan(incident(signals=("http.error_rate",)), catalog)
    assert [s.action for s in decision.plan.steps] == ["http_post:reset", "wait"]
    assert [s.action for s in plan(incident(), catalog).plan.steps] == ["restart_process"]


@pytest.mark.parametrize("problem", ["security", "leak", "data_loss"])
def test_a_critical_class_gets_only_its_declared_remedy_never_a_default_restart(problem: str) -> None:
    inc = incident(signals=("log:abc123",), severity=Severity.CRITICAL).model_copy(update={"problem": problem})
    decision = plan(inc, Catalog.build([RESTART], {"demo": {"default": ("restart_process",)}}))
    assert decision.plan is None and decision.escalate and f"no declared remedy for {problem!r}" in decision.reason
    declared = plan(inc, Catalog.build([RESTART], {"demo": {problem: ("restart_process",)}}))
    assert [s.action for s in declared.plan.steps] == ["restart_process"]


def test_remedy_naming_an_undeclared_action_is_refused() -> None:
    catalog = Catalog.build([RESTART], {"demo": {"default": ("http_post:evil",)}})
    decision = plan(incident(), catalog)
    assert decision.plan is None and "undeclared" in decision.reason


def test_catalog_refuses_undeclared_actions_and_targets() -> None:
    with pytest.raises(ActionNotDeclared, match="shell"):
        CATALOG.resolve("shell", "demo")
    with pytest.raises(ActionNotDeclared, match="other"):
        CATALOG.resolve("restart_process", "other")
    assert isinstance(CATALOG.resolve("wait", "demo"), Wait)


def test_an_event_string_cannot_pick_a_command() -> None:
    # Whatever an event carries, resolution only looks names up in the declared table.
    for hostile in ("rm -rf /", "restart_process; rm -rf /", "http_post:http://evil", "../../bin/sh"):
        with pytest.raises(ActionNotDeclared):
            CATALOG.resolve(hostile, "demo")
    action = CATALOG.resolve("restart_process", "demo")
    assert action.argv == ("python", "-m", "demo")


def test_catalog_from_settings() -> None:
    settings = RecoverySettings(
        managed_processes=[
            {"name": "demo", "target": "demo", "command": ["python", "-V"], "pidfile": "/tmp/p.pid"},
        ],
        http_actions=[{"name": "reset", "target": "demo", "url": "http://127.0.0.1:9/chaos/reset"}],
        targets={"demo": {"wait_s": 0.5, "remedies": {"latency": ["http_post:reset", "wait", "restart_process"]}}},
    )
    catalog = build_catalog(settings)
    assert set(catalog.declared("demo")) == {"restart_process", "http_post:reset", "wait"}
    assert catalog.resolve("wait", "demo").seconds == 0.5
    assert catalog.remedies["demo"]["latency"] == ("http_post:reset", "wait", "restart_process")


def test_no_second_plan_while_the_target_is_being_verified() -> None:
    decision = plan_recovery(incident(), CATALOG, now=0.0, max_restarts=3, window_s=60.0, in_progress="inc-0")
    assert decision.plan is None and not decision.escalate and "in progress" in decision.reason


def test_the_responder_s_problem_class_wins_over_signals_a_restart_added_issue_15() -> None:
    inc = incident(signals=("process.cpu_percent", "http.up"), impacts=(Impact.RESOURCE_PRESSURE, Impact.SERVICE_DOWN))
    assert problem_class(inc) == "down"  # an incident of before problem classes
    assert problem_class(inc.model_copy(update={"problem": "cpu"})) == "cpu"
