"""Entry point: ``python -m services.recovery``."""

from __future__ import annotations

from services.recovery.app import create_app
from services.recovery.settings import RecoverySettings
from shared.runtime import serve


def main() -> None:
    """Load settings (env ``RECOVERY_*`` and ``IR_CONFIG_FILE``) and serve the recovery service."""
    settings = RecoverySettings.load()
    assert isinstance(settings, RecoverySettings)
    _, app = create_app(settings)
    serve(app, settings)


if __name__ == "__main__":
    main()
