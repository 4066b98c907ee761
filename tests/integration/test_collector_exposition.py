"""The collector scraping real exposition endpoints into the metrics topic on a real broker.

A real prometheus-node-exporter (Debian's package) gives host CPU, memory and disk, and the real
detector's threshold rule fires on them; the demo service's own ``/metrics`` gives an error rate
that is exactly failed / all of its real requests; and the detector's 1 %-rule fires from that
real traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from incidentctl import demo_load
from incidentctl.chaos import inject
from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from services.collector.domain.exposition import parse_exposition
from services.detector.app import build as build_detector
from services.detector.domain.rules import Op, ThresholdRule
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared import topics
from shared.events import parse_event
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[2]
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


@dataclass
class Metrics:
    settings: ServiceSettings
    events: list[m.MetricsObserved] = field(default_factory=list)

    def of(self, target: str) -> list[m.MetricsObserved]:
        return [e for e in self.events if e.target == target]


def values(obs: m.MetricsObserved, **labels: str) -> dict[str, float]:
    return {s.name: s.value for s in obs.samples if all(s.labels.get(k) == v for k, v in labels.items())}


def sample(obs: m.MetricsObserved, name: str, **labels: str) -> m.MetricSample | None:
    return next((s for s in obs.samples if s.name == name and labels.items() <= s.labels.items()), None)


async def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
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
                events = [parse_event(r.value) for r in records]
                sink += [e.data for e in events if isinstance(e, ev.MetricsObserved)]
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def running_collector(
    tmp_path: Path, unique: str, kafka: str, es: str, targets: list[dict[str, Any]], normal_s: float
) -> AsyncIterator[Metrics]:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka, topic_prefix=f"t{unique}.")
    await ensure_topics(settings)
    config = {
        "targets": targets,
        "intervals": {"normal_s": normal_s, "incident_s": normal_s},
        "host_name": f"it-{unique}",
        "group_id": f"collector-{unique}",
        "scrape_host": False,
        "ship_logs": False,
        "watch_stages": False,
        "log_state_dir": str(tmp_path / "state"),
    }
    path = tmp_path / "collector.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "ELASTICSEARCH_URL": es,
        "TOPIC_PREFIX": settings.topic_prefix,
        "IR_CONFIG_FILE": str(path),
        "HTTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    proc = spawn([sys.executable, "-m", "services.collector"], log_file=tmp_path / "collector.log", env=env, cwd=REPO)
    found = Metrics(settings)
    consumer = asyncio.ensure_future(_consume(settings, found.events))
    try:
        yield found
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        terminate(proc.pid)
        proc.wait(timeout=5)
    assert proc.returncode is not None


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[str]:
    if not Path(NODE_EXPORTER).exists():
        pytest.skip("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)")
    port = free_port()
    argv = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
            "--collector.cpu", "--collector.meminfo", "--collector.filesystem", "--collector.loadavg",
            "--collector.netdev", "--collector.filesystem.fs-types-exclude=^(proc|sysfs|autofs|tracefs)$"]  # fmt: skip
    proc = spawn(argv, log_file=tmp_path / "node-exporter.log", cwd=REPO)
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        terminate(proc.pid)
        proc.wait(timeout=5)


class Hostile(BaseHTTPRequestHandler):
    """Answers what a broken or hostile endpoint could: too big, garbled, not found."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        if self.path == "/dribble":  # a byte at a time: each read is quick, the whole never ends in time
            self.send_response(200)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.end_headers()
            with contextlib.suppress(ConnectionError):
                for _ in range(20):
                    self.wfile.write(b"#")
                    time.sleep(0.25)
            return
        bodies = {"/huge": b"x 1\n" * (2**20), "/garbled": b'up{job="a} 1\n\x00{{{\n', "/binary": b"\xff\xfe\x00"}
        body = bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("content-type", "text/plain; version=0.0.4")
        self.send_header("content-length", str(len(body or b"")))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # the collector hangs up on a body over its limit
            self.wfile.write(body or b"")


