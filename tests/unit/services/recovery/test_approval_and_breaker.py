"""Approval rules and verdicts, the per-target circuit breaker, and their configuration (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.recovery.domain.approval import (
    ApprovalRule,
    ApprovalStatus,
    Decision,
    approval_rule,
    approval_status,
)
from services.recovery.domain.breaker import BreakerPolicy, BreakerState, breaker_state
from services.recovery.domain.catalog import Catalog, RestartProcess
from services.recovery.domain.planner import plan_recovery
from services.recovery.settings import RecoverySettings
from shared import models as m
from shared.models import ApprovalDefault, Severity

CRITICAL_ONLY = ApprovalRule(300.0, ApprovalDefault.DENY, frozenset({Severity.CRITICAL}))
ALWAYS = ApprovalRule(60.0, ApprovalDefault.APPROVE)


@pytest.mark.parametrize(
    ("action", "severity", "rules", "needed"),
    [
        ("restart_process", Severity.CRITICAL, {"restart_process": CRITICAL_ONLY}, True),
        ("restart_process", Severity.MAJOR, {"restart_process": CRITICAL_ONLY}, False),
        ("restart_process", Severity.MINOR, {"restart_process": ALWAYS}, True),
        ("wait", Severity.CRITICAL, {"restart_process": ALWAYS}, False),
        ("restart_process", Severity.CRITICAL, {}, False),
    ],
)
def test_approval_is_needed_per_action_and_severity(
    action: str, severity: Severity, rules: dict[str, ApprovalRule], needed: bool
) -> None:
    assert (approval_rule(action, severity, rules) is not None) is needed


@pytest.mark.parametrize(
    ("now", "decision", "rule", "status", "run"),
    [
        (100.0, None, CRITICAL_ONLY, ApprovalStatus.PENDING, False),
        (100.0, Decision(True, "ana", "go", at=50.0), CRITICAL_ONLY, ApprovalStatus.APPROVED, True),
        (100.0, Decision(False, "bo", "risky", at=50.0), CRITICAL_ONLY, ApprovalStatus.DENIED, False),
        (301.0, None, CRITICAL_ONLY, ApprovalStatus.TIMED_OUT, False),  # default deny
        (61.0, None, ALWAYS, ApprovalStatus.TIMED_OUT, True),  # default approve
        (400.0, Decision(True, "late", "", at=350.0), CRITICAL_ONLY, ApprovalStatus.TIMED_OUT, False),
    ],
)
def test_approval_status_pending_decided_or_timed_out_with_the_default(
    now: float, decision: Decision | None, rule: ApprovalRule, status: ApprovalStatus, run: bool
) -> None:
    verdict = approval_status(0.0, now=now, rule=rule, decision=decision)
    assert (verdict.status, verdict.run) == (status, run)


def test_a_decision_names_who_and_why() -> None:
    verdict = approval_status(0.0, now=1.0, rule=ALWAYS, decision=Decision(False, "ana", "peak hour", at=1.0))
    assert verdict.detail == "denied by ana: peak hour"


POLICY = BreakerPolicy(failures=3, window_s=100.0, cooldown_s=50.0)


@pytest.mark.parametrize(
    ("failures", "verified", "actions", "now", "state"),
    [
        ([], [], [], 10.0, BreakerState.CLOSED),
        ([10.0, 20.0], [], [], 30.0, BreakerState.CLOSED),
        ([10.0, 20.0, 30.0], [], [], 40.0, BreakerState.OPEN),
        ([10.0, 200.0, 210.0], [], [], 220.0, BreakerState.CLOSED),  # the first is outside the window
        ([10.0, 20.0, 30.0], [], [], 80.0, BreakerState.HALF_OPEN),  # cool-down over: one trial
        ([10.0, 20.0, 30.0], [], [85.0], 90.0, BreakerState.OPEN),  # the trial runs
        ([10.0, 20.0, 30.0, 95.0], [], [85.0], 100.0, BreakerState.OPEN),  # the trial failed
        ([10.0, 20.0, 30.0], [95.0], [85.0], 100.0, BreakerState.CLOSED),  # the trial was verified
    ],
)
def test_breaker_opens_half_opens_and_closes(
    failures: list[float], verified: list[float], actions: list[float], now: float, state: BreakerState
) -> None:
    assert breaker_state(failures, verified, actions, now=now, policy=POLICY).state is state


CATALOG = Catalog.build([RestartProcess(name="demo", target="demo", argv=("true",), pidfile="/tmp/x.pid")])


def incident() -> m.Incident:
    return m.Incident(
        incident_id="inc-1", group_key="demo", target="demo", title="down", severity=Severity.CRITICAL,
        severity_reason="r", status=m.IncidentStatus.TRIGGERED, opened_at=datetime.now(UTC),
        signals=("process.up",), impacts=(m.Impact.SERVICE_DOWN,),
    )  # fmt: skip


def test_open_breaker_refuses_the_plan_and_escalates_half_open_says_so() -> None:
    closed = dict(now=1000.0, max_restarts=9, window_s=3600.0)
    refused = plan_recovery(
        incident(), CATALOG, breaker=breaker_state([1.0, 2.0, 3.0], [], [], now=4.0, policy=POLICY), **closed
    )
    assert refused.plan is None and refused.escalate and refused.reason.startswith("circuit open")
    trial = plan_recovery(
        incident(), CATALOG, breaker=breaker_state([1.0, 2.0, 3.0], [], [], now=60.0, policy=POLICY), **closed
    )
    assert trial.plan is not None and "circuit half-open" in trial.plan.rationale


def test_approval_and_rollback_config_must_name_declared_actions() -> None:
    demo = {"name": "demo", "command": ["true"], "pidfile": "/tmp/d.pid"}
    ok = RecoverySettings(
        managed_processes=[demo],
        targets={"demo": {"approval": {"restart_process": {"severities": ["critical"], "default": "deny"}},
                          "rollback": {"restart_process": "wait"}}},
    )  # fmt: skip
    assert ok.targets["demo"].approval["restart_process"].timeout_s == 300.0
    with pytest.raises(ValidationError, match=r"targets\n.*demo\.approval: 'http_post:nope' is not an action declared"):
        RecoverySettings(
            managed_processes=[demo], targets={"demo": {"approval": {"http_post:nope": {"default": "deny"}}}}
        )
    with pytest.raises(ValidationError, match="default"):
        RecoverySettings(managed_processes=[demo], targets={"demo": {"approval": {"restart_process": {}}}})
    with pytest.raises(ValidationError, match=r"demo\.rollback"):
        RecoverySettings(managed_processes=[demo], targets={"demo": {"rollback": {"restart_process": "http_post:x"}}})


def test_approval_and_rollback_may_name_the_emergency_actions() -> None:
    failover = {"name": "db", "target": "db", "socket": "/run/haproxy.sock", "backend": "pg", "primary": "p",
                "standby": "s"}  # fmt: skip
    restore = {"name": "app", "target": "db", "dsn_env": "APP_DSN", "backup_dir": "/var/backups/app",
               "verify_query": "SELECT count(*) FROM orders", "verify_min": 1}  # fmt: skip
    ok = RecoverySettings(
        failover_actions=[failover], restore_actions=[restore],
        targets={"db": {"approval": {"failover:db": {"default": "deny"}, "restore_backup:app": {"default": "deny"}},
                        "rollback": {"failover:db": "failover:db:rollback"}}},
    )  # fmt: skip
    assert set(ok.targets["db"].approval) == {"failover:db", "restore_backup:app"}
    with pytest.raises(ValidationError, match=r"db\.approval: 'isolate:db' is not an action declared"):
        RecoverySettings(failover_actions=[failover], targets={"db": {"approval": {"isolate:db": {"default": "deny"}}}})
