"""Screenshots of incident reports in headless Chromium, English and Korean side by side.

    .venv/bin/python -m tests.report_shots /tmp/report-shots              # the example incident
    .venv/bin/python -m tests.report_shots /tmp/report-shots .stack/reports  # the stack's real reports

Writes ``<name>.html`` and ``<name>.png`` per report and language into the folder (PNGs are never
committed), and prints each PNG's path. Real reports are the ``*.en.html`` / ``*.ko.html`` files the
rca service writes side by side.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

from services.rca.report.publish import LANGUAGES, render
from tests.browser import CHROMIUM, FLAGS

WINDOW: Final = "--window-size=1100,6400"


def screenshot(page: Path, png: Path, *, profile: Path) -> Path:
    """Render ``page`` in headless Chromium and save it as ``png``."""
    if CHROMIUM is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", WINDOW, f"--screenshot={png}", page.resolve().as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return png


def example_pages(out: Path) -> list[Path]:
    """Write the example incident's report in every language as HTML into ``out``."""
    from tests.report_example import realistic

    report = realistic()
    pages = []
    for lang in LANGUAGES:
        page = out / f"example.{lang}.html"
        page.write_text(render(report, "html", lang), encoding="utf-8")
        pages.append(page)
    return pages


def copied_pages(source: Path, out: Path) -> list[Path]:
    """Copy the reports found in ``source`` (``*.en.html``, ``*.ko.html``) into ``out``."""
    pages = []
    for lang in LANGUAGES:
        for found in sorted(source.glob(f"*.{lang}.html")):
            pages.append(Path(shutil.copyfile(found, out / found.name)))
    return pages


def main(argv: list[str]) -> int:
    """Save screenshots; return the exit status."""
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    pages = copied_pages(Path(argv[1]), out) if len(argv) == 2 else example_pages(out)
    if not pages:
        print(f"no *.en.html or *.ko.html report in {argv[1]}", file=sys.stderr)
        return 1
    for page in pages:
        print(screenshot(page, page.with_suffix(".png"), profile=out / ".chromium-profile"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
