"""The detector's log loop on real Elasticsearch and Kafka: an error burst becomes one log-pattern anomaly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, helpers

from services.detector.app import build
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared.replay import replay
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SERVICE = "demo-logs-it"
ERROR = "Unhandled error in request {n}: database timeout after {ms} ms\nTraceback (most recent call last):\n  File x"


def doc(index: str, ts: datetime, message: str, level: str) -> dict[str, Any]:
    stamp = ts.isoformat().replace("+00:00", "Z")
    source = {"@timestamp": stamp, "message": message, "level": level, "service": SERVICE, "host": "h1"}
    return {"_index": index, "_source": source}


@pytest.fixture
async def es(elasticsearch_url: str) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(elasticsearch_url, request_timeout=30)
    yield client
    await client.close()


async def test_an_error_burst_in_elasticsearch_becomes_a_log_pattern_anomaly(
    kafka_bootstrap: str, elasticsearch_url: str, unique: str, es: AsyncElasticsearch
) -> None:
    index = f"application-logs-det-{unique}"
    settings = DetectorSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        elasticsearch_url=elasticsearch_url,
        topic_prefix=f"t{unique}.",
        group_id=f"detector-{unique}",
        logs={
            "enabled": True,
            "index_pattern": f"application-logs-det-{unique}*",
            "poll_interval_s": 0.5,
            "lookback_s": 120,
            "close_delay_s": 2,
            "patterns": {"bucket_seconds": 2, "learning_seconds": 0, "new_template_seconds": 10, "spike_min_count": 5},
        },
    )
    await ensure_topics(settings)
    now = datetime.now(UTC)
    docs = [doc(index, now - timedelta(seconds=30 - i), f"GET /items/{i} 200 in {i % 9} ms", "INFO") for i in range(28)]
    docs += [
        doc(index, now - timedelta(milliseconds=900 - 50 * n), ERROR.format(n=100 + n, ms=n * 7), "ERROR")
        for n in range(12)
    ]
    await helpers.async_bulk(es, docs, refresh=True)
    detector = build(settings)
    await detector.start()
    try:
        found: list[ev.Envelope[Any]] = []
        async with asyncio.timeout(45):
            while not found:
                await asyncio.sleep(0.3)
                topic = settings.topic_prefix + ANOMALIES.name
                found = [e async for _, e in replay(settings, [topic]) if e.data.kind == "log_pattern"]
        anomaly = found[0].data
        assert isinstance(found[0], ev.AnomalyDetected)
        assert anomaly.target == SERVICE and anomaly.host == "h1" and anomaly.signal.startswith("log:")
        assert "database timeout" in anomaly.labels["template"] and "<*>" in anomaly.labels["template"]
        assert anomaly.samples and all("database timeout" in s for s in anomaly.samples)
        assert anomaly.impact == "partial_function"
        assert {e.data.signal for e in found} == {anomaly.signal}, "one burst, one anomaly"
        assert detector.logs is not None and detector.logs.ingested == len(docs)
    finally:
        await detector.stop()

    restarted = build(settings)
    await restarted.start()  # restores miner, cursor and open episodes from the state topic
    try:
        assert restarted.logs is not None and detector.logs is not None
        assert restarted.logs.watch.cursor == detector.logs.watch.cursor
        again = restarted.logs.watch.miner.add(ERROR.format(n=999, ms=1))
        assert f"log:{again.template_id}" == anomaly.signal, "template ids survive a restart"
        later = datetime.now(UTC) + timedelta(seconds=1)
        await helpers.async_bulk(es, [doc(index, later, "GET /items/1 200 in 3 ms", "INFO")], refresh=True)
        async with asyncio.timeout(30):
            while restarted.logs.watch.cursor != later:
                await asyncio.sleep(0.2)
        assert restarted.logs.ingested <= 2, "the restarted loop resumes at its cursor, not at the lookback"
    finally:
        await restarted.stop()
        await es.options(ignore_status=404).indices.delete(index=index)
