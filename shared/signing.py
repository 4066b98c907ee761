"""HMAC-SHA256 signatures of webhook bodies: ``X-Signature-256: sha256=<hex>`` plus an idempotency key."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "X-Signature-256"
IDEMPOTENCY_HEADER: Final = "X-Idempotency-Key"


def sign(secret: bytes, body: bytes) -> str:
    """Return the signature header value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """Return True if ``header`` is the signature of ``body`` under ``secret`` (constant-time compare)."""
    return hmac.compare_digest(sign(secret, body), header)
