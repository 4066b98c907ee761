"""Who may call what: bearer tokens for reads and mutations, compared in constant time, never logged.

Two kinds of token: the API token (``RESPONDER_API_TOKEN``) may read and mutate; the read-only
token (``RESPONDER_API_READ_TOKEN``) may only read. Reads need one of them unless ``open_reads`` is
set explicitly. The checks run in `services.responder.api.gate` before a request body is read.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, SecretStr

from services.responder.api.settings import ApiSettings

BEARER = HTTPBearer(
    auto_error=False,
    description="RESPONDER_API_TOKEN (reads and mutations) or RESPONDER_API_READ_TOKEN (reads only)",
)
"""The security scheme the OpenAPI document declares (the gate enforces it)."""

Guard = Callable[..., Awaitable[None]]


async def bearer(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
    """Route dependency that declares the bearer scheme in the OpenAPI document (`ApiGate` checks it)."""


class ErrorBody(BaseModel):
    """An error answer: what went wrong, in one line."""

    detail: str
    message: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "unknown incident, silence or report"},
    413: {"model": ErrorBody, "description": "request body over the configured limit (max_body_bytes)"},
    429: {
        "model": ErrorBody,
        "description": "too many failed authentications from this client",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    },
    503: {"model": ErrorBody, "description": "no token configured for this endpoint, or the event bus is down"},
}
"""Error answers every ``/api`` route may give (the OpenAPI document lists them)."""


class Access(StrEnum):
    """What a request needs."""

    READ = "read"
    WRITE = "write"


class Verdict(StrEnum):
    """The outcome of checking a request's token."""

    ADMITTED = "admitted"
    DENIED = "denied"
    DISABLED = "disabled"


CHAT_PREFIX = "/api/chat/"
"""Chat tools call these routes without a bearer token: each request carries its own signature."""


def required_access(method: str, path: str) -> Access | None:
    """Return what a request needs: API reads and mutations are guarded, pages, health and chat are open.

    Chat routes (``/api/chat/``) verify a Slack signature or a callback token themselves.
    """
    if not (path == "/api" or path.startswith("/api/")):
        return None
    if path.startswith(CHAT_PREFIX):  # signed by Slack or by a callback token, checked by the route
        return None
    return Access.READ if method.upper() in ("GET", "HEAD") else Access.WRITE


def token_matches(presented: str, expected: SecretStr | None) -> bool:
    """Compare a presented token with an expected one in constant time (an unset token never matches)."""
    if expected is None or not expected.get_secret_value():
        return False
    return hmac.compare_digest(presented.encode(), expected.get_secret_value().encode())


def bearer_of(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def check(settings: ApiSettings, access: Access, authorization: str | None) -> Verdict:
    """Decide whether a request with this ``Authorization`` header gets ``access``."""
    if access is Access.READ and settings.open_reads:
        return Verdict.ADMITTED
    accepted = [settings.token] if access is Access.WRITE else [settings.token, settings.read_token]
    if not any(t is not None and t.get_secret_value() for t in accepted):
        return Verdict.DISABLED
    presented = bearer_of(authorization)
    if presented is not None and any([token_matches(presented, t) for t in accepted]):  # no short-circuit
        return Verdict.ADMITTED
    return Verdict.DENIED


def disabled_reason(access: Access) -> str:
    """Explain a disabled endpoint."""
    if access is Access.WRITE:
        return "this endpoint is disabled: no API token is configured (set RESPONDER_API_TOKEN)"
    return (
        "reads are disabled: no token is configured (set RESPONDER_API_TOKEN or RESPONDER_API_READ_TOKEN, "
        "or open reads explicitly with RESPONDER_API_OPEN_READS=true)"
    )
