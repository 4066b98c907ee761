"""Recovery on the real broker: a managed process is restarted once, verified, never twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from incidentctl.procs import free_port
from services.recovery.adapters.runner import is_alive, read_pid
from services.recovery.app import build
from services.recovery.settings import RecoverySettings
from shared import events as ev
from shared import models as m
from shared import topics
from shared.events import encode_event
from shared.replay import replay
from shared.runtime import Runtime
from shared.topic_admin import ensure_topics

pytestmark = pytest.mark.integration
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


async def until(predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll an async or sync predicate until it returns something truthy."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return result
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


@asynccontextmanager
async def running(settings: Any, build_runtime: Callable[[Any], Runtime] = build) -> AsyncIterator[None]:
    """Serve a service in-process until the block ends (a stop and start is a restart)."""
    app = build_runtime(settings).asgi_app()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.http_port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as client:

        async def ready() -> bool:
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await until(ready, what="the service to be ready")
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def send(settings: Any, *events: ev.Envelope[Any], key: str | None = None) -> None:
    """Produce raw records (no publish-side dedup, so the same event can be delivered twice)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            topic = settings.topic_prefix + topics.topic_of(type(event)).name
            await producer.send_and_wait(topic, encode_event(event), key=(key or event.subject or "k").encode())
    finally:
        await producer.stop()


async def recovery_events(settings: RecoverySettings) -> list[ev.Envelope[Any]]:
    return [e async for _, e in replay(settings, [settings.topic_prefix + topics.RECOVERY.name])]


def opened(target: str = "demo") -> ev.IncidentOpened:
    inc = m.Incident(
        incident_id=f"inc-{target}", group_key=target, target=target, title=f"{target} down",
        severity=m.Severity.CRITICAL, severity_reason="service down", status=m.IncidentStatus.TRIGGERED,
        opened_at=datetime.now(UTC), signals=("process.up",), impacts=(m.Impact.SERVICE_DOWN,),
    )  # fmt: skip
    data = m.IncidentTransition(incident=inc, reason="target down")
    return ev.IncidentOpened.create(
        data, source="/tests", id_parts=(inc.incident_id,), correlationid=inc.incident_id, subject=inc.incident_id
    )


def healthy_scrape(n: int, target: str = "demo") -> ev.MetricsObserved:
    now = datetime.now(UTC) + timedelta(milliseconds=n)
    values = {"process.up": 1.0, "http.up": 1.0, "http.error_rate": 0.0, "process.cpu_percent": 2.0}
    samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
    data = m.MetricsObserved(target=target, host="h", observed_at=now, interval_s=1.0, samples=samples)
    return ev.MetricsObserved.create(data, source="/tests", id_parts=(target, now.isoformat()), subject=target)


@pytest.fixture
def managed(tmp_path: Path) -> Any:
    """A sleeping process recovery may restart; every pid it ever had is killed afterwards."""
    pidfile = tmp_path / "demo.pid"
    proc = subprocess.Popen(SLEEPER, start_new_session=True)
    pidfile.write_text(f"{proc.pid}\n")
    seen = {proc.pid}
    yield pidfile, proc, seen
    seen |= {p for p in [read_pid(pidfile)] if p}
    for pid in seen:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


def settings_for(kafka_bootstrap: str, unique: str, pidfile: Path, tmp_path: Path) -> RecoverySettings:
    return RecoverySettings(
        kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.", group_id=f"recovery-{unique}",
        http_port=free_port(), deadline_check_s=0.2,
        managed_processes=[{"name": "demo", "target": "demo", "command": SLEEPER, "pidfile": str(pidfile),
                            "log_file": str(tmp_path / "demo.out"), "stop_timeout_s": 5}],
        verification={"healthy_scrapes": 2, "timeout_s": 60},
    )  # fmt: skip


