"""The demo service turns slow: degradation caught against its baseline, restart, RCA naming its latency."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.scenario_support import run_and_check

pytestmark = pytest.mark.e2e


def test_slow_is_detected_recovered_and_explained(tmp_path: Path) -> None:
    result = run_and_check("slow", tmp_path / "stack", expect_signal=("latency",))
    # severe degradation; the restart's moment down is not paged as critical
    assert result.severity == "major", result.severity_changes
    assert any(a["kind"] in ("degradation", "statistical") and "latency" in a["signal"] for a in result.anomalies)
