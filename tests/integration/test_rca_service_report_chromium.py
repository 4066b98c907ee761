"""The HTML incident report in headless Chromium (Debian's ``chromium``): it renders, charts included."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from services.rca.report.publish import render
from tests.browser import CHROMIUM, FLAGS, requires_chromium
from tests.unit.report.test_report import report

pytestmark = pytest.mark.integration

WINDOW = "--window-size=1000,2600"


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "profile"
    done = subprocess.run(
        [CHROMIUM or "chromium", *FLAGS, WINDOW, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


@requires_chromium
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_report_renders_with_charts(tmp_path: Path, lang: str) -> None:
    page = tmp_path / f"report.{lang}.html"
    page.write_text(render(report(), "html", lang), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.count("<svg") >= 3 and "<polyline" in dom and 'class="impact"' in dom
    assert 'id="improvements"' in dom and "demo|process.cpu_percent" in dom
    shot = tmp_path / f"report.{lang}.png"
    chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
