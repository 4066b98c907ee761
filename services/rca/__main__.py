"""``python -m services.rca``: serve it with settings from env ``RCA_*`` and ``IR_CONFIG_FILE``."""

from __future__ import annotations

from services.rca.app import build
from services.rca.settings import RcaSettings
from shared.runtime import run_service


def main() -> None:
    """Serve the rca service until SIGINT/SIGTERM."""
    run_service(RcaSettings, build)


if __name__ == "__main__":
    main()
