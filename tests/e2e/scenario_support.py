"""Shared assertions of the fault-scenario tests."""

from __future__ import annotations

from pathlib import Path

from incidentctl import scenario
from tests.browser import CHROMIUM, run_chromium


def run_and_check(fault: str, root: Path, *, expect_signal: tuple[str, ...]) -> scenario.ScenarioResult:
    """Run ``fault`` on a fresh stack; assert the whole chain, that RCA names the cause, and the report."""
    result = scenario.run(fault, root=root, timeout_s=170.0)
    assert result.ok, f"missing milestones {result.missing}: {result.to_json()}"
    times = result.seconds_after_fault
    assert times["first_anomaly"] <= times["incident_opened"] <= times["recovery_started"]
    assert times["recovery_started"] <= times["recovery_verified"]
    top = result.rca_top_cause
    assert top is not None and top["entity"].split("|")[0] == result.target, top
    assert any(s in (top["signal"] + " " + top["evidence"]) for s in expect_signal), top
    check_report(result, root)
    return result


def check_report(result: scenario.ScenarioResult, root: Path) -> None:
    """The incident's report exists in Markdown and HTML, and the HTML renders with its charts."""
    assert result.report_path is not None, result.to_json()
    md = Path(result.report_path).with_suffix(".md")
    html = md.with_suffix(".html")
    text = md.read_text(encoding="utf-8")
    assert result.incident_id in text and "## Root-cause ranking" in text and "## Timeline" in text
    assert "chaos.fault_injected" in text and "recovery.verified" in text
    if CHROMIUM is not None:
        dom = run_chromium(root, "--dump-dom", html.as_uri())
        assert dom.count("<svg") >= 2 and "<polyline" in dom and result.incident_id in dom