async def test_incident_restarts_the_managed_process_once_and_verifies(
    kafka_bootstrap: str, unique: str, managed: Any, tmp_path: Path
) -> None:
    pidfile, proc, seen = managed
    settings = settings_for(kafka_bootstrap, unique, pidfile, tmp_path)
    await ensure_topics(settings)
    old_pid = proc.pid
    async with running(settings):
        event = opened()
        await send(settings, event, event)  # delivered twice

        async def step_done() -> bool:
            return any(isinstance(e, ev.RecoveryStepCompleted) for e in await recovery_events(settings))

        await until(step_done, what="the restart step to complete")
        new_pid = read_pid(pidfile)
        assert new_pid is not None and new_pid != old_pid
        seen.add(new_pid)
        assert proc.wait(timeout=10) is not None  # the old process was stopped
        assert is_alive(new_pid)
        n = 0

        async def verified() -> bool:
            nonlocal n
            n += 1
            await send(settings, healthy_scrape(n))
            return any(isinstance(e, ev.RecoveryVerified) for e in await recovery_events(settings))

        await until(verified, what="RecoveryVerified")
    found = await recovery_events(settings)
    assert [type(e).__name__ for e in found] == [
        "RecoveryPlanned", "RecoveryStepStarted", "RecoveryStepCompleted", "RecoveryVerified",
    ]  # fmt: skip
    assert read_pid(pidfile) == new_pid
    assert all(e.correlationid == "inc-demo" for e in found)


async def test_service_restart_and_redelivery_never_restart_twice(
    kafka_bootstrap: str, unique: str, managed: Any, tmp_path: Path
) -> None:
    pidfile, proc, seen = managed
    settings = settings_for(kafka_bootstrap, unique, pidfile, tmp_path)
    await ensure_topics(settings)
    event = opened()
    async with running(settings):
        await send(settings, event)

        async def started() -> bool:
            return any(isinstance(e, ev.RecoveryStepCompleted) for e in await recovery_events(settings))

        await until(started, what="the first restart")
    first_pid = read_pid(pidfile)
    assert first_pid is not None and first_pid != proc.pid
    seen.add(first_pid)
    # the same incident delivered again, to a restarted service (new consumer group: it re-reads everything)
    restarted = settings.model_copy(update={"group_id": f"recovery2-{unique}", "http_port": free_port()})
    await send(settings, event)
    async with running(restarted):
        probe = opened("other")  # no action declared: answered with RecoveryFailed once processed
        await send(settings, probe, key="inc-demo")  # same partition, behind the redelivered incident

        async def probe_done() -> bool:
            return any(e.correlationid == "inc-other" for e in await recovery_events(settings))

        await until(probe_done, what="the restarted service to catch up")
    found = await recovery_events(settings)
    assert sum(isinstance(e, ev.RecoveryStepStarted) for e in found) == 1
    assert read_pid(pidfile) == first_pid and is_alive(first_pid)


async def test_an_incident_taken_over_from_the_instance_that_ran_its_step_is_not_run_again(
    kafka_bootstrap: str, unique: str, managed: Any, tmp_path: Path
) -> None:
    """Two instances in one group; the one that ran the incident's step leaves; the other takes it over.

    The survivor's start-up rebuild predates the step, so only its catch-up on assignment tells it
    the step ran: the incident delivered again (as after its owner's crash) must not restart twice.
    """
    pidfile, proc, seen = managed
    base = settings_for(kafka_bootstrap, unique, pidfile, tmp_path)
    await ensure_topics(base)
    runtimes = {n: build(base.model_copy(update={"instance_id": n, "http_port": free_port()})) for n in ("r1", "r2")}
    serving = {n: running(r.settings, lambda _s, r=r: r) for n, r in runtimes.items()}
    for context in serving.values():
        await context.__aenter__()
    try:
        event = opened()
        await send(base, event)

        async def step_started() -> list[ev.Envelope[Any]]:
            return [e for e in await recovery_events(base) if isinstance(e, ev.RecoveryStepStarted)]

        started = (await until(step_started, what="the restart step"))[0]
        await until(lambda: read_pid(pidfile) not in (None, proc.pid), what="the restarted process")
        seen.add(read_pid(pidfile) or proc.pid)
        ran = next(n for n, r in runtimes.items() if started.id in r.service.bus.published)
        await serving.pop(ran).__aexit__(None, None, None)
        (survivor,) = (runtimes[n] for n in serving)
        incident_id = event.data.incident.incident_id
        await until(lambda: survivor.handlers.owns(incident_id), what="the survivor to take the incident over")
        await send(base, event)  # delivered again, to the instance that did not run it
        probe = opened("other")  # no action declared: answered with RecoveryFailed once processed
        await send(base, probe, key=incident_id)  # same partition, behind the redelivered incident

        async def probe_done() -> bool:
            return any(e.correlationid == "inc-other" for e in await recovery_events(base))

        await until(probe_done, what="the survivor to handle both")
    finally:
        for context in serving.values():
            await context.__aexit__(None, None, None)
    found = await recovery_events(base)
    assert sum(isinstance(e, ev.RecoveryStepStarted) for e in found) == 1, [type(e).__name__ for e in found]
