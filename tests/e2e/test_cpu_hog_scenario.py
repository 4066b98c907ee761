"""A CPU hog in the demo service: incident, page, restart, verification, RCA naming its CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.scenario_support import run_and_check

pytestmark = pytest.mark.e2e


def test_cpu_hog_is_detected_recovered_and_explained(tmp_path: Path) -> None:
    result = run_and_check("cpu-hog", tmp_path / "stack", expect_signal=("process.cpu_percent", "cpu"))
    # The streaming detector catches it, not only the fixed 90 % rule (which needs its sustain time).
    assert any("statistical" in a["sources"] and "cpu" in a["signal"] for a in result.anomalies), result.anomalies
