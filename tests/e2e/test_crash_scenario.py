"""The demo service crashes: critical incident, page, restart, verification, RCA naming the exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.scenario_support import run_and_check

pytestmark = pytest.mark.e2e


def test_crash_is_detected_recovered_and_explained(tmp_path: Path) -> None:
    result = run_and_check("crash", tmp_path / "stack", expect_signal=("process.up", "http.up", "exit", "down"))
    assert result.severity == "critical"
