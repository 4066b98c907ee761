"""Build the API: ``create_api`` wires it to a running service; ``build_api`` takes injected dependencies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from services.responder.api.auth import ERROR_RESPONSES, bearer
from services.responder.api.chat_routes import chat_router
from services.responder.api.console_routes import STATIC_DIR, console_router, ops_router
from services.responder.api.deps import ApiDeps
from services.responder.api.feed import ProjectionFeed
from services.responder.api.gate import ApiGate
from services.responder.api.incident_routes import incident_router
from services.responder.api.oncall_routes import oncall_router
from services.responder.api.projection import DEFAULT_TARGETS, Projection
from services.responder.api.settings import ApiSettings
from services.responder.api.silence_routes import alertmanager_router, silence_router
from services.responder.api.status_routes import status_router
from services.responder.domain.oncall import Roster
from services.responder.domain.windows import MaintenanceWindow
from shared.events import Event
from shared.runtime import Runtime, Service

DESCRIPTION = """Incidents, their timelines, operator commands, silences and Alertmanager ingest.

Reads need `Authorization: Bearer <token>` with RESPONDER_API_TOKEN or the read-only RESPONDER_API_READ_TOKEN
(unless `open_reads` is set); mutations need RESPONDER_API_TOKEN. Bodies over `max_body_bytes` are refused
(413) before they are read; a client failing authentication too often is refused (429, `Retry-After`).
Mutations publish commands; the responder applies them and the result shows in the incident's timeline."""


def build_api(deps: ApiDeps, *, lifespan: Any = None) -> FastAPI:
    """Return the FastAPI app over ``deps`` (no I/O besides what ``lifespan`` starts)."""
    app = FastAPI(title="incidentctl responder API", version="1", description=DESCRIPTION, lifespan=lifespan)
    read = write = bearer
    app.include_router(incident_router(deps, read=read, write=write), responses=ERROR_RESPONSES)
    app.include_router(silence_router(deps, read=read, write=write), responses=ERROR_RESPONSES)
    app.include_router(alertmanager_router(deps, write=write), responses=ERROR_RESPONSES)
    app.include_router(oncall_router(deps, read=read, write=write), responses=ERROR_RESPONSES)
    app.include_router(chat_router(deps), responses=ERROR_RESPONSES)
    app.include_router(ops_router(deps))
    app.include_router(status_router(deps))
    app.include_router(console_router(deps))
    app.mount("/console", StaticFiles(directory=STATIC_DIR), name="console")
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(
        ApiGate,
        settings=deps.settings,
        on_failure=deps.auth_failures.inc,
        clock=lambda: deps.clock().timestamp(),
    )
    app.state.deps = deps
    return app


def create_api(
    service: Service,
    settings: ApiSettings,
    *,
    runtime: Runtime | None = None,
    roster: Callable[[], Roster] = Roster,
    windows: Callable[[], Sequence[MaintenanceWindow]] = tuple,
) -> FastAPI:
    """Return the responder's HTTP app: API, console, Alertmanager ingest, health and metrics.

    Serve the returned app (``shared.runtime.serve(app, settings)``); its lifespan:

    * starts ``runtime`` when given (the responder's, from ``services.responder.app.build``: it
      connects the broker, rebuilds, consumes and marks the service ready) and stops it at the end.
      Without ``runtime`` the API starts (and stops) ``service.broker`` itself unless it is running.
    * then follows the timeline topics into the read model (``ProjectionFeed``) in the background.

    ``/readyz`` answers 200 once the service is ready and the read model has caught up. Mutations
    publish through ``service.bus`` (commands keyed by incident id, silences by silence id, anomalies
    by target), so the broker must be started by one of the two ways above. ``roster`` gives the
    on-call roster the on-call endpoints read (the responder's, which folds the schedules put here);
    ``windows`` the configured maintenance windows.
    """
    projection = Projection(
        chaos_lookback=timedelta(seconds=settings.chaos_lookback_s),
        max_events_per_anomaly=settings.max_events_per_anomaly,
        response_targets_s=settings.response_targets_s or dict(DEFAULT_TARGETS),
        language=settings.language,
    )
    feed = ProjectionFeed(service.settings, projection, registry=service.metrics.registry)

    async def publish(event: Event, key: str) -> bool:
        return await service.bus.publish(event, key=key)

    async def is_ready() -> bool:
        return service.is_ready() and feed.caught_up.is_set() and await service.broker.ping(timeout=2.0)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if runtime is not None:
                await runtime.start()
                stack.push_async_callback(runtime.stop)
            elif not service.broker.running:
                await service.start()
                stack.push_async_callback(service.stop)
                service.ready.set()
            task = asyncio.create_task(feed.run(), name="responder-api:projection-feed")
            stack.push_async_callback(_cancel, task)
            yield

    deps = ApiDeps(
        settings=settings,
        projection=projection,
        publish=publish,
        registry=service.metrics.registry,
        is_ready=is_ready,
        is_alive=service.is_alive,
        status=service.status,
        roster=roster,
        windows=windows,
    )
    app = build_api(deps, lifespan=lifespan)
    app.state.feed = feed
    return app


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's error list plus one readable line naming each bad field."""
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ())) or '(body)'}: {e.get('msg', 'invalid')}" for e in errors[:5]]
    body = {"message": "invalid request: " + "; ".join(parts), "detail": _jsonable(errors)}
    return JSONResponse(body, status_code=422)


def _jsonable(errors: Any) -> Any:
    return jsonable_encoder([{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in errors])
