"""``python -m services.collector``: run the collector with settings from env and ``IR_CONFIG_FILE``."""

from __future__ import annotations

import sys

from services.collector.app import create_app
from services.collector.settings import CollectorSettings
from shared.config_file import ConfigError
from shared.runtime import serve


def main() -> None:
    """Load settings and serve until SIGINT/SIGTERM."""
    try:
        settings = CollectorSettings.load()
    except ConfigError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    assert isinstance(settings, CollectorSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
