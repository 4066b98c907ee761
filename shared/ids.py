"""Deterministic identifiers: the same input always yields the same id, so replays are idempotent."""

from __future__ import annotations

import uuid
from typing import Final

NAMESPACE: Final = uuid.UUID("6f1c2a52-3d1e-5b8a-9a41-0c5e2f7d4b10")
EXTERNAL_ANOMALY_PREFIX: Final = "am"
"""Prefix of the ids of anomalies reported from outside (Alertmanager), as opposed to the detector's."""


def derive_id(*parts: object) -> str:
    """Return a stable UUIDv5 string derived from the given parts."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


def short_id(prefix: str, *parts: object, length: int = 12) -> str:
    """Return a readable stable id such as ``inc-3f2a9c0d1b7e``."""
    return f"{prefix}-{derive_id(*parts).replace('-', '')[:length]}"
