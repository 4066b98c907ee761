"""The collector as a process against the real demo service and brokers: metrics, crash, cadence, logs."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from elasticsearch import AsyncElasticsearch

from incidentctl.chaos import inject
from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared import topics
from shared.events import encode_event, parse_event
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Demo:
    url: str
    log_file: Path
    pidfile: Path


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port = free_port()
    log_file, pidfile = tmp_path / "demo-app.log", tmp_path / "demo.pid"
    argv = [sys.executable, "-m", "incidentctl.demo_service", "--port", str(port), "--log-file", str(log_file),
            "--pidfile", str(pidfile)]  # fmt: skip
    proc = spawn(argv, log_file=tmp_path / "demo.stdout", cwd=REPO)
    try:
        wait_for_port(port, proc=proc)
        yield Demo(f"http://127.0.0.1:{port}", log_file, pidfile)
    finally:
        terminate(proc.pid)
        proc.wait(timeout=5)


@dataclass
class Stack:
    settings: ServiceSettings
    events: list[m.MetricsObserved] = field(default_factory=list)

    def of(self, target: str) -> list[m.MetricsObserved]:
        return [e for e in self.events if e.target == target]


def at_least(n: int, items: list[m.MetricsObserved]) -> list[m.MetricsObserved]:
    return items if len(items) >= n else []


def values(obs: m.MetricsObserved) -> dict[str, float]:
    return {s.name: s.value for s in obs.samples}


async def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 40.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = predicate()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _consume(settings: ServiceSettings, sink: list[m.MetricsObserved]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        name = settings.topic_prefix + topics.METRICS.name
        tps = [TopicPartition(name, p) for p in range(topics.METRICS.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                sink += [parse_event(r.value).data for r in records]
    finally:
        await consumer.stop()


def collector_config(tmp_path: Path, demo: Demo, unique: str, **intervals: float) -> Path:
    config = {
        "targets": [
            {
                "name": "demo",
                "url": demo.url + "/",
                "pidfile": str(demo.pidfile),
                "log_files": [str(demo.log_file)],
                "probes_per_scrape": 3,
            }
        ],
        "intervals": intervals,
        "host_name": f"it-{unique}",
        "group_id": f"collector-{unique}",
        "log_index_prefix": f"it-{unique}-application-logs",
        "log_state_dir": str(tmp_path / "state"),
        "log_poll_s": 0.2,
        "log_multiline_idle_s": 0.5,
        "probe_timeout_s": 3.0,
    }
    path = tmp_path / "collector.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


@contextlib.asynccontextmanager
async def running_collector(
    tmp_path: Path, demo: Demo, unique: str, kafka: str, es: str, **intervals: float
) -> AsyncIterator[Stack]:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka, topic_prefix=f"t{unique}.")
    await ensure_topics(settings, [topics.METRICS, topics.INCIDENTS, topics.RECOVERY])
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "ELASTICSEARCH_URL": es,
        "TOPIC_PREFIX": settings.topic_prefix,
        "IR_CONFIG_FILE": str(collector_config(tmp_path, demo, unique, **intervals)),
        "HTTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    proc = spawn([sys.executable, "-m", "services.collector"], log_file=tmp_path / "collector.log", env=env, cwd=REPO)
    stack = Stack(settings)
    consumer = asyncio.ensure_future(_consume(settings, stack.events))
    try:
        yield stack
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        terminate(proc.pid)
        proc.wait(timeout=5)


async def publish(settings: ServiceSettings, event: ev.Envelope[Any], key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_prefix + topics.topic_of(type(event)).name, encode_event(event),
                                     key=key.encode())  # fmt: skip
    finally:
        await producer.stop()


def incident_event(cls: type[ev.Envelope[Any]], status: m.IncidentStatus) -> ev.Envelope[Any]:
    now = datetime.now(UTC)
    incident = m.Incident(
        incident_id="inc-1",
        group_key="demo",
        target="demo",
        title="demo down",
        severity=m.Severity.CRITICAL,
        severity_reason="test",
        status=status,
        opened_at=now,
    )
    data = m.IncidentTransition(incident=incident, reason="test")
    return cls.create(data, source="/tests", id_parts=(cls.event_type,), time=now)


async def test_metrics_cadence_and_crash(
    tmp_path: Path, demo: Demo, unique: str, kafka_bootstrap: str, elasticsearch_url: str
) -> None:
    intervals = {"normal_s": 2.0, "incident_s": 0.4, "post_recovery_s": 1.2, "post_recovery_duration_s": 60}
    async with running_collector(tmp_path, demo, unique, kafka_bootstrap, elasticsearch_url, **intervals) as stack:
        first = await wait_until(lambda: [o for o in stack.of("demo") if values(o).get(mn.HTTP_UP) == 1], "demo up")
        got = values(first[0])
        assert got[mn.PROCESS_UP] == 1.0 and got[mn.HTTP_ERROR_RATE] == 0.0
        assert got[mn.HTTP_LATENCY_P95] > 0 and got[mn.PROCESS_RSS] > 0 and got[mn.PROCESS_RESTARTS] == 0
        assert first[0].interval_s == 2.0
        host = await wait_until(lambda: stack.of(f"host:it-{unique}"), "host scrape")
        assert {mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.HOST_LOAD1} <= set(values(host[0]))

        await publish(stack.settings, incident_event(ev.IncidentOpened, m.IncidentStatus.TRIGGERED), "inc-1")
        fast = await wait_until(lambda: at_least(3, [o for o in stack.of("demo") if o.interval_s == 0.4]), "fast")
        gaps = [(b.observed_at - a.observed_at).total_seconds() for a, b in itertools.pairwise(fast)]
        assert min(gaps) < 1.5  # vs 2 s normally

        await publish(stack.settings, incident_event(ev.IncidentResolved, m.IncidentStatus.RESOLVED), "inc-1")
        await wait_until(lambda: [o for o in stack.of("demo") if o.interval_s == 1.2], "post-recovery cadence")

        assert inject("crash", demo.url)["fault"] == "crash"
        down = await wait_until(lambda: [o for o in stack.of("demo") if values(o).get(mn.PROCESS_UP) == 0], "down")
        assert values(down[0])[mn.HTTP_UP] == 0.0 and values(down[0])[mn.HTTP_ERROR_RATE] == 1.0
        assert len({e.observed_at for e in stack.of("demo")}) == len(stack.of("demo"))


async def test_logs_reach_elasticsearch_with_tracebacks_whole(
    tmp_path: Path, demo: Demo, unique: str, kafka_bootstrap: str, elasticsearch_url: str
) -> None:
    async with running_collector(tmp_path, demo, unique, kafka_bootstrap, elasticsearch_url, normal_s=1.0) as stack:
        await wait_until(lambda: stack.of("demo"), "first scrape")
        inject("error-burst", demo.url, duration_s=1.5)
        async with httpx.AsyncClient() as client:
            assert (await client.get(demo.url + "/")).status_code == 500
        client_es = AsyncElasticsearch(elasticsearch_url)
        index = f"it-{unique}-application-logs-*"

        async def errors() -> list[dict[str, Any]]:
            with contextlib.suppress(Exception):
                await client_es.indices.refresh(index=index)
                found = await client_es.search(index=index, query={"term": {"level": "ERROR"}}, size=50)
                return [h["_source"] for h in found["hits"]["hits"]]
            return []

        try:
            docs: list[dict[str, Any]] = []
            deadline = asyncio.get_running_loop().time() + 40
            while not docs and asyncio.get_running_loop().time() < deadline:
                docs = await errors()
                await asyncio.sleep(0.3)
            assert docs, "no ERROR documents shipped"
            doc = docs[0]
            lines = doc["message"].split("\n")
            assert "Payment backend unavailable: upstream returned 503" in lines[0]
            assert lines[1] == "Traceback (most recent call last):"
            assert lines[-1].startswith("UpstreamUnavailable: upstream returned 503")
            assert doc["service"] == "demo" and doc["host"] == f"it-{unique}"
            info = await client_es.search(index=index, query={"term": {"level": "INFO"}}, size=5)
            assert info["hits"]["hits"], "no INFO documents shipped"
            assert all(d["message"].count("\n") >= 4 for d in docs)  # every ERROR kept its traceback
        finally:
            await client_es.close()