@pytest.fixture
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_real_node_exporter_gives_host_signals_and_bad_endpoints_only_scrape_errors(
    tmp_path: Path, unique: str, kafka_bootstrap: str, elasticsearch_url: str, node_exporter: str, hostile: str
) -> None:
    target = f"node-{unique}"
    endpoints = [
        {"name": "node", "url": node_exporter, "http": None, "metrics": ["node_load1"]},
        {"name": "huge", "url": hostile + "/huge", "max_bytes": 1_000_000},
        {"name": "garbled", "url": hostile + "/garbled"},
        {"name": "missing", "url": hostile + "/nothing"},
        {"name": "binary", "url": hostile + "/binary"},
        {"name": "dribble", "url": hostile + "/dribble", "timeout_s": 1.0},
    ]
    config = [{"name": target, "exposition": endpoints}]
    async with running_collector(tmp_path, unique, kafka_bootstrap, elasticsearch_url, config, 1.0) as found:
        with_cpu = await wait_until(
            lambda: [o for o in found.of(target) if mn.HOST_CPU in values(o)], "host.cpu_percent from node-exporter"
        )
        got = values(with_cpu[0])
        assert 0.0 <= got[mn.HOST_CPU] <= 100.0
        memory = psutil.virtual_memory()
        assert got[mn.HOST_MEMORY] == pytest.approx(100.0 * (1 - memory.available / memory.total), abs=5.0)
        disk = shutil.disk_usage("/")
        assert got[mn.HOST_DISK] == pytest.approx(100.0 * (1 - disk.free / disk.total), abs=2.0)
        assert got[mn.HOST_LOAD1] >= 0.0 and got["node_load1"] == got[mn.HOST_LOAD1]  # selected as it is
        obs = with_cpu[0]
        ups = [s for s in obs.samples if s.name == mn.SCRAPE_UP]
        scrape_up = {s.labels["endpoint"]: (s.value, s.labels.get("error")) for s in ups}
        assert scrape_up == {
            "node": (1.0, None),
            "huge": (0.0, "too_large"),
            "garbled": (0.0, "unparseable"),
            "missing": (0.0, "http_status"),
            "binary": (0.0, "not_utf8"),
            "dribble": (0.0, "timeout"),
        }
        assert (sample(obs, mn.SCRAPE_SERIES, endpoint="node") or pytest.fail("no series count")).value > 50


