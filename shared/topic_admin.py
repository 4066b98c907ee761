"""Creating the contract's topics and their dead-letter topics, replicated and retained as configured."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.errors import BrokerError, ConfigurationError
from shared.events import Event
from shared.settings import ServiceSettings
from shared.stopping import stop_apart
from shared.topics import ALL_TOPICS, Topic

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS: Final = 36
INVALID_REPLICATION_FACTOR: Final = 38
INVALID_CONFIG: Final = 40


class TopicCreationFailed(BrokerError):
    """The broker refused to create a topic (the message names the topic, the reason and the settings)."""


class TopicSettingsRefused(ConfigurationError):
    """The broker refused the configured replication or topic configs (e.g. more replicas than brokers)."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic as it is created: name (with the stack's prefix), partitions, replicas and its configs."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: ServiceSettings, topics: Iterable[Topic[Event]] = ALL_TOPICS) -> list[TopicSpec]:
    """The topics to create: the contract's partitions and cleanup, the settings' replication and retention."""
    replicated = {"min.insync.replicas": str(settings.kafka_min_insync_replicas)}
    rf = settings.kafka_replication_factor
    specs: list[TopicSpec] = []
    for t in topics:
        retention = settings.kafka_topic_retention_ms.get(t.name, t.retention_ms)
        configs = {"retention.ms": str(retention), **replicated}
        if t.compacted:
            configs["cleanup.policy"] = "compact"
        specs.append(TopicSpec(settings.topic_prefix + t.name, t.partitions, rf, configs))
        if t.has_dlq:
            dlq = {"retention.ms": str(settings.kafka_dlq_retention_ms), **replicated}
            specs.append(TopicSpec(settings.topic_prefix + t.dlq, 1, rf, dlq))
    return specs


async def ensure_topics(settings: ServiceSettings, topics: Iterable[Topic[Event]] = ALL_TOPICS) -> list[str]:
    """Create the contract's topics and their dead-letter topics that do not exist; return the names created.

    A topic the broker refuses (more replicas than brokers, a config it rejects) raises
    ``TopicCreationFailed`` naming the topic and the settings; an existing topic with fewer replicas
    than configured is logged (Kafka cannot add replicas at creation time: reassign its partitions).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await admin.start()
    created: list[str] = []
    try:
        wanted = topic_specs(settings, topics)
        existing = set(await admin.list_topics())
        for spec in wanted:
            if spec.name in existing:
                continue
            new = NewTopic(spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.configs)
            response = await admin.create_topics([new])
            for name, code, message in _topic_errors(response):
                if code == TOPIC_ALREADY_EXISTS:
                    continue
                if code:
                    raise _refusal(settings, name, code, message)
                created.append(name)
        present = [s for s in wanted if s.name in existing]
        if present:
            await _warn_under_replicated(admin, present)
    finally:
        await stop_apart(admin.close(), name="topic-admin-close")
    return created


def _topic_errors(response: Any) -> list[tuple[str, int, str | None]]:
    """(topic, error code, message) of a CreateTopics response of any version."""
    return [(e[0], e[1], e[2] if len(e) > 2 else None) for e in response.topic_errors]


def _refusal(
    settings: ServiceSettings, topic: str, code: int, message: str | None
) -> TopicCreationFailed | TopicSettingsRefused:
    what = (
        f"KAFKA_REPLICATION_FACTOR={settings.kafka_replication_factor}, "
        f"KAFKA_MIN_INSYNC_REPLICAS={settings.kafka_min_insync_replicas}"
    )
    text = f"topic {topic} not created (error {code}: {message or 'no message'}); {what}"
    if code in (INVALID_REPLICATION_FACTOR, INVALID_CONFIG):
        return TopicSettingsRefused(text + ": lower them to what the cluster has (1 for a single broker)")
    return TopicCreationFailed(text)


async def _warn_under_replicated(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    """Log existing topics that have fewer replicas than configured (created earlier with other settings)."""
    try:
        described = await admin.describe_topics([s.name for s in specs])
    except Exception as exc:  # a broker without DescribeTopics: a missing warning, not a failure
        log.debug("could not describe existing topics: %s", exc)
        return
    wanted = {s.name: s.replication_factor for s in specs}
    for topic in described:
        partitions = topic.get("partitions") or []
        replicas = min((len(p.get("replicas") or ()) for p in partitions), default=0)
        name = topic.get("topic", "")
        if name in wanted and partitions and replicas < wanted[name]:
            log.warning(
                "topic %s exists with %d replica(s), %d configured: reassign its partitions to replicate it",
                name, replicas, wanted[name],
            )  # fmt: skip
