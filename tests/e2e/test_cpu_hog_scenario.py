"""A CPU hog in the demo service: incident, page, restart, verification, RCA naming its CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.scenario_support import run_and_check

pytestmark = pytest.mark.e2e


def test_cpu_hog_is_detected_recovered_and_explained(tmp_path: Path) -> None:
    run_and_check("cpu-hog", tmp_path / "stack", expect_signal=("process.cpu_percent", "cpu"))