async def exporter_memory_percent(url: str) -> float:
    """``host.memory_percent`` as read from the exporter itself, not through the collector."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(url)).text
    series = {s.name: s.value for s in parse_exposition(text, openmetrics=False, max_series=100_000)}
    return 100.0 * (1.0 - series["node_memory_MemAvailable_bytes"] / series["node_memory_MemTotal_bytes"])


async def test_a_real_node_exporter_feeds_the_detector_whose_rule_fires_on_its_memory_signal(
    tmp_path: Path, unique: str, kafka_bootstrap: str, elasticsearch_url: str, node_exporter: str
) -> None:
    target = f"node-{unique}"
    fires = ThresholdRule(
        name="exporter-memory-used",  # any machine uses more than 0.1 % of its memory
        metric=mn.HOST_MEMORY,
        op=Op.GE,
        value=0.1,
        impact=m.Impact.RESOURCE_PRESSURE,
        unit="%",
        targets=target,
    )
    never = ThresholdRule(  # another signal: evidence of one signal is merged into one anomaly
        name="exporter-disk-over-full",
        metric=mn.HOST_DISK,
        op=Op.GE,
        value=100.5,
        impact=m.Impact.RESOURCE_PRESSURE,
        unit="%",
        targets=target,
    )
    detector_settings = DetectorSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{unique}.",
        group_id=f"detector-{unique}",
        profile="demo",
        rules=[fires, never],
        statistical={"enabled": False},
        degradation={"enabled": False},
    )
    config = [{"name": target, "exposition": [{"name": "node", "url": node_exporter, "http": None}]}]
    names = [detector_settings.topic_prefix + topics.ANOMALIES.name]

    async def anomalies() -> list[m.Anomaly]:
        return [e.data async for _, e in replay(detector_settings, names) if isinstance(e, ev.AnomalyDetected)]

    # the collector's own psutil host scrape is off (scrape_host: false): host.* can only come from the exporter
    async with running_collector(tmp_path, unique, kafka_bootstrap, elasticsearch_url, config, 1.0) as found:
        detector = build_detector(detector_settings)
        await detector.start()
        try:
            async with asyncio.timeout(60):
                while not await anomalies():
                    await asyncio.sleep(0.5)
            reported = await exporter_memory_percent(node_exporter)
        finally:
            await detector.stop()  # everything it decided on the scrapes it took is published by now
    detected = await anomalies()
    assert [(a.target, a.signal, a.labels.get("rule")) for a in detected] == [(target, mn.HOST_MEMORY, fires.name)]
    anomaly = detected[0]
    assert anomaly.host == f"it-{unique}" and anomaly.threshold == 0.1 and anomaly.observed is not None
    assert not [o for o in found.events if o.target.startswith(mn.HOST_TARGET_PREFIX)]  # no psutil host samples
    # the value fired on is one the collector derived from the exporter's scrape of this target
    fed = [o for o in found.of(target) if values(o).get(mn.HOST_MEMORY) == pytest.approx(anomaly.observed, rel=1e-9)]
    assert fed, f"no scrape of {target} had host.memory_percent {anomaly.observed}"
    scrape = fed[0]
    assert (sample(scrape, mn.SCRAPE_UP, endpoint="node") or pytest.fail("no scrape.up")).value == 1.0
    memory = sample(scrape, mn.HOST_MEMORY) or pytest.fail("no host.memory_percent")
    assert memory.labels == {} and memory.unit == "percent"
    # the exporter itself says the same (memory moves a little between the two reads)
    assert anomaly.observed == pytest.approx(reported, abs=5.0)
    here = psutil.virtual_memory()
    assert anomaly.observed == pytest.approx(100.0 * (1 - here.available / here.total), abs=5.0)
    # the rule that must not fire was evaluated on that same scrape: its signal was there, below 100.5
    assert 0.0 <= values(scrape).get(mn.HOST_DISK, -1.0) <= 100.0


@dataclass
class Demo:
    url: str
    pidfile: Path


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port = free_port()
    pidfile = tmp_path / "demo.pid"
    argv = [sys.executable, "-m", "incidentctl.demo_service", "--port", str(port), "--log-file",
            str(tmp_path / "demo-app.log"), "--pidfile", str(pidfile)]  # fmt: skip
    proc = spawn(argv, log_file=tmp_path / "demo.stdout", cwd=REPO)
    try:
        wait_for_port(port, proc=proc)
        yield Demo(f"http://127.0.0.1:{port}", pidfile)
    finally:
        terminate(proc.pid)
        proc.wait(timeout=5)


def demo_target(name: str, demo: Demo, **extra: Any) -> dict[str, Any]:
    """The demo's endpoint, counting only its application route ``/`` (the chaos and health routes dropped)."""
    relabel = [{"action": "keep", "source_labels": ["path"], "regex": "/"}]
    return {"name": name, "exposition": [{"url": demo.url + "/metrics", "relabel": relabel}], **extra}


async def get_root(client: httpx.AsyncClient, url: str, count: int) -> list[int]:
    return [(await client.get(url + "/")).status_code for _ in range(count)]


