"""The HTML incident report in headless Chromium (Debian's ``chromium``): it renders, charts included."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.rca.report.publish import render
from tests.browser import requires_chromium, run_chromium
from tests.unit.services.rca.report.test_report import report

pytestmark = pytest.mark.integration

WINDOW = "--window-size=1000,2600"


@requires_chromium
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_report_renders_with_charts(tmp_path: Path, lang: str) -> None:
    page = tmp_path / f"report.{lang}.html"
    page.write_text(render(report(), "html", lang), encoding="utf-8")
    dom = run_chromium(tmp_path, WINDOW, "--dump-dom", page.as_uri())
    assert dom.count("<svg") >= 3 and "<polyline" in dom and 'class="impact"' in dom
    assert 'id="improvements"' in dom and "demo|process.cpu_percent" in dom
    shot = tmp_path / f"report.{lang}.png"
    run_chromium(tmp_path, WINDOW, f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
