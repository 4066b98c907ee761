"""``python -m services.responder``: serve it with settings from env ``RESPONDER_*`` and ``IR_CONFIG_FILE``."""

from __future__ import annotations

from services.responder.app import build
from services.responder.settings import ResponderSettings
from shared.runtime import run_service


def main() -> None:
    """Serve the responder (core, API and console) until SIGINT/SIGTERM."""
    run_service(ResponderSettings, build)


if __name__ == "__main__":
    main()
