"""Creating the contract's topics and their dead-letter topics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events import Event
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS, Topic

DLQ_RETENTION_MS: Final = 30 * 24 * 3600 * 1000


async def ensure_topics(settings: ServiceSettings, topics: Iterable[Topic[Event]] = ALL_TOPICS) -> list[str]:
    """Create the contract's topics and their dead-letter topics; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        prefix = settings.topic_prefix
        wanted: list[NewTopic] = []
        for t in topics:
            config = {"retention.ms": str(t.retention_ms)}
            if t.compacted:
                config["cleanup.policy"] = "compact"
            wanted.append(NewTopic(prefix + t.name, t.partitions, 1, topic_configs=config))
            if t.has_dlq:
                dlq_config = {"retention.ms": str(DLQ_RETENTION_MS)}
                wanted.append(NewTopic(prefix + t.dlq, 1, 1, topic_configs=dlq_config))
        for new in wanted:
            if new.name in existing:
                continue
            try:
                await admin.create_topics([new])
                created.append(new.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created
