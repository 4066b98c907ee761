"""``python -m services.recovery``: serve it with settings from env ``RECOVERY_*`` and ``IR_CONFIG_FILE``."""

from __future__ import annotations

from services.recovery.app import build
from services.recovery.settings import RecoverySettings
from shared.runtime import run_service


def main() -> None:
    """Serve the recovery service until SIGINT/SIGTERM."""
    run_service(RecoverySettings, build)


if __name__ == "__main__":
    main()
