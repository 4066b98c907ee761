"""The service's Kafka broker (FastStream), built from settings."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker

from shared.fetch_wait import install_fetch_wait_floor
from shared.settings import ServiceSettings


def no_correlation_id() -> str:
    """FastStream's id for a publish that names none: empty, so no ``correlation_id`` header is written.

    A record's correlation is the CloudEvents ``correlationid`` (the incident) in the event itself; a random
    per-record header beside it would be a second, contradicting one.
    """
    return ""


def make_broker(settings: ServiceSettings, *, client_id: str) -> KafkaBroker:
    """Create the service's broker from settings (no connection is made until start)."""
    install_fetch_wait_floor(idle_share=settings.fetch_idle_share)
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        security=settings.kafka_security(),
        acks="all",
        logger=logging.getLogger(f"faststream.{client_id}"),
        id_generator=no_correlation_id,
        log_level=logging.DEBUG,
    )
