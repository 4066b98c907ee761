"""``python -m services.detector``: serve it with settings from env ``DETECTOR_*`` and ``IR_CONFIG_FILE``."""

from __future__ import annotations

from services.detector.app import build
from services.detector.settings import DetectorSettings
from shared.runtime import run_service


def main() -> None:
    """Serve the detector until SIGINT/SIGTERM."""
    run_service(DetectorSettings, build)


if __name__ == "__main__":
    main()
