from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, helpers

from incidentctl.procs import free_port
from services.detector.adapters.es_logs import ElasticsearchLogSource, LogFields, LogSourceError
from services.detector.domain.logmining import LogRecord, TemplateMiner

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BULK_DOCS = 10_500
STACK = 'Unhandled exception in worker 7\nTraceback (most recent call last):\n  File "app.py", line 3\nValueError: x'
LONG = "payload " + "x" * 100_000
RAW_BYTES = b"bad \xff\xfe bytes from device 12"


def _ts(i: int) -> str:
    return (T0 + timedelta(milliseconds=100 * i)).isoformat().replace("+00:00", "Z")


def _doc(index: str, i: int) -> dict[str, Any]:
    return {
        "_index": index,
        "_id": f"d{i}",
        "_source": {
            "@timestamp": _ts(i),
            "message": f"request {i} served in {i % 97} ms",
            "log": {"level": "ERROR" if i % 50 == 0 else "INFO"},
            "service": {"name": f"svc-{i % 3}"},
            "host": {"name": "node-1"},
        },
    }


async def _collect(records: AsyncIterator[LogRecord]) -> list[LogRecord]:
    return [r async for r in records]


@pytest.fixture
async def log_index(elasticsearch_url: str, unique: str) -> AsyncIterator[tuple[AsyncElasticsearch, str]]:
    client = AsyncElasticsearch(elasticsearch_url, request_timeout=60)
    index = f"application-logs-it-{unique}"
    docs = [_doc(index, i) for i in range(BULK_DOCS)]
    specials = {
        "no-level": {"@timestamp": _ts(BULK_DOCS), "message": "only a message"},
        "bare": {"@timestamp": _ts(BULK_DOCS + 1)},
        "stack": {"@timestamp": _ts(BULK_DOCS + 2), "message": STACK, "log.level": "ERROR"},
        "long": {"@timestamp": _ts(BULK_DOCS + 3), "message": LONG},
        # A shipper decodes undecodable bytes with replacement characters before indexing.
        "bytes": {"@timestamp": _ts(BULK_DOCS + 4), "message": RAW_BYTES.decode("utf-8", errors="replace")},
    }
    docs += [{"_index": index, "_id": k, "_source": v} for k, v in specials.items()]
    await helpers.async_bulk(client, docs, chunk_size=2_000, refresh=True)
    yield client, index
    await client.options(ignore_status=404).indices.delete(index=index)
    await client.close()


async def test_reads_a_large_time_frame_fully_in_order(log_index: tuple[AsyncElasticsearch, str]) -> None:
    client, index = log_index
    source = ElasticsearchLogSource(client, index=index, page_size=1_000)
    records = await _collect(source.read(T0, T0 + timedelta(hours=2)))

    assert len(records) == BULK_DOCS + 5
    assert len({r.doc_id for r in records}) == len(records)
    assert all(a.timestamp <= b.timestamp for a, b in itertools.pairwise(records))
    first = records[0]
    assert (first.doc_id, first.level, first.service, first.host) == ("d0", "ERROR", "svc-0", "node-1")
    assert first.timestamp == T0
    assert first.message == "request 0 served in 0 ms"


async def test_reads_only_the_asked_window(log_index: tuple[AsyncElasticsearch, str]) -> None:
    client, index = log_index
    source = ElasticsearchLogSource(client, index=index, page_size=300)
    records = await _collect(source.read(T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)))
    assert [r.doc_id for r in records] == [f"d{i}" for i in range(100, 200)]


async def test_odd_documents_round_trip(log_index: tuple[AsyncElasticsearch, str]) -> None:
    client, index = log_index
    source = ElasticsearchLogSource(client, index=index)
    start = T0 + timedelta(milliseconds=100 * BULK_DOCS)
    by_id = {r.doc_id: r for r in await _collect(source.read(start, start + timedelta(seconds=1)))}

    assert (by_id["no-level"].message, by_id["no-level"].level, by_id["no-level"].service) == ("only a message", "", "")
    assert (by_id["bare"].message, by_id["bare"].host) == ("", "")
    assert by_id["stack"].message == STACK
    assert by_id["stack"].level == "ERROR"  # a flat dotted field name is found too
    assert by_id["long"].message == LONG
    assert by_id["bytes"].message == "bad \ufffd\ufffd bytes from device 12"

    miner = TemplateMiner()
    assert miner.add(by_id["stack"].message).template == "Unhandled exception in worker <*>"
    assert miner.add(by_id["bytes"].message).template == "bad \ufffd\ufffd bytes from device <*>"
    assert len(miner.add(by_id["long"].message).template) < 1_000


async def test_custom_field_names(log_index: tuple[AsyncElasticsearch, str]) -> None:
    client, index = log_index
    fields = LogFields(message="host.name", level="service.name")
    source = ElasticsearchLogSource(client, index=index, fields=fields)
    records = await _collect(source.read(T0, T0 + timedelta(milliseconds=100)))
    assert [(r.message, r.level) for r in records] == [("node-1", "svc-0")]


async def test_follow_yields_backlog_then_new_documents(log_index: tuple[AsyncElasticsearch, str]) -> None:
    client, index = log_index
    source = ElasticsearchLogSource(client, index=index, page_size=500)
    stop = asyncio.Event()
    start = T0 + timedelta(milliseconds=100 * (BULK_DOCS - 3))
    stream = source.follow(start, poll_seconds=0.2, stop=stop)

    async def next_ids(n: int) -> list[str]:
        return [(await asyncio.wait_for(anext(stream), timeout=20)).doc_id for _ in range(n)]

    backlog = await next_ids(8)
    assert backlog[:3] == [f"d{BULK_DOCS - 3}", f"d{BULK_DOCS - 2}", f"d{BULK_DOCS - 1}"]
    late = [_doc(index, BULK_DOCS + 10 + i) for i in range(3)]
    await helpers.async_bulk(client, late, refresh=True)
    assert await next_ids(3) == [d["_id"] for d in late]
    stop.set()
    await stream.aclose()


async def test_unreachable_server_raises_log_source_error() -> None:
    source = ElasticsearchLogSource.from_url(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(LogSourceError, match="point in time"):
            await _collect(source.read(T0, T0 + timedelta(minutes=1)))
    finally:
        await source.close()
