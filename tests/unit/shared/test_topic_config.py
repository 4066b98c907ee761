"""Replication, min.insync.replicas and retention of created topics come from the settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import ServiceSettings
from shared.topic_admin import topic_specs
from shared.topics import ALL_TOPICS, DETECTOR_STATE, METRICS


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ServiceSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings()


def test_defaults_fit_the_embedded_single_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = topic_specs(settings(monkeypatch))
    assert {s.replication_factor for s in specs} == {1}
    assert {s.configs["min.insync.replicas"] for s in specs} == {"1"}
    by_name = {s.name: s for s in specs}
    assert by_name[METRICS.name].configs["retention.ms"] == str(METRICS.retention_ms)
    assert by_name[METRICS.name].partitions == METRICS.partitions
    assert by_name[METRICS.dlq].configs["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert by_name[DETECTOR_STATE.name].configs["cleanup.policy"] == "compact"
    assert len(specs) == len(ALL_TOPICS) + sum(t.has_dlq for t in ALL_TOPICS)


def test_a_three_broker_cluster_replicates_every_topic_and_its_dead_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    retention = {METRICS.name: 86_400_000, DETECTOR_STATE.name: -1}
    s = settings(monkeypatch, KAFKA_REPLICATION_FACTOR="3", KAFKA_MIN_INSYNC_REPLICAS="2",
                 KAFKA_TOPIC_RETENTION_MS=json.dumps(retention), KAFKA_DLQ_RETENTION_MS="604800000",
                 TOPIC_PREFIX="stg.")  # fmt: skip
    specs = {s.name: s for s in topic_specs(s)}
    assert all(name.startswith("stg.") for name in specs)
    assert {(s.replication_factor, s.configs["min.insync.replicas"]) for s in specs.values()} == {(3, "2")}
    assert specs["stg." + METRICS.name].configs["retention.ms"] == "86400000"
    assert specs["stg." + DETECTOR_STATE.name].configs["retention.ms"] == "-1"
    assert specs["stg." + METRICS.dlq].configs["retention.ms"] == "604800000"
    untouched = next(t for t in ALL_TOPICS if t.name not in retention)
    assert specs["stg." + untouched.name].configs["retention.ms"] == str(untouched.retention_ms)


def test_the_yaml_file_sets_them_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("kafka_replication_factor: 3\nkafka_min_insync_replicas: 2\n"
                    "kafka_topic_retention_ms: {collector.metrics.v1: 3600000}\n")  # fmt: skip
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    s = ServiceSettings.load()
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas) == (3, 2)
    assert s.kafka_topic_retention_ms == {METRICS.name: 3_600_000}


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"KAFKA_REPLICATION_FACTOR": "1", "KAFKA_MIN_INSYNC_REPLICAS": "2"},
            "must not exceed KAFKA_REPLICATION_FACTOR",
        ),
        ({"KAFKA_REPLICATION_FACTOR": "0"}, "greater than or equal to 1"),
        ({"KAFKA_TOPIC_RETENTION_MS": '{"collector.metric.v1": 1000}'}, "no topic 'collector.metric.v1'"),
        ({"KAFKA_TOPIC_RETENTION_MS": '{"collector.metrics.v1": 0}'}, "-1 (forever) or positive"),
        ({"KAFKA_DLQ_RETENTION_MS": "0"}, "KAFKA_DLQ_RETENTION_MS"),
        ({"KAFKA_ENABLE_IDEMPOTENCE": "maybe"}, "'auto', 'true' or 'false'"),
    ],
)
def test_impossible_topic_settings_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        settings(monkeypatch, **env)
    assert says in str(raised.value)


@pytest.mark.parametrize(("mode", "idempotent"), [("true", True), ("false", False)])
async def test_producers_use_acks_all_and_idempotence_as_configured(
    monkeypatch: pytest.MonkeyPatch, mode: str, idempotent: bool
) -> None:
    """Explicit modes ask the broker nothing (``auto`` probes it: tests/integration/test_topic_replication.py)."""
    from shared.broker import ServiceBroker, make_broker, producer_options

    s = settings(monkeypatch, KAFKA_ENABLE_IDEMPOTENCE=mode, KAFKA_BOOTSTRAP_SERVERS="unreachable.invalid:9092")
    assert await producer_options(s) == {"acks": "all", "enable_idempotence": idempotent}
    broker = make_broker(s, client_id="t")
    assert isinstance(broker, ServiceBroker) and broker.idempotent is idempotent
