"""After a broker outage, send again what the broker lost.

A broker killed right after acknowledging a write may come back without it: noida-db saves its
data file a moment after it answers. In the chaos run an incident's resolution was lost that way
(its pages had gone out; on the topic it stayed open for good). Services fold what they publish
into their state and never publish it again, so the bus sends again, same ids, what it published
in the last ``within_s`` seconds and is no longer on its topic (``EventBus.resend_missing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from shared.bus import EventBus, PublishFailed
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
OUTAGE_PING_S: Final = 1.0
RESEND_WITHIN_S: Final = 30.0
CONNECT_TIMEOUT_S: Final = 2.0


class Connected(Protocol):
    """What the outage watch needs of a service."""

    settings: ServiceSettings
    broker: KafkaBroker
    bus: EventBus


@dataclass
class BrokerLink:
    """An idle TCP connection held open to the first bootstrap server.

    It closes when that broker's process dies, however briefly the broker is away: a restart
    that falls between two pings is seen too (the chaos run's noida-db was back within 1.1 s,
    and the ping never failed). A broker that closes idle connections (Kafka, after
    ``connections.max.idle.ms``) only costs a check that finds nothing missing.
    """

    host: str
    port: int
    _reader: asyncio.StreamReader | None = field(default=None, repr=False)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)

    @classmethod
    def to(cls, bootstrap_servers: str) -> BrokerLink:
        """The link to the first of ``host:port,host:port``."""
        host, _, port = bootstrap_servers.split(",")[0].strip().rpartition(":")
        return cls(host.strip("[]"), int(port))

    async def lost(self) -> bool:
        """Whether the connection closed since the last call; (re)connect when there is none."""
        reader = self._reader
        if reader is not None and not (reader.at_eof() or reader.exception() is not None):
            return False
        self.close()
        with contextlib.suppress(OSError, TimeoutError):
            connecting = asyncio.open_connection(self.host, self.port)
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                self._reader, self._writer = await connecting
        return reader is not None

    def close(self) -> None:
        """Drop the connection, if any."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def resend_after_outage(
    service: Connected, *, every_s: float = OUTAGE_PING_S, within_s: float = RESEND_WITHIN_S
) -> None:
    """Every ``every_s``, watch the broker; once it is back after it was away, resend what it lost.

    Away means a ping failed or the `BrokerLink` closed.
    """
    link = BrokerLink.to(service.settings.kafka_bootstrap_servers)
    away = False
    try:
        while True:
            away = await link.lost() or away
            if not await service.broker.ping(timeout=every_s):
                away = True
            elif away:
                away = not await _resend_missing(service.bus, within_s)
            await asyncio.sleep(every_s)
    finally:
        link.close()


async def _resend_missing(bus: EventBus, within_s: float) -> bool:
    """Resend what the broker no longer has; False if that could not be checked (try again later)."""
    try:
        count = await bus.resend_missing(within_s)
        if count:
            log.warning("the broker came back without %d events published in the %gs before; sent again", count,
                        within_s)  # fmt: skip
        await bus.flush()
    except (PublishFailed, KafkaError, OSError) as exc:
        log.warning("checking what the broker lost in the outage failed: %s", exc)
        return False
    return True
