"""``python -m services.responder``: run the responder (core, API and console) until SIGINT/SIGTERM."""

from __future__ import annotations

from services.responder.app import create_app
from services.responder.settings import ResponderSettings
from shared.runtime import serve


def main() -> None:
    """Load settings (env, then ``IR_CONFIG_FILE``) and serve the responder."""
    settings = ResponderSettings.load()
    assert isinstance(settings, ResponderSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
