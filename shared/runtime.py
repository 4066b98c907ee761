"""Run a service: FastStream app plus liveness, readiness and Prometheus endpoints, served by uvicorn."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker
from prometheus_client import make_asgi_app

from shared.bus import EventBus, make_broker
from shared.config_file import ConfigError
from shared.settings import ServiceSettings
from shared.telemetry import ServiceMetrics

Hook = Callable[[], Awaitable[None]]
S = TypeVar("S", bound=ServiceSettings)


@dataclass
class Service:
    """What a service's handlers share: settings, broker, bus, metrics and background tasks."""

    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    bus: EventBus
    metrics: ServiceMetrics
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    def create(cls, name: str, settings: ServiceSettings) -> Service:
        """Wire broker, bus and metrics for service ``name`` (nothing connects yet)."""
        metrics = ServiceMetrics(name)
        broker = make_broker(settings, client_id=f"{name}-{settings.instance_id}")
        bus = EventBus(broker, source=f"/services/{name}", metrics=metrics, prefix=settings.topic_prefix)
        return cls(name, settings, broker, bus, metrics)

    def spawn(self, coro: Awaitable[Any], *, name: str) -> None:
        """Run a background loop whose handle is kept and cancelled at shutdown."""
        self.tasks.append(asyncio.ensure_future(coro))
        self.tasks[-1].set_name(f"{self.name}:{name}")

    async def stop_tasks(self) -> None:
        """Cancel background loops and wait for them."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()

    def asgi_app(
        self,
        *,
        after_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        routes: Sequence[tuple[str, Any]] = (),
    ) -> AsgiFastStream:
        """Build the ASGI app: the broker's subscribers plus /healthz, /readyz and /metrics."""

        @get
        async def healthz(scope: Any) -> AsgiResponse:
            return AsgiResponse(b'{"status": "alive"}', 200, headers={"content-type": "application/json"})

        @get
        async def readyz(scope: Any) -> AsgiResponse:
            ok = self.ready.is_set() and await self.broker.ping(timeout=2.0)
            body = b'{"status": "ready"}' if ok else b'{"status": "not ready"}'
            return AsgiResponse(body, 200 if ok else 503, headers={"content-type": "application/json"})

        async def mark_ready() -> None:
            self.ready.set()

        return AsgiFastStream(
            self.broker,
            asgi_routes=[
                ("/healthz", healthz),
                ("/readyz", readyz),
                ("/metrics", make_asgi_app(self.metrics.registry)),
                *routes,
            ],
            after_startup=[*after_startup, mark_ready],
            on_shutdown=[self.stop_tasks, *on_shutdown],
        )


def configure_logging(level: str) -> None:
    """Log to stderr in a compact, grep-friendly format."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)  # a line per request otherwise


def serve(app: Any, settings: ServiceSettings) -> None:
    """Serve ``app`` until SIGINT/SIGTERM."""
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_level="warning", lifespan="on", access_log=False
    )
    asyncio.run(uvicorn.Server(config).serve())


def run_service(settings_cls: type[S], build: Callable[[S], Any]) -> None:
    """Load settings (env, then ``IR_CONFIG_FILE``) and serve the app ``build`` makes until SIGINT/SIGTERM.

    A bad configuration stops the start with exit code 2 and the file, line and field at fault.
    """
    try:
        settings = settings_cls.load()
    except ConfigError as exc:
        print(f"{settings_cls.service_name}: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    serve(build(settings), settings)
