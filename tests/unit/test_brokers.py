"""The testcontainers path of tests/brokers.py: the containers are built and configured without a Docker engine."""

from __future__ import annotations

import pytest

from tests.brokers import ELASTICSEARCH_IMAGE, KAFKA_IMAGE, elasticsearch_container, kafka_container

# An explicit API version keeps the Docker client from asking an engine for one: nothing here connects.
NO_ENGINE = {"version": "1.44"}


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_kafka_container_is_a_kraft_broker_of_an_image_the_module_drives() -> None:
    kafka = kafka_container(**NO_ENGINE)
    kafka.configure()  # type: ignore[no-untyped-call]  # what start() does first, before the container is created
    assert kafka.image == KAFKA_IMAGE and KAFKA_IMAGE.startswith("confluentinc/cp-kafka:")
    assert kafka.kraft_enabled
    assert kafka.ports == {"9093": None}
    env = kafka.env
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@localhost:9094"
    assert "PLAINTEXT://0.0.0.0:9093" in env["KAFKA_LISTENERS"]
    assert "CONTROLLER://0.0.0.0:9094" in env["KAFKA_LISTENERS"]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_the_apache_image_is_refused_by_the_module() -> None:
    """Why the image is Confluent's: the module reads the tag as a Confluent Platform version."""
    from testcontainers.community.kafka import KafkaContainer

    with pytest.raises(ValueError, match="not supported in Kraft mode"):
        KafkaContainer("apache/kafka:3.8.0", docker_client_kw=NO_ENGINE).with_kraft()


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_elasticsearch_container_is_a_single_node_without_security() -> None:
    es = elasticsearch_container(**NO_ENGINE)
    assert es.image == ELASTICSEARCH_IMAGE
    assert es.ports == {"9200": None} and es.port == 9200
    assert es.env["xpack.security.enabled"] == "false"
    assert es.env["discovery.type"] == "single-node"
    assert es.env["http.host"] == "0.0.0.0"
    assert "-Xmx512m" in es.env["ES_JAVA_OPTS"]
