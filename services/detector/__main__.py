"""Entry point: ``python -m services.detector`` (env ``DETECTOR_*`` and the YAML file of ``IR_CONFIG_FILE``)."""

from __future__ import annotations

import logging
import sys

from services.detector.app import create_app
from services.detector.settings import DetectorSettings
from shared.config_file import ConfigError
from shared.runtime import serve


def main() -> None:
    """Load settings and serve the detector until SIGINT/SIGTERM."""
    try:
        settings = DetectorSettings.load()
    except ConfigError as exc:
        print(f"detector: bad configuration:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    assert isinstance(settings, DetectorSettings)
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)  # one line per log poll otherwise
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
