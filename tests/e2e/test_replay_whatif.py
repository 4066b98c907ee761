"""A postmortem what-if: a recorded CPU hog replayed with the CPU threshold at 99 % opens no incident.

A cpu-hog-like series (process CPU 5 % for a minute, 97 % for 40 s, back to 5 %) is recorded on a
stack's metrics topic (prefix ``rec``). ``incidentctl replay --into orig`` re-drives it through
detector, responder and rca with the demo's configuration: that run is "the original" (an incident
opened and paged, its root cause the CPU). ``incidentctl replay --into whatif`` then re-drives the
original run's recording with the process-CPU limit at 99 %, and its table shows the incident not
opened. The recorded topics are never written to.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer

from services.detector.domain.rules import DEMO_RULES
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.events import encode_event
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import ALL_TOPICS, METRICS
from tests.hang_dump import one_line

pytestmark = pytest.mark.e2e

STEP_S = 2.0
PHASES = ((30, 5.0), (20, 97.0), (15, 5.0))  # (scrapes, process CPU %): normal, hog, normal again


def _scrapes(start: datetime) -> list[ev.MetricsObserved]:
    out: list[ev.MetricsObserved] = []
    i = 0
    for count, cpu in PHASES:
        for _ in range(count):
            t = start + timedelta(seconds=i * STEP_S)
            values = {mn.PROCESS_CPU: cpu + (i % 3) * 0.5, mn.PROCESS_UP: 1.0, mn.HTTP_UP: 1.0, mn.HTTP_ERROR_RATE: 0.0}
            samples = tuple(m.MetricSample(name=k, value=v) for k, v in values.items())
            data = m.MetricsObserved(target="demo", host="host-1", observed_at=t, interval_s=STEP_S, samples=samples)
            out.append(ev.MetricsObserved.create(data, source="/tests", id_parts=("demo", t), time=t, subject="demo"))
            i += 1
    return out


async def _record(settings: ServiceSettings, scrapes: list[ev.MetricsObserved]) -> None:
    await ensure_topics(settings, [METRICS])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for scrape in scrapes:
            await producer.send(settings.topic_prefix + METRICS.name, encode_event(scrape), key=b"demo")
        await producer.flush()
    finally:
        await producer.stop()


def _configs(folder: Path, *, cpu_limit: float) -> Path:
    """The demo's detector (threshold rules only, for a deterministic run) and responder timings."""
    rules: list[dict[str, Any]] = [r.model_dump(mode="json") for r in DEMO_RULES]
    for rule in rules:
        if rule["name"] == "process-cpu":
            rule["value"], rule["clear_value"] = cpu_limit, cpu_limit - 10.0
    folder.mkdir(parents=True)
    detector = {"profile": "demo", "rules": rules, "statistical": {"enabled": False}, "degradation": {"enabled": False},
                "logs": {"enabled": False}}  # fmt: skip
    responder = {
        "grouping": {"group_wait_s": 1, "group_interval_s": 10, "repeat_interval_s": 120, "raise_wait_s": 5},
        "auto_resolve_after_s": 20,
    }
    (folder / "detector.yaml").write_text(yaml.safe_dump(detector))
    (folder / "responder.yaml").write_text(yaml.safe_dump(responder))
    (folder / "rca.yaml").write_text(yaml.safe_dump({"lookback_s": 300}))
    return folder


def _replay(
    kafka: str, source_prefix: str, *args: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOPIC_PREFIX": source_prefix, "KAFKA_BOOTSTRAP_SERVERS": kafka, **(extra_env or {})}
    command = [sys.executable, "-m", "incidentctl", "replay", *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd) as proc:
        try:  # a guard against a hang, not a timing check: the replay's own waits (join, settle, RCA) add up to ~4 min
            out, err = proc.communicate(timeout=480)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # its services log where every task waits (`shared.runtime`)
            time.sleep(3)
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"the replay did not end within 480s; where it waited: {waits(err)}") from None
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def waits(stderr: str) -> str:
    """One line from the task dump on ``stderr``: where the replay's tasks waited (the failure summary's line)."""
    dumped = [line.partition(" waits in: ") for line in stderr.splitlines()]
    return one_line((name.rpartition("task ")[2], chain.split(" -> ")) for name, sep, chain in dumped if sep)


def _rows(table: str, aspect: str) -> list[str]:
    return [line for line in table.splitlines() if aspect in line]


def _count(settings: ServiceSettings) -> int:
    async def read() -> int:
        names = [settings.topic_prefix + t.name for t in ALL_TOPICS if t.events]
        return len([e async for _, e in replay(settings, names)])

    return asyncio.run(read())


