"""The service's Kafka broker (FastStream), built from settings: acks=all, idempotent where the broker allows."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.partitioner import murmur2
from faststream.kafka import KafkaBroker

from shared.fetch_wait import install_fetch_wait_floor
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

PRODUCER_BATCH_BYTES: Final = 512 * 1024
"""Records buffered per partition before a send waits for the buffer to go out (aiokafka's default: 16 KiB).

A batch handler ``send``s a fetch's outputs back to back; with 16 KiB it waited for the producer every
~10 incident events, and each wait sent one small produce request. Half the broker's ~1 MB batch limit
keeps a whole fetch's outputs in one request per partition; it adds no delay (``linger_ms`` stays 0).
"""


@functools.lru_cache(maxsize=1 << 16)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def keyed_partitioner(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """The default partitioner of aiokafka (murmur2 of the key, as Java's), each key's hash remembered.

    The pure-Python murmur2 cost more per event than encoding it; keys (incidents, targets) repeat.
    """
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[_key_hash(key) % len(all_partitions)]


async def idempotence_refusal(settings: ServiceSettings) -> str | None:
    """Why the broker refuses an idempotent producer (InitProducerId fails: Tansu), or None if it grants one.

    A broker that cannot be reached is no answer: that error propagates, as the real connect's would.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True,
        **settings.kafka_client_options(),
    )  # fmt: skip
    try:
        await producer.start()
    except KafkaConnectionError:
        raise
    except KafkaError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await producer.stop()
    return None


async def producer_options(settings: ServiceSettings) -> dict[str, Any]:
    """acks=all, and idempotence as configured (``auto``: where the broker grants it, the reason logged if not)."""
    mode = settings.kafka_enable_idempotence
    idempotent = mode == "true"
    if mode == "auto":
        reason = await idempotence_refusal(settings)
        idempotent = reason is None
        if reason is not None:
            log.warning("broker refuses an idempotent producer (%s): producing with acks=all without it", reason)
    return {"acks": "all", "enable_idempotence": idempotent}


class ServiceBroker(KafkaBroker):
    """FastStream's broker whose producer is idempotent where the broker allows (``KAFKA_ENABLE_IDEMPOTENCE``)."""

    def __init__(self, settings: ServiceSettings, **kwargs: Any) -> None:
        self.idempotence_mode = settings.kafka_enable_idempotence
        self._ir_settings = settings
        super().__init__(
            settings.kafka_bootstrap_servers, security=settings.kafka_security(), acks="all",
            enable_idempotence=self.idempotence_mode != "false", max_batch_size=PRODUCER_BATCH_BYTES,
            partitioner=keyed_partitioner, **kwargs,
        )  # fmt: skip

    @property
    def idempotent(self) -> bool:
        """Whether the producer is (to be) created idempotent."""
        return bool(self._connection_kwargs.get("enable_idempotence"))

    async def _connect(self) -> Callable[..., AIOKafkaConsumer]:
        # The in-memory test broker patches _connect, so this probe only runs against a real server.
        if self.idempotence_mode == "auto":
            options = await producer_options(self._ir_settings)
            self._connection_kwargs["enable_idempotence"] = options["enable_idempotence"]
        return await super()._connect()


def no_correlation_id() -> str:
    """FastStream's id for a publish that names none: empty, so no ``correlation_id`` header is written.

    A record's correlation is the CloudEvents ``correlationid`` (the incident) in the event itself; a random
    per-record header beside it would be a second, contradicting one.
    """
    return ""


def make_broker(settings: ServiceSettings, *, client_id: str) -> KafkaBroker:
    """Create the service's broker from settings (no connection is made until start)."""
    install_fetch_wait_floor(idle_share=settings.fetch_idle_share)
    return ServiceBroker(
        settings,
        client_id=client_id,
        logger=logging.getLogger(f"faststream.{client_id}"),
        id_generator=no_correlation_id,
        log_level=logging.DEBUG,
    )
