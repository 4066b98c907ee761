"""Bearer-token guard for mutations (and optionally reads): constant-time comparison, token never logged."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

_BEARER = HTTPBearer(auto_error=False, description="the responder's API token (RESPONDER_API_TOKEN)")

Guard = Callable[..., Awaitable[None]]


def token_matches(presented: str, expected: SecretStr) -> bool:
    """Compare a presented token with the expected one in constant time."""
    return hmac.compare_digest(presented.encode(), expected.get_secret_value().encode())


def token_guard(expected: SecretStr | None, *, on_failure: Callable[[], None] = lambda: None) -> Guard:
    """Return a FastAPI dependency that admits only requests bearing ``expected``."""

    async def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> None:
        if expected is None or not expected.get_secret_value():
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "this endpoint is disabled: no API token is configured (set RESPONDER_API_TOKEN)",
            )
        if credentials is None or not token_matches(credentials.credentials, expected):
            on_failure()
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong bearer token (send 'Authorization: Bearer <token>')",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard


async def open_access() -> None:
    """Admit every request (reads, unless ``read_auth`` is set)."""