async def test_the_demo_error_rate_is_failed_over_all_of_its_real_requests(
    tmp_path: Path, unique: str, kafka_bootstrap: str, elasticsearch_url: str, demo: Demo
) -> None:
    target = f"demo-{unique}"
    config = [demo_target(target, demo)]
    async with (
        running_collector(tmp_path, unique, kafka_bootstrap, elasticsearch_url, config, 4.0) as found,
        httpx.AsyncClient() as client,
    ):
        await wait_until(lambda: len(found.of(target)) >= 2, "two scrapes of the demo's /metrics")
        assert inject("error-burst", demo.url, ratio=0.02)["ratio"] == 0.02
        seen = len(found.of(target))
        await wait_until(lambda: len(found.of(target)) > seen, "a scrape after the injection")
        statuses = await get_root(client, demo.url, 100)  # the only traffic to / (no probe configured)
        assert statuses.count(500) == 2  # every 50th request of 100
        marker = len(found.of(target))
        quiet = await wait_until(
            lambda: [o for o in found.of(target)[marker:] if values(o).get(mn.HTTP_THROUGHPUT) == 0.0],
            "a quiet scrape after the burst",
        )
    scrapes = found.of(target)
    upto = scrapes[: scrapes.index(quiet[0]) + 1]
    busy = [(a, b) for a, b in itertools.pairwise(upto) if values(b).get(mn.HTTP_THROUGHPUT)]
    requests = failed = 0
    for before, obs in busy:  # the scrapes the burst fell in: requests = rate x the time between them
        elapsed = (obs.observed_at - before.observed_at).total_seconds()
        n = round(values(obs)[mn.HTTP_THROUGHPUT] * elapsed)
        requests += n
        failed += round(values(obs)[mn.HTTP_ERROR_RATE] * n)
    assert (failed, requests) == (2, 100)  # failed / all, whichever scrape each request fell in
    if len(busy) == 1:  # the whole burst between two scrapes
        assert values(busy[0][1])[mn.HTTP_ERROR_RATE] == pytest.approx(0.02)
    assert all(values(o).get(mn.HTTP_ERROR_RATE, 0.0) == 0.0 for o in scrapes[:2])


async def test_the_error_rate_rule_fires_from_real_traffic_at_one_and_a_half_percent(
    tmp_path: Path, unique: str, kafka_bootstrap: str, elasticsearch_url: str, demo: Demo
) -> None:
    target = f"demo-{unique}"
    detector_settings = DetectorSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{unique}.",
        group_id=f"detector-{unique}",
        profile="demo",
        statistical={"enabled": False},
        degradation={"enabled": False},
    )
    config = [demo_target(target, demo)]
    config[0]["exposition"][0]["rate_window_s"] = 6.0  # ~300 requests: 1.5 % is 4 or 5 of them
    async with (
        running_collector(tmp_path, unique, kafka_bootstrap, elasticsearch_url, config, 2.0) as found,
        httpx.AsyncClient() as client,
    ):
        detector = build_detector(detector_settings)
        await detector.start()
        stop = asyncio.Event()

        async def traffic() -> None:  # about 50 requests a second
            while not stop.is_set():
                await get_root(client, demo.url, 5)
                await asyncio.sleep(0.1)

        load = asyncio.ensure_future(traffic())
        try:
            await wait_until(lambda: len(found.of(target)) >= 4, "scrapes with traffic")
            inject("error-burst", demo.url, ratio=0.015)

            async def anomalies() -> list[ev.Envelope[Any]]:
                name = detector_settings.topic_prefix + topics.ANOMALIES.name
                return [e async for _, e in replay(detector_settings, [name])]

            async with asyncio.timeout(60):
                while not [e for e in await anomalies() if isinstance(e, ev.AnomalyDetected)]:
                    await asyncio.sleep(0.5)
            detected = [e.data for e in await anomalies() if isinstance(e, ev.AnomalyDetected)]
        finally:
            stop.set()
            await load
            await detector.stop()
    assert [(a.target, a.signal) for a in detected] == [(target, mn.HTTP_ERROR_RATE)]
    rates = [values(o)[mn.HTTP_ERROR_RATE] for o in found.of(target) if values(o).get(mn.HTTP_ERROR_RATE)]
    assert rates and max(rates) <= 0.03  # about 1.5 %, never the 20 % steps of 5 probes
    assert detected[0].observed is not None and 0.01 <= detected[0].observed <= 0.03


async def test_the_demo_load_generator_sends_what_the_demo_counts(demo: Demo) -> None:
    sent = await demo_load.run(demo.url + "/", 40.0, 4, duration_s=1.5)
    async with httpx.AsyncClient() as client:
        text = (await client.get(demo.url + "/metrics")).text
    series = parse_exposition(text, openmetrics=False, max_series=10_000)
    counted = sum(s.value for s in series if s.name == "http_requests_total" and s.label("path") == "/")
    assert sent > 0 and counted == sent