def test_replay_with_a_higher_cpu_threshold_shows_the_incident_not_opened(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    recorded = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.rec.")
    asyncio.run(_record(recorded, _scrapes(start)))
    demo, strict = _configs(tmp_path / "demo", cpu_limit=90.0), _configs(tmp_path / "strict", cpu_limit=99.0)
    window = ["--from", (start - timedelta(seconds=1)).isoformat(), "--to", (start + timedelta(minutes=5)).isoformat()]

    # The "original" run: the recording re-driven with the demo's limits (90 %).
    orig = _replay(kafka_bootstrap, f"t{unique}.rec.", *window, "--into", f"t{unique}.orig.", "--config", str(demo),
                   "--speed", "20", cwd=tmp_path)  # fmt: skip
    assert orig.returncode == 0, orig.stderr
    assert "Traceback" not in orig.stderr
    opened = _rows(orig.stdout, "incident opened")
    assert opened and opened[0].split()[-2:][0] == "yes", orig.stdout  # none originally, one in this run
    assert any("process.cpu_percent" in line for line in _rows(orig.stdout, "top root cause")), orig.stdout
    assert any(line.rstrip().endswith("s") for line in _rows(orig.stdout, "first page")), orig.stdout

    # The what-if: the same scrapes (now on orig's metrics topic) with the CPU limit at 99 %.
    before = _count(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.orig."))
    what = _replay(kafka_bootstrap, f"t{unique}.orig.", *window, "--into", f"t{unique}.whatif.", "--config",
                   str(strict), "--speed", "20", cwd=tmp_path)  # fmt: skip
    assert what.returncode == 0, what.stderr
    table = what.stdout
    assert "1 incident(s) originally, 0 in the replay" in table, table
    (row,) = _rows(table, "incident opened")
    assert row.startswith("*") and row.split()[-1] == "no" and " yes " in row, table
    (cause,) = _rows(table, "top root cause")
    assert "process.cpu_percent" in cause and cause.startswith("*"), table
    # The recorded run's topics were only read.
    assert _count(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.orig.")) == before


LOG_SERVICE = "shop"
ERROR = "Unhandled error in request {n}: database timeout after {ms} ms"


def _log_docs(index: str, start: datetime) -> list[dict[str, Any]]:
    def doc(ts: datetime, message: str, level: str) -> dict[str, Any]:
        source = {"@timestamp": ts.isoformat().replace("+00:00", "Z"), "message": message, "level": level,
                  "service": LOG_SERVICE, "host": "h1"}  # fmt: skip
        return {"_index": index, "_source": source}

    docs = [doc(start + timedelta(seconds=i), f"GET /items/{i} 200 in {i % 9} ms", "INFO") for i in range(60)]
    docs += [doc(start + timedelta(seconds=62, milliseconds=80 * n), ERROR.format(n=100 + n, ms=n * 7), "ERROR")
             for n in range(12)]  # fmt: skip
    return docs


def test_replay_re_drives_recorded_logs_through_the_log_pattern_detector(
    kafka_bootstrap: str, elasticsearch_url: str, unique: str, tmp_path: Path
) -> None:
    from elasticsearch import AsyncElasticsearch, helpers

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    recorded = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.rec.")
    scrapes = [s for s in _scrapes(start) if s.data.observed_at < start + timedelta(seconds=90)]
    asyncio.run(_record(recorded, [s for s in scrapes if all(x.value < 50 for x in s.data.samples)]))
    index = f"application-logs-whatif-{unique}"

    async def index_logs() -> None:
        es = AsyncElasticsearch(elasticsearch_url, request_timeout=30)
        try:
            await helpers.async_bulk(es, _log_docs(index, start), refresh=True)
        finally:
            await es.close()

    asyncio.run(index_logs())
    folder = _configs(tmp_path / "logs", cpu_limit=90.0)
    detector = yaml.safe_load((folder / "detector.yaml").read_text())
    detector["logs"] = {
        "enabled": True, "index_pattern": f"{index}*", "poll_interval_s": 0.5, "lookback_s": 120, "close_delay_s": 2,
        "patterns": {"bucket_seconds": 2, "learning_seconds": 0, "new_template_seconds": 10, "spike_min_count": 5},
    }  # fmt: skip
    (folder / "detector.yaml").write_text(yaml.safe_dump(detector))
    window = ["--from", (start - timedelta(seconds=1)).isoformat(), "--to", (start + timedelta(seconds=90)).isoformat()]
    env_es = {"ELASTICSEARCH_URL": elasticsearch_url}
    result = _replay(kafka_bootstrap, f"t{unique}.rec.", *window, "--into", f"t{unique}.logs.", "--config",
                     str(folder), "--speed", "5", cwd=tmp_path, extra_env=env_es)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"and {len(_log_docs(index, start))} log records" in result.stdout, result.stdout
    opened = [line for line in _rows(result.stdout, "incident opened") if LOG_SERVICE in line]
    assert opened and opened[0].split()[-2] == "yes", result.stdout  # no incident originally; the burst opens one
    causes = [line for line in _rows(result.stdout, "top root cause") if LOG_SERVICE in line]
    assert causes, result.stdout
