"""Operational endpoints (health, readiness, Prometheus metrics) and the web console's page."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import HTMLResponse
from prometheus_client.exposition import choose_encoder

from services.responder.api.deps import ApiDeps
from shared.asyncapi import render as render_asyncapi

STATIC_DIR: Final = Path(__file__).parent / "static"
CONSOLE_CSP: Final = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"


def ops_router(deps: ApiDeps) -> APIRouter:
    """Return /healthz, /readyz, /status, /metrics and /asyncapi.json."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", responses={503: {"description": "a consumer is stuck"}})
    async def healthz(response: Response) -> dict[str, str]:
        """Liveness: the process answers and no consumer is stuck."""
        if deps.is_alive():
            return {"status": "alive"}
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "stalled"}

    @router.get("/status")
    async def service_status() -> dict[str, Any]:
        """Instance, readiness, consumers (partitions, lag, time since the last fetch), last event handled."""
        return deps.status()

    @router.get("/readyz", responses={503: {"description": "not ready"}})
    async def readyz(response: Response) -> dict[str, str]:
        """Readiness: the broker answers and the read model has replayed the topics."""
        if await deps.is_ready():
            return {"status": "ready"}
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "not ready"}

    @router.get("/metrics", response_class=Response)
    async def metrics(accept: Annotated[str, Header()] = "") -> Response:
        """Prometheus metrics of the service (bus counters and the API's own); OpenMetrics if ``Accept`` asks."""
        encode, content_type = choose_encoder(accept)
        return Response(encode(deps.registry), media_type=content_type)

    asyncapi = render_asyncapi().encode()  # generated once, from the same code as docs/asyncapi.json

    @router.get("/asyncapi.json", response_class=Response, include_in_schema=False)
    async def asyncapi_document() -> Response:
        """The AsyncAPI 3.0 document of every topic (the event interface, beside /openapi.json for HTTP)."""
        return Response(asyncapi, media_type="application/json")

    return router


def console_router(deps: ApiDeps) -> APIRouter:
    """Return the console page at ``/`` (its script and styles are served from ``/console/``)."""
    router = APIRouter(include_in_schema=False)
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    config = {"pollMs": deps.settings.poll_interval_ms, "title": deps.settings.console_title}
    page = (
        template.replace("{{lang}}", html.escape(deps.settings.language, quote=True))
        .replace("{{title}}", html.escape(deps.settings.console_title))
        .replace("{{config}}", html.escape(json.dumps(config), quote=True))
    )

    @router.get("/", response_class=HTMLResponse)
    async def console() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": CONSOLE_CSP, "Cache-Control": "no-cache"})

    return router
