"""Real Kafka/Elasticsearch-protocol servers for tests: configured, testcontainers, or embedded noida-db."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate


@dataclass(frozen=True)
class Endpoints:
    """Where the test brokers listen."""

    kafka: str
    elasticsearch: str
    kind: str


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def _testcontainers() -> Iterator[Endpoints]:
    from testcontainers.elasticsearch import ElasticSearchContainer
    from testcontainers.kafka import KafkaContainer

    with (
        KafkaContainer("apache/kafka:3.8.0").with_kraft() as kafka,
        ElasticSearchContainer("docker.elastic.co/elasticsearch/elasticsearch:8.15.3") as es,
    ):
        yield Endpoints(kafka.get_bootstrap_server(), es.get_url(), "testcontainers")


@contextmanager
def _noida() -> Iterator[Endpoints]:
    root = Path(tempfile.mkdtemp(prefix="ir-test-noida-"))
    broker = start_broker(root / "data", root / "noida.log")
    try:
        yield Endpoints(broker.kafka, broker.elasticsearch, "noida-db")
    finally:
        terminate(broker.process.pid)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def open_brokers() -> Iterator[Endpoints]:
    """Use the configured servers, else testcontainers where Docker answers, else embedded noida-db."""
    kafka, es = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("ELASTICSEARCH_URL")
    if kafka and es:
        yield Endpoints(kafka, es, "configured")
    elif _docker_available():
        with _testcontainers() as endpoints:
            yield endpoints
    else:
        with _noida() as endpoints:
            yield endpoints
