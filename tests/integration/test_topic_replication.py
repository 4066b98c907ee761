"""Topic replication, min.insync.replicas and retention from settings, and the idempotent producer, on real brokers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from incidentctl.embedded import start_broker
from incidentctl.procs import free_port, terminate
from shared.broker import ServiceBroker, make_broker
from shared.settings import ServiceSettings
from shared.topic_admin import TopicSettingsRefused, ensure_topics
from shared.topics import ANOMALIES, METRICS

pytestmark = pytest.mark.integration


def settings(monkeypatch: pytest.MonkeyPatch, bootstrap: str, prefix: str, **env: str) -> ServiceSettings:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings()


async def topic_configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = response[0].resources[0][4]
    return {str(e[0]): str(e[1]) for e in entries}


async def test_created_topics_carry_the_configured_isr_and_retention(
    monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str, unique: str
) -> None:
    retention = json.dumps({METRICS.name: 3_600_000})
    s = settings(monkeypatch, kafka_bootstrap, f"t{unique}.", KAFKA_MIN_INSYNC_REPLICAS="1",
                 KAFKA_TOPIC_RETENTION_MS=retention, KAFKA_DLQ_RETENTION_MS="86400000")  # fmt: skip
    created = await ensure_topics(s, [METRICS])
    assert created == [s.topic_prefix + METRICS.name, s.topic_prefix + METRICS.dlq]
    configs = await topic_configs(kafka_bootstrap, s.topic_prefix + METRICS.name)
    assert configs["retention.ms"] == "3600000" and configs["min.insync.replicas"] == "1"
    assert (await topic_configs(kafka_bootstrap, s.topic_prefix + METRICS.dlq))["retention.ms"] == "86400000"
    assert await ensure_topics(s, [METRICS]) == []  # existing topics are left alone


async def test_more_replicas_than_brokers_fails_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str, endpoints: object, unique: str
) -> None:
    if getattr(endpoints, "kind", "") != "noida-db":
        pytest.skip("needs the single embedded broker")
    s = settings(monkeypatch, kafka_bootstrap, f"t{unique}.", KAFKA_REPLICATION_FACTOR="3",
                 KAFKA_MIN_INSYNC_REPLICAS="2")  # fmt: skip
    with pytest.raises(TopicSettingsRefused) as refused:
        await ensure_topics(s, [ANOMALIES])
    text = str(refused.value)
    assert f"topic t{unique}.{ANOMALIES.name} not created" in text and "KAFKA_REPLICATION_FACTOR=3" in text


@pytest.mark.parametrize(("server", "idempotent"), [("kafka_bootstrap", True), ("tansu", False)])
async def test_the_producer_is_idempotent_where_the_broker_grants_it(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    server: str, idempotent: bool, unique: str,
) -> None:  # fmt: skip
    """noida-db (and Kafka) grant a producer id; Tansu's InitProducerId fails: acks=all without it, logged."""
    bootstrap = str(request.getfixturevalue(server))
    s = settings(monkeypatch, bootstrap, f"t{unique}.")
    await ensure_topics(s, [ANOMALIES])
    broker = make_broker(s, client_id=f"test-{unique}")
    assert isinstance(broker, ServiceBroker)
    with caplog.at_level(logging.WARNING, logger="shared.broker"):
        await broker.start()
    try:
        assert broker.idempotent is idempotent
        producer: Any = broker.config.broker_config.producer
        real = producer._producer.producer  # the aiokafka producer FastStream made
        assert (real._txn_manager is not None) is idempotent  # aiokafka keeps a producer id only when idempotent
        assert ("refuses an idempotent producer" in caplog.text) is not idempotent
        await broker.publish(b"x", s.topic_prefix + ANOMALIES.name, key=b"k")  # and it produces either way
    finally:
        await broker.stop()


async def test_idempotence_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str) -> None:
    broker = make_broker(settings(monkeypatch, kafka_bootstrap, "", KAFKA_ENABLE_IDEMPOTENCE="false"), client_id="t")
    assert isinstance(broker, ServiceBroker) and not broker.idempotent


def test_create_topics_says_in_one_line_which_setting_to_lower(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kafka_bootstrap: str,
    endpoints: object, unique: str,
) -> None:  # fmt: skip
    if getattr(endpoints, "kind", "") != "noida-db":
        pytest.skip("needs the single embedded broker")
    from incidentctl.__main__ import main

    settings(monkeypatch, kafka_bootstrap, f"t{unique}.", KAFKA_REPLICATION_FACTOR="3", KAFKA_MIN_INSYNC_REPLICAS="2")
    assert main(["create-topics"]) == 2  # a setting the broker refuses: a usage error (README exit codes)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "not created" in err and "KAFKA_REPLICATION_FACTOR=3" in err and "lower them" in err


async def _send_after_a_broker_restart(tmp: Path, *, idempotent: bool) -> list[str]:
    """Produce, SIGKILL and restart a private noida-db on the same port and data, produce again: the outcomes."""
    port = free_port()
    broker = start_broker(tmp / "data", tmp / "before.log", kafka_port=port, elasticsearch=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.kafka)
    await admin.start()
    await admin.create_topics([NewTopic("t", 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.kafka, acks="all", enable_idempotence=idempotent)
    await producer.start()
    outcomes: list[str] = []
    try:
        for i in range(5):
            await producer.send_and_wait("t", b"before", key=str(i).encode())
        os.killpg(os.getpgid(broker.process.pid), signal.SIGKILL)
        broker.process.wait()
        broker = start_broker(tmp / "data", tmp / "after.log", kafka_port=port, elasticsearch=False)
        for _ in range(12):  # the first sends may meet the restart itself (unknown partition, timeouts)
            try:
                await asyncio.wait_for(producer.send_and_wait("t", b"after", key=b"k"), 5)
                outcomes.append("sent")
            except Exception as exc:
                outcomes.append(type(exc).__name__)
            if outcomes[-1] in ("sent", "OutOfOrderSequenceNumber"):
                break
    finally:
        await producer.stop()
        terminate(broker.process.pid)
    return outcomes


async def test_noida_db_forgets_idempotent_producers_when_it_restarts(tmp_path: Path) -> None:
    """Why the embedded stack produces without idempotence (incidentctl/embedded.py EMBEDDED_IDEMPOTENCE).

    Kafka keeps producer state across restarts; noida-db 0.2.3 does not, and an idempotent producer that
    outlives a restart is refused for ever. Should this start to fail, the stack can use ``auto`` again.
    """
    plain = await _send_after_a_broker_restart(tmp_path / "plain", idempotent=False)
    assert plain[-1] == "sent"
    idempotent = await _send_after_a_broker_restart(tmp_path / "idempotent", idempotent=True)
    assert idempotent[-1] == "OutOfOrderSequenceNumber" and "sent" not in idempotent
