"""An error burst in the demo service: a log anomaly with the right template and samples, RCA naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.scenario_support import run_and_check

pytestmark = pytest.mark.e2e
TEMPLATE_WORDS = "Payment backend unavailable"


def test_error_burst_is_detected_from_logs_recovered_and_explained(tmp_path: Path) -> None:
    result = run_and_check("error-burst", tmp_path / "stack", expect_signal=(TEMPLATE_WORDS,))
    logs = [a for a in result.anomalies if a["kind"] == "log_pattern" and TEMPLATE_WORDS in a["summary"]]
    assert logs, result.anomalies
    assert any(TEMPLATE_WORDS in sample and "Traceback" in sample for a in logs for sample in a["samples"]), logs
    assert result.rca_top_cause is not None and result.rca_top_cause["signal"].startswith("log:")
