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
from typing import TYPE_CHECKING, Any

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate

if TYPE_CHECKING:
    from testcontainers.community.elasticsearch import ElasticSearchContainer
    from testcontainers.community.kafka import KafkaContainer


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


KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
"""testcontainers' Kafka module drives the Confluent image's start scripts; KRaft needs 7.0.0 or later."""
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"


def kafka_container(**docker: Any) -> KafkaContainer:
    """A single-node KRaft Kafka (not started); ``docker`` goes to the Docker client (``version=`` skips a probe)."""
    from testcontainers.community.kafka import KafkaContainer

    return KafkaContainer(KAFKA_IMAGE, docker_client_kw=docker or None).with_kraft()


def elasticsearch_container(**docker: Any) -> ElasticSearchContainer:
    """A single-node Elasticsearch 8 without security, with a small heap (not started)."""
    from testcontainers.community.elasticsearch import ElasticSearchContainer

    es = ElasticSearchContainer(ELASTICSEARCH_IMAGE, docker_client_kw=docker or None)
    return es.with_env("discovery.type", "single-node").with_env("ES_JAVA_OPTS", "-Xms512m -Xmx512m")


@contextmanager
def _testcontainers() -> Iterator[Endpoints]:
    with kafka_container() as kafka, elasticsearch_container() as es:
        es_url = f"http://{es.get_container_host_ip()}:{es.get_exposed_port(es.port)}"
        yield Endpoints(kafka.get_bootstrap_server(), es_url, "testcontainers")


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
