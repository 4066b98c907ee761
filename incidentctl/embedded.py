"""The embedded broker: noida-db serving the Kafka and Elasticsearch protocols on loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from incidentctl.procs import free_port, spawn, wait_for_port

# noida-db grants idempotent producers but forgets their ids and sequences when it restarts (Kafka keeps them in
# producer-state snapshots): a producer that outlives a restart then gets OutOfOrderSequenceNumber for every
# send, for ever (measured 2026-12-05; the chaos tier kills the broker). The embedded stack's clients
# therefore produce with acks=all alone; compose and k8s (apache/kafka) keep the default, ``auto``.
EMBEDDED_IDEMPOTENCE = "false"


@dataclass(frozen=True)
class EmbeddedBroker:
    """A running noida-db process and its endpoints."""

    process: subprocess.Popen[bytes]
    kafka_port: int
    es_port: int

    @property
    def kafka(self) -> str:
        """Kafka bootstrap servers."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def elasticsearch(self) -> str:
        """Elasticsearch URL."""
        return f"http://127.0.0.1:{self.es_port}"


def noida_binary() -> str:
    """Locate the noida-db launcher installed with the project."""
    beside_python = Path(sys.executable).with_name("noida-db")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("noida-db")
    if found is None:
        raise FileNotFoundError("noida-db is not installed (pip install noida-db)")
    return found


def broker_argv(data_dir: Path, *, kafka_port: int, es_port: int = 0) -> list[str]:
    """Command line of noida-db serving Kafka (and Elasticsearch when ``es_port``) from ``data_dir``."""
    argv = [noida_binary(), "start", "--only", "kafka,elasticsearch" if es_port else "kafka",
            "--kafka-port", str(kafka_port)]  # fmt: skip
    if es_port:
        argv += ["--elasticsearch-port", str(es_port)]
    return [*argv, "--data-dir", str(data_dir)]


def start_broker(
    data_dir: Path, log_file: Path, *, kafka_port: int = 0, es_port: int = 0, elasticsearch: bool = True
) -> EmbeddedBroker:
    """Start noida-db persisting to ``data_dir`` on the given (or free) ports and wait until it listens.

    With ``elasticsearch=False`` only the Kafka protocol is served (``es_port`` is then 0).
    """
    kafka_port = kafka_port or free_port()
    es_port = (es_port or free_port()) if elasticsearch else 0
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = spawn(broker_argv(data_dir, kafka_port=kafka_port, es_port=es_port), log_file=log_file)
    wait_for_port(kafka_port, proc=proc)
    if elasticsearch:
        wait_for_port(es_port, proc=proc)
    return EmbeddedBroker(proc, kafka_port, es_port)
