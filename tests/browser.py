"""Headless Chromium for browser checks: where it is, the flags this machine needs, when to skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest

CHROMIUM: Final = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER: Final = shutil.which("chromedriver")
FLAGS: Final = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)  # fmt: skip
"""Without the background-networking flags Chromium keeps dialling Google on a closed network."""

# CI sets IR_REQUIRE_BROWSER=1: there a missing browser fails the checks instead of skipping them.
_OPTIONAL: Final = os.environ.get("IR_REQUIRE_BROWSER", "") != "1"
requires_chromium: Final = pytest.mark.skipif(
    _OPTIONAL and CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
requires_chromedriver: Final = pytest.mark.skipif(
    _OPTIONAL and (CHROMIUM is None or CHROMEDRIVER is None), reason="needs chromium and chromium-driver"
)


def run_chromium(profile_dir: Path, *args: str) -> str:
    """Run headless Chromium once with a fresh profile under ``profile_dir``; return its stdout."""
    done = subprocess.run(
        [CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile_dir / 'chromium-profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout
