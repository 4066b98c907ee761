"""Korean reports in headless Chromium: Hangul is drawn with a real font, not boxes, and the page is Korean.

The font check draws Hangul in the report's own font stack (`tests.hangul_probe`); run once with the
machine's fonts (``fonts-noto-cjk``, installed by scripts/test.sh) and once with a fontconfig that
only knows non-CJK fonts, where the same probe must see boxes: the check can fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from services.rca.report.publish import render
from tests.browser import CHROMIUM, FLAGS, requires_chromium
from tests.hangul_probe import hangul_is_drawn, probe_page, read_result
from tests.report_example import HANGUL, realistic, text_nodes
from tests.report_shots import main as report_shots

pytestmark = pytest.mark.integration

NON_CJK_FONTS = Path("/usr/share/fonts/truetype")


def _dump_dom(tmp_path: Path, page: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True, env=env,
    )  # fmt: skip
    return done.stdout


@requires_chromium
def test_hangul_is_drawn_in_the_report_fonts_not_boxes(tmp_path: Path) -> None:
    page = tmp_path / "probe.html"
    page.write_text(probe_page(), encoding="utf-8")
    result = read_result(_dump_dom(tmp_path, page))
    assert hangul_is_drawn(result), f"Hangul renders as boxes (install fonts-noto-cjk): {result}"
    assert result["word"][1] > 2 * result["missing"][1]  # three full-width syllables, not three narrow boxes


@requires_chromium
@pytest.mark.skipif(not NON_CJK_FONTS.is_dir(), reason="no non-CJK font folder to build a font-poor config from")
def test_the_probe_sees_boxes_where_no_cjk_font_is_installed(tmp_path: Path) -> None:
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{NON_CJK_FONTS}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    page = tmp_path / "probe.html"
    page.write_text(probe_page(), encoding="utf-8")
    result = read_result(_dump_dom(tmp_path, page, env={**os.environ, "FONTCONFIG_FILE": str(config)}))
    assert not hangul_is_drawn(result), result
    assert result["ga"] == result["hih"] == result["missing"]


@requires_chromium
def test_ko_report_in_chromium_is_korean_in_most_text_nodes(tmp_path: Path) -> None:
    page = tmp_path / "report.ko.html"
    page.write_text(render(realistic(), "html", "ko"), encoding="utf-8")
    nodes = text_nodes(_dump_dom(tmp_path, page))
    korean = [n for n in nodes if HANGUL.search(n)]
    assert len(nodes) > 60 and len(korean) / len(nodes) >= 0.8, [n for n in nodes if not HANGUL.search(n)]


@requires_chromium
def test_report_shots_saves_both_languages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_shots([str(tmp_path / "shots")]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["example.en.png", "example.ko.png"]
    for path in printed:
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
