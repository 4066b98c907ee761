"""The API's front door (ASGI middleware): body size, failed-authentication throttle and tokens, in that order.

Everything here runs before FastAPI reads or parses a body: a request over ``max_body_bytes`` is
answered 413 from its ``Content-Length`` (or, when chunked, as soon as the bytes read exceed it),
a client that failed authentication too often gets 429 with ``Retry-After``, and a request without
the token its route needs gets 401 (503 if no token is configured for it).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from services.responder.api.auth import Verdict, check, disabled_reason, required_access
from services.responder.api.settings import ApiSettings
from services.responder.api.throttle import FailureThrottle

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApiGate:
    """Wraps the FastAPI app; ``on_failure`` counts refused tokens, ``clock`` is monotonic seconds."""

    def __init__(
        self,
        app: App,
        *,
        settings: ApiSettings,
        on_failure: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.settings = settings
        self.on_failure = on_failure
        self.clock = clock
        self.throttle = FailureThrottle(
            max_failures=settings.auth_max_failures, window_s=settings.auth_window_s, block_s=settings.auth_block_s
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        limit = self.settings.max_body_bytes
        length = headers.get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            await _answer(send, 413, f"request body over {limit} bytes")
            return
        access = required_access(scope.get("method", "GET"), scope.get("path", ""))
        if access is not None:
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.throttle.retry_after(client, self.clock())
            if wait is not None:
                retry = {"Retry-After": str(math.ceil(wait))}
                await _answer(send, 429, "too many failed authentications; retry later", retry)
                return
            verdict = check(self.settings, access, headers.get("authorization"))
            if verdict is Verdict.DISABLED:
                await _answer(send, 503, disabled_reason(access))
                return
            if verdict is Verdict.DENIED:
                self.on_failure()
                self.throttle.failed(client, self.clock())
                message = "missing or wrong bearer token (send 'Authorization: Bearer <token>')"
                await _answer(send, 401, message, {"WWW-Authenticate": "Bearer"})
                return
        if length is None and scope.get("method", "GET").upper() not in ("GET", "HEAD", "OPTIONS"):
            body = await _read_bounded(receive, limit)  # chunked: count the bytes before anything parses them
            if body is None:
                await _answer(send, 413, f"request body over {limit} bytes")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


async def _read_bounded(receive: Receive, limit: int) -> bytes | None:
    """Read a whole request body; return None as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return ``receive`` that yields ``body`` once, then defers to the original (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail, "message": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
