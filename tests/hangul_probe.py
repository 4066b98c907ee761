"""A page that tells whether Chromium draws Hangul in the report's fonts or falls back to empty boxes.

The page draws, in the report's own font stack, two different Hangul syllables and a code point no
font has (U+0378, unassigned: always the "missing glyph" box) onto a canvas, and writes a hash of
each drawing's pixels and its width into the page. Without a CJK font every Hangul syllable is the
same box as U+0378: equal hashes. With one, the syllables differ from each other and from the box.
"""

from __future__ import annotations

import json
import re
from typing import Final

from services.rca.report.render_html import STYLE

GLYPHS: Final = {"ga": "\uac00", "hih": "\ud7a3", "word": "\ud55c\uad6d\uc5b4", "missing": "\u0378"}


def report_font_family() -> str:
    """The ``font-family`` of the report's body."""
    found = re.search(r"body\{font-family:([^;]+);", STYLE.replace("\n", ""))
    assert found, "the report's stylesheet no longer sets body{font-family:...}"
    return found.group(1)


def probe_page() -> str:
    """The probe: a script draws each glyph and writes ``{name: [hash, width]}`` into ``<pre id=result>``."""
    font = json.dumps(f"48px {report_font_family()}")
    glyphs = json.dumps(GLYPHS)
    return f"""<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>hangul probe</title></head>
<body><pre id="result">pending</pre><script>
const glyphs = {glyphs}, out = {{}};
for (const [name, text] of Object.entries(glyphs)) {{
  const canvas = document.createElement("canvas"); canvas.width = 200; canvas.height = 80;
  const ctx = canvas.getContext("2d"); ctx.font = {font}; ctx.fillStyle = "#000"; ctx.fillText(text, 10, 60);
  const data = ctx.getImageData(0, 0, 200, 80).data; let h = 2166136261;
  for (let i = 3; i < data.length; i += 4) {{ h ^= data[i]; h = Math.imul(h, 16777619) >>> 0; }}
  out[name] = [h, Math.round(ctx.measureText(text).width * 100) / 100];
}}
document.getElementById("result").textContent = JSON.stringify(out);
</script></body></html>"""


def read_result(dom: str) -> dict[str, list[float]]:
    """The probe's result from Chromium's dumped DOM."""
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", dom[:500]
    result: dict[str, list[float]] = json.loads(found.group(1).replace("&quot;", '"'))
    return result


def hangul_is_drawn(result: dict[str, list[float]]) -> bool:
    """True when two Hangul syllables draw differently from each other and from the missing-glyph box."""
    ga, hih, missing = result["ga"][0], result["hih"][0], result["missing"][0]
    return ga != hih and ga != missing and hih != missing


__all__ = ["hangul_is_drawn", "probe_page", "read_result", "report_font_family"]
