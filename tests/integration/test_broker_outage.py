"""After the broker goes away and comes back, a service sends again what it published just before.

noida-db killed right after acknowledging a write comes back without it (it saves its data file
after a while, not before the acknowledgement): in the chaos run an incident's resolution was gone,
so the incident stayed open on the topic for good. The bus keeps what it published in the last
30 s and, once the broker answers, sends again (same ids) what is no longer on its topic.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from incidentctl.embedded import EMBEDDED_IDEMPOTENCE, start_broker
from incidentctl.procs import free_port, terminate
from shared import topics
from shared.outage import resend_after_outage
from shared.replay import replay
from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from tests.factories import metrics

pytestmark = pytest.mark.integration


async def _ids_on(settings: ServiceSettings) -> list[str]:
    try:
        return [event.id async for _, event in replay(settings, [settings.topic_prefix + topics.METRICS.name])]
    except KafkaConnectionError:  # a broker just restarted may close the first connections
        return []


@pytest.mark.parametrize(
    ("every_s", "away_s"),
    [(0.5, 1.5), (5.0, 0.0)],
    ids=["a-ping-fails", "back-between-two-pings"],
)
async def test_what_was_published_before_an_outage_is_sent_again_when_the_broker_is_back(
    tmp_path: Path, every_s: float, away_s: float
) -> None:
    port = free_port()
    broker = start_broker(tmp_path / "data", tmp_path / "before.log", kafka_port=port, elasticsearch=False)
    settings = ServiceSettings(kafka_bootstrap_servers=broker.kafka, kafka_enable_idempotence=EMBEDDED_IDEMPOTENCE)
    await ensure_topics(settings)
    await asyncio.sleep(3)  # the topics are on disk by now; a record written next is not, for a moment
    service = Service.create("outage-test", settings)
    await service.broker.start()
    watcher = asyncio.create_task(resend_after_outage(service, every_s=every_s))
    try:
        kept = metrics("demo", t=0, **{"process.up": 1.0})
        assert await service.bus.publish(kept, key="demo")
        await asyncio.sleep(3)  # on disk by now
        scrape = metrics("demo", t=1, **{"process.up": 1.0})
        assert await service.bus.publish(scrape, key="demo")  # acknowledged, not on disk yet
        os.killpg(os.getpgid(broker.process.pid), signal.SIGKILL)
        broker.process.wait()
        await asyncio.sleep(away_s)  # 0: no ping fails, the watcher's idle connection closing tells
        broker = start_broker(tmp_path / "data", tmp_path / "after.log", kafka_port=port, elasticsearch=False)
        async with asyncio.timeout(30):
            while scrape.id not in (ids := await _ids_on(settings)):
                await asyncio.sleep(0.5)
        assert ids == [kept.id, scrape.id], "only what the broker lost is sent again, same id"
        assert not await service.bus.publish(scrape, key="demo"), "still published once as far as the bus knows"
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await service.broker.stop()
        terminate(broker.process.pid)
