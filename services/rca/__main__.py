"""Entry point: ``python -m services.rca``."""

from __future__ import annotations

from services.rca.app import create_app
from services.rca.settings import RcaSettings
from shared.runtime import serve


def main() -> None:
    """Load settings (env ``RCA_*`` and ``IR_CONFIG_FILE``) and serve the rca service."""
    settings = RcaSettings.load()
    assert isinstance(settings, RcaSettings)
    _, app = create_app(settings)
    serve(app, settings)


if __name__ == "__main__":
    main()
