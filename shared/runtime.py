"""Run a service: one `Runtime` per service, served with liveness, readiness and Prometheus endpoints by uvicorn.

Every service's composition root (``services/<svc>/app.py``) has one function,
``build(settings, **adapters) -> Runtime``: it wires the service and connects nothing. ``start`` and
``stop`` are the whole lifecycle; ``asgi_app`` is the HTTP app that runs them as its lifespan, and
`run_service` serves it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TypeVar

import uvicorn
from faststream.asgi import AsgiResponse, get
from faststream.asgi.types import ASGIApp, Receive, Scope, Send
from faststream.kafka import KafkaBroker
from prometheus_client import make_asgi_app

from shared.broker import make_broker
from shared.bus import EventBus
from shared.config_file import ConfigError
from shared.consumer import MemberConfig
from shared.heartbeat import heartbeat_event, publish_heartbeats, say_goodbye, service_status
from shared.outage import resend_after_outage
from shared.settings import ServiceSettings
from shared.stopping import cancel_and_wait
from shared.task_dump import dump_tasks_on_signal
from shared.telemetry import ServiceMetrics
from shared.text import CleanLogArgs

log = logging.getLogger(__name__)
Hook = Callable[[], Awaitable[None]]
GC_THRESHOLDS: Final = (100_000, 10, 100)


def settle_heap() -> None:
    """Keep the cyclic garbage collector off the hot path of a long-running consumer.

    Python's default (a full collection every ~70,000 net allocations, each one walking every
    live object) cost a detector holding thousands of targets half its time: parsing an event
    took 80 us instead of 21 (bench/bench_service_throughput.py). Objects that exist at start
    are frozen out of collections and full collections are a hundred times rarer. A young
    collection waits for 100,000 net allocations, more than one fetched batch of 500 events makes
    (about 100 tracked objects per scrape), so a batch's objects are mostly freed before a young
    collection would walk them and promote them for the next generation to walk again: at 10,000,
    the detector's admission of a scrape cost 31-36 us instead of 22-24 (same machine, same minute).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


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
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    beats: int = 0

    @classmethod
    def create(cls, name: str, settings: ServiceSettings) -> Service:
        """Wire broker, bus and metrics for service ``name`` (nothing connects yet)."""
        metrics = ServiceMetrics(name)
        client_id = f"{name}-{settings.instance_id}"
        broker = make_broker(settings, client_id=client_id)
        members = MemberConfig(join_timeout_s=settings.join_timeout_s, session_timeout_ms=settings.session_timeout_ms)
        bus = EventBus(
            broker, source=f"/services/{name}", metrics=metrics, settings=settings, client_id=client_id,
            member_config=members,
        )  # fmt: skip
        return cls(name, settings, broker, bus, metrics)

    async def start(self) -> None:
        """Connect, start consuming (joins go on in the background) and send heartbeats."""
        await self.broker.start()
        await self.start_consuming()

    async def start_consuming(self) -> None:
        """Start the bus's consumers and the heartbeat loop (the broker is already connected)."""
        settle_heap()
        dump_tasks_on_signal()
        self.started_at = datetime.now(UTC)
        await self.bus.start_consumers()
        self.spawn(publish_heartbeats(self), name="heartbeat")
        self.spawn(resend_after_outage(self), name="resend-after-outage")

    async def stop(self, *, before_disconnect: Sequence[Hook] = ()) -> None:
        """Stop background loops and consumers (leaving their groups), run ``before_disconnect``, disconnect."""
        self.ready.clear()
        await say_goodbye(self)
        await self.stop_tasks()
        await self.bus.stop_consumers()
        for hook in before_disconnect:
            await hook()
        await self.broker.stop()

    def is_ready(self) -> bool:
        """Started, and every consumer has joined its group."""
        return self.ready.is_set() and all(m.progress.joined for m in self.bus.members)

    def is_alive(self) -> bool:
        """No consumer has been stuck (no fetch returned, or never joined) longer than ``stall_after_s``."""
        now = time.monotonic()
        return all(m.progress.stalled_for(now) <= self.settings.stall_after_s for m in self.bus.members)

    def status(self) -> dict[str, Any]:
        """What ``/status`` and ``incidentctl status`` show: the next heartbeat, as JSON."""
        return service_status(self, heartbeat_event(self, sequence=0).data)

    def spawn(self, coro: Awaitable[Any], *, name: str) -> None:
        """Run a background loop whose handle is kept and cancelled at shutdown."""
        self.tasks.append(asyncio.ensure_future(coro))
        self.tasks[-1].set_name(f"{self.name}:{name}")

    async def stop_tasks(self) -> None:
        """Cancel background loops and wait for them (at most ``STOP_WAIT_S``: see ``cancel_and_wait``)."""
        tasks, self.tasks = self.tasks, []
        await cancel_and_wait(tasks)


