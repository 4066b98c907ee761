"""Deterministic identifiers: the same input always yields the same id, so replays are idempotent."""

from __future__ import annotations

import hashlib
import uuid
from typing import Final

NAMESPACE: Final = uuid.UUID("6f1c2a52-3d1e-5b8a-9a41-0c5e2f7d4b10")
EXTERNAL_ANOMALY_PREFIX: Final = "am"
"""Prefix of the ids of anomalies reported from outside (Alertmanager), as opposed to the detector's."""


_NAMESPACE_BYTES: Final = NAMESPACE.bytes


def derive_id(*parts: object) -> str:
    """Return a stable UUIDv5 string derived from the given parts.

    ``str(uuid.uuid5(NAMESPACE, name))`` computed without building a ``UUID`` (this runs for every event emitted).
    """
    name = "\x1f".join([str(p) for p in parts])
    raw = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def short_id(prefix: str, *parts: object, length: int = 12) -> str:
    """Return a readable stable id such as ``inc-3f2a9c0d1b7e``."""
    return f"{prefix}-{derive_id(*parts).replace('-', '')[:length]}"
