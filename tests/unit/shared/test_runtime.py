"""One composition root per service: ``build(settings, **adapters) -> Runtime``, served the same way."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from faststream.asgi.types import ASGIApp, Message
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from services.collector.app import build as build_collector
from services.collector.settings import CollectorSettings
from services.detector.app import build as build_detector
from services.detector.settings import DetectorSettings
from services.rca.app import build as build_rca
from services.rca.settings import RcaSettings
from services.recovery.app import build as build_recovery
from services.recovery.settings import RecoverySettings
from services.responder.app import build as build_responder
from services.responder.settings import ResponderSettings
from shared.runtime import Runtime, Service, runtime_app
from shared.settings import ServiceSettings
from shared.telemetry import METRIC_PREFIX

BUILDS: dict[str, tuple[Callable[..., Any], type[ServiceSettings]]] = {
    "collector": (build_collector, CollectorSettings),
    "detector": (build_detector, DetectorSettings),
    "responder": (build_responder, ResponderSettings),
    "recovery": (build_recovery, RecoverySettings),
    "rca": (build_rca, RcaSettings),
}


@dataclass
class Recording:
    """A runtime of its own (no broker is ever started) that records its lifecycle."""

    service: Service
    calls: list[str] = field(default_factory=list)
    fail_start: bool = False

    async def rebuild(self) -> int:
        self.calls.append("rebuild")
        return 0

    async def start(self) -> None:
        await self.rebuild()
        self.calls.append("start")
        if self.fail_start:
            raise RuntimeError("cannot start")

    async def stop(self) -> None:
        self.calls.append("stop")

    def asgi_app(self) -> ASGIApp:
        return runtime_app(self)


def recording(fail_start: bool = False) -> Recording:
    return Recording(
        Service.create("unit", ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1")), fail_start=fail_start
    )


async def lifespan(app: ASGIApp, sent: list[str], *, shutdown: bool = True) -> None:
    """Drive the ASGI lifespan protocol; ``sent`` gets the types of the messages the app sends."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    if shutdown:
        await inbox.put({"type": "lifespan.shutdown"})

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)


@pytest.mark.parametrize("name", BUILDS)
def test_every_service_has_one_build_with_keyword_only_optional_adapters(name: str) -> None:
    build, settings_cls = BUILDS[name]
    params = list(inspect.signature(build).parameters.values())
    assert params[0].name == "settings"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None for p in params[1:])
    assert "clock" in {p.name for p in params[1:]}
    runtime: Runtime = build(settings_cls(kafka_bootstrap_servers="127.0.0.1:1"))
    assert runtime.service.name == name
    assert not runtime.service.broker.running, "nothing connects until start"
    assert callable(runtime.asgi_app())


async def test_the_app_serves_health_status_and_metrics_and_refuses_other_paths() -> None:
    runtime = recording()
    transport = httpx.ASGITransport(app=runtime.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        assert (await client.get("/healthz")).json() == {"status": "alive"}
        assert (await client.get("/readyz")).status_code == 503  # not started
        assert (await client.get("/status")).json()["service"] == "unit"
        assert "ir_events_out_total" in (await client.get("/metrics")).text
        assert (await client.get("/healthz/")).status_code == 404
        assert (await client.post("/healthz")).status_code == 405


async def test_the_app_answers_openmetrics_when_asked() -> None:
    transport = httpx.ASGITransport(app=recording().asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        plain = await client.get("/metrics")
        om = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert plain.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert om.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert "ir_events_out" in {f.name for f in text_string_to_metric_families(om.text)}


@pytest.mark.parametrize("name", BUILDS)
def test_every_metric_of_every_service_has_the_one_prefix(name: str) -> None:
    build, settings_cls = BUILDS[name]
    runtime: Runtime = build(settings_cls(kafka_bootstrap_servers="127.0.0.1:1"))
    runtime.asgi_app()  # the responder's API registers its metrics here
    names = {family.name for family in runtime.service.metrics.registry.collect()}
    assert names and all(n.startswith(METRIC_PREFIX) for n in names), sorted(names)


async def test_the_app_lifespan_starts_and_stops_the_runtime() -> None:
    runtime, sent = recording(), list[str]()
    await lifespan(runtime.asgi_app(), sent)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert runtime.calls == ["rebuild", "start", "stop"]


async def test_a_failed_start_is_reported_to_the_server_and_nothing_is_stopped() -> None:
    runtime, sent = recording(fail_start=True), list[str]()
    with pytest.raises(RuntimeError, match="cannot start"):
        await lifespan(runtime.asgi_app(), sent, shutdown=False)
    assert sent == ["lifespan.startup.failed"]
    assert runtime.calls == ["rebuild", "start"]