class Runtime(Protocol):
    """A wired service, as its ``build(settings, **adapters)`` returns it; nothing connects before ``start``."""

    service: Service

    async def rebuild(self) -> int:
        """Rebuild the service's state from the topics (``start`` does it); return the events applied (0: none)."""
        ...

    async def start(self) -> None:
        """Rebuild, connect, consume and start the background loops; the service is ready when this returns."""
        ...

    async def stop(self) -> None:
        """Stop the loops and consumers, close what ``build`` opened, disconnect."""
        ...

    def asgi_app(self) -> ASGIApp:
        """The HTTP app to serve: its lifespan runs ``start`` and ``stop``; it answers /healthz, /readyz, /metrics."""
        ...


JSON_TYPE: Final = {"content-type": "application/json"}
NOT_FOUND: Final = b"Application doesn't support regular HTTP protocol."


def runtime_app(runtime: Runtime) -> ASGIApp:
    """Serve ``runtime``: the app's lifespan starts and stops it; /healthz, /readyz, /status and /metrics.

    Paths match exactly; anything else is a 404.
    """
    service = runtime.service

    @get
    async def healthz(scope: Scope) -> AsgiResponse:
        if service.is_alive():
            return AsgiResponse(b'{"status": "alive"}', 200, headers=JSON_TYPE)
        return AsgiResponse(b'{"status": "stalled"}', 503, headers=JSON_TYPE)

    @get
    async def readyz(scope: Scope) -> AsgiResponse:
        ok = service.is_ready() and await service.broker.ping(timeout=2.0)
        body = b'{"status": "ready"}' if ok else b'{"status": "not ready"}'
        return AsgiResponse(body, 200 if ok else 503, headers=JSON_TYPE)

    @get
    async def status(scope: Scope) -> AsgiResponse:
        return AsgiResponse(json.dumps(service.status()).encode(), 200, headers=JSON_TYPE)

    paths: dict[str, ASGIApp] = {
        "/healthz": healthz,
        "/readyz": readyz,
        "/status": status,
        "/metrics": make_asgi_app(service.metrics.registry),
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(runtime, receive, send)
        elif scope["type"] == "http" and scope["path"] in paths:
            await paths[scope["path"]](scope, receive, send)
        else:
            await AsgiResponse(NOT_FOUND, 404)(scope, receive, send)

    return app


async def _lifespan(runtime: Runtime, receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol around ``runtime.start`` and ``runtime.stop``; a failure is reported, then raised."""
    await receive()  # lifespan.startup
    try:
        await runtime.start()
    except BaseException:
        await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
        raise
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.shutdown
    try:
        await runtime.stop()
    except BaseException:
        await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
        raise
    await send({"type": "lifespan.shutdown.complete"})


def configure_logging(level: str) -> None:
    """Log to stderr in a compact, grep-friendly format."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(CleanLogArgs())  # event text in a log line cannot forge another line
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)  # a line per request otherwise


def serve(app: Any, settings: ServiceSettings) -> None:
    """Serve ``app`` until SIGINT/SIGTERM."""
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_level="warning", lifespan="on", access_log=False
    )
    asyncio.run(uvicorn.Server(config).serve())


def run_service(settings_cls: type[S], build: Callable[[S], Runtime]) -> None:
    """Load settings (env, then ``IR_CONFIG_FILE``), ``build`` the runtime and serve its app until SIGINT/SIGTERM.

    A bad configuration stops the start with exit code 2 and the file, line and field at fault.
    """
    try:
        settings = settings_cls.load()
    except ConfigError as exc:
        print(f"{settings_cls.service_name}: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    serve(build(settings).asgi_app(), settings)
