"""Critical by the manual, end to end on the embedded stack with the demo estate (issue 17).

``primary-down``: the primary database dies; the database service is down (Critical), L1 and L2 are
paged at once, promote + failover run once each after the operator's approval, writes flow through
the former standby. ``data-loss``: the orders table is dropped; the row count collapses (Critical data
loss), the restore runs once after approval and the rows are back. ``auth-attack``: a burst of failed
logins through the public entrance (Critical security), ``isolate:demo-public`` after approval, the
failed logins stop. ``exfiltrate``: customer records streamed to an outside host (Critical leak),
``isolate:demo-egress`` after approval, the sink receives nothing more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentctl import scenario
from incidentctl.estate import runner
from tests.e2e.scenario_support import check_report

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(runner.unavailable() is not None, reason=f"estate programs missing: {runner.unavailable()}"),
]


def run_critical(fault: str, root: Path) -> scenario.ScenarioResult:
    result = scenario.run(fault, root=root, timeout_s=170.0)
    assert result.ok, f"missing {result.missing}, problems {result.problems}: {result.to_json()}"
    assert result.severity == "critical" and {"L1", "L2"} <= set(result.paged_teams)
    assert all(entry.endswith("by scenario-operator") for entry in result.approvals), result.approvals
    times = result.seconds_after_fault
    assert times["incident_opened"] <= times["approved"] <= times["recovery_started"] <= times["recovery_verified"]
    check_report(result, root)
    return result


def test_primary_down_fails_over_to_the_standby(tmp_path: Path) -> None:
    result = run_critical("primary-down", tmp_path / "stack")
    assert result.target == "demo-db" and result.rca_top_cause is not None
    assert result.actions_run == {"promote_standby:db": 1, "failover:db": 1}
    check = result.fault_check
    assert check["passed"] and check["server_port"] == check["standby_port"] and not check["in_recovery"]


def test_data_loss_restores_the_rows_from_the_last_good_backup(tmp_path: Path) -> None:
    result = run_critical("data-loss", tmp_path / "stack")
    assert result.actions_run == {"restore_backup:orders": 1}
    assert result.fault_check["passed"] and result.fault_check["orders_rows"] > 0
    assert any(a["signal"] == "db.rows" and "row count" in a["summary"] for a in result.anomalies), result.anomalies


def test_auth_attack_takes_the_demo_out_of_public_rotation(tmp_path: Path) -> None:
    result = run_critical("auth-attack", tmp_path / "stack")
    assert result.actions_run == {"isolate:demo-public": 1}
    assert result.rca_top_cause is not None and "authentication failed" in str(result.rca_top_cause)
    assert result.fault_check["passed"] and "maint" in result.fault_check["evidence"]


def test_exfiltrate_cuts_the_egress(tmp_path: Path) -> None:
    result = run_critical("exfiltrate", tmp_path / "stack")
    assert result.actions_run == {"isolate:demo-egress": 1}
    top = str(result.rca_top_cause)
    assert "bulk export" in top or "net.sent_bytes_per_s" in top, top
    assert result.fault_check["passed"] and "egress/sink maint" in result.fault_check["evidence"]
