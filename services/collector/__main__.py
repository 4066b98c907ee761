"""``python -m services.collector``: serve it with settings from env ``COLLECTOR_*`` and ``IR_CONFIG_FILE``."""

from __future__ import annotations

from services.collector.app import build
from services.collector.settings import CollectorSettings
from shared.runtime import run_service


def main() -> None:
    """Serve the collector until SIGINT/SIGTERM."""
    run_service(CollectorSettings, build)


if __name__ == "__main__":
    main()
