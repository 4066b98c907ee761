"""Shared assertions of the fault-scenario tests."""

from __future__ import annotations

from pathlib import Path

from incidentctl import scenario


def run_and_check(fault: str, root: Path, *, expect_signal: tuple[str, ...]) -> scenario.ScenarioResult:
    """Run ``fault`` on a fresh stack and assert the whole chain happened and RCA names the cause."""
    result = scenario.run(fault, root=root, timeout_s=170.0)
    assert result.ok, f"missing milestones {result.missing}: {result.to_json()}"
    times = result.seconds_after_fault
    assert times["first_anomaly"] <= times["incident_opened"] <= times["recovery_started"]
    assert times["recovery_started"] <= times["recovery_verified"]
    top = result.rca_top_cause
    assert top is not None and top["entity"].split("|")[0] == result.target, top
    assert any(s in (top["signal"] + " " + top["evidence"]) for s in expect_signal), top
    return result
