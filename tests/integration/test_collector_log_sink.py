"""The Elasticsearch log sink on a real server: mappings, idempotent re-sends, and an unreachable server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from elasticsearch import AsyncElasticsearch

from incidentctl.procs import free_port
from services.collector.adapters.elasticsearch_sink import ElasticsearchLogSink, SinkUnavailable
from services.collector.domain.logdocs import LogDocument, to_document
from services.collector.domain.loglines import LogRecord
from services.collector.domain.offsets import FileId

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TRACE = (
    "2026-11-25 07:00:01,000 ERROR demo [T] Payment backend unavailable: upstream returned 503",
    "Traceback (most recent call last):",
    '  File "/app/demo.py", line 9, in pay',
    "UpstreamUnavailable: 503",
)


def docs(prefix: str) -> list[LogDocument]:
    records = [LogRecord(TRACE, 0, 200), LogRecord(("2026-11-25 07:00:02,000 INFO demo [T] GET / 200",), 200, 250)]
    read_at = datetime(2026, 11, 25, 8, tzinfo=UTC)
    return [
        to_document(
            r, service="demo", host="h1", path="/x.log", file=FileId(1, 2), index_prefix=prefix, read_at=read_at
        )
        for r in records
    ]


async def test_sink_indexes_once_even_when_resent(elasticsearch_url: str, unique: str) -> None:
    prefix = f"it-sink-{unique}"
    sink = ElasticsearchLogSink(elasticsearch_url)
    client = AsyncElasticsearch(elasticsearch_url)
    try:
        batch = docs(prefix)
        assert await sink.write(batch) == []
        assert await sink.write(batch) == []
        index = f"{prefix}-2026.11.25"
        await client.indices.refresh(index=index)
        assert (await client.count(index=index))["count"] == 2
        found = await client.search(index=index, query={"term": {"level": "ERROR"}})
        hit = found["hits"]["hits"][0]["_source"]
        assert hit["message"] == "\n".join(("demo [T] Payment backend unavailable: upstream returned 503", *TRACE[1:]))
        assert hit["@timestamp"].startswith("2026-11-25T07:00:01")
        mapping = await client.indices.get_mapping(index=index)
        assert mapping[index]["mappings"]["properties"]["level"]["type"] == "keyword"
    finally:
        await sink.close()
        await client.close()


async def test_unreachable_server_is_reported_not_swallowed(unique: str) -> None:
    sink = ElasticsearchLogSink(f"http://127.0.0.1:{free_port()}", timeout_s=2.0)
    try:
        with pytest.raises(SinkUnavailable):
            await sink.write(docs(f"it-down-{unique}"))
    finally:
        await sink.close()
