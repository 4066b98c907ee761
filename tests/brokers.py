"""Real Kafka/Elasticsearch-protocol servers for tests: configured, testcontainers, or embedded noida-db."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    """Where the test brokers listen."""

    kafka: str
    elasticsearch: str
    kind: str


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


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
    kafka_port, es_port = free_port(), free_port()
    data_dir = tempfile.mkdtemp(prefix="ir-test-noida-")
    binary = shutil.which("noida-db") or "noida-db"
    proc = subprocess.Popen(
        [
            binary,
            "start",
            "--only",
            "kafka,elasticsearch",
            "--kafka-port",
            str(kafka_port),
            "--elasticsearch-port",
            str(es_port),
            "--data-dir",
            data_dir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(kafka_port)
        wait_for_port(es_port)
        yield Endpoints(f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{es_port}", "noida-db")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def test_brokers() -> Iterator[Endpoints]:
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
