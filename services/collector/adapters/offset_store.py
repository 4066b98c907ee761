"""Shipping cursors of log files, persisted as one small JSON file written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from services.collector.domain.offsets import Cursor, FileId
from shared.files import write_private


class JsonOffsetStore:
    """Cursor per log path in ``<state_dir>/log-offsets.json``; survives collector restarts."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "log-offsets.json"
        self._cursors: dict[str, Cursor] = {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        for name, item in raw.items():
            try:
                self._cursors[name] = Cursor(FileId(int(item["device"]), int(item["inode"])), int(item["offset"]))
            except (KeyError, TypeError, ValueError):
                continue

    def get(self, log_path: Path) -> Cursor | None:
        """Return the saved cursor of ``log_path``."""
        return self._cursors.get(str(log_path))

    def save(self, log_path: Path, cursor: Cursor) -> None:
        """Record and persist the cursor of ``log_path`` (owner-only file, written then renamed)."""
        self._cursors[str(log_path)] = cursor
        data = {
            name: {"device": c.file.device, "inode": c.file.inode, "offset": c.offset}
            for name, c in self._cursors.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.path, json.dumps(data, indent=1, sort_keys=True))
