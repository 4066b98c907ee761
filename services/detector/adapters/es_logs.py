"""Log source over Elasticsearch: time-frame reads (point in time + search_after) and a follow mode."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from services.detector.domain.logmining.findings import LogRecord
from shared.errors import StorageError

DEFAULT_INDEX: Final = "application-logs*"
MAX_MESSAGE_CHARS: Final = 1_000_000
_SURROGATE: Final = re.compile("[\ud800-\udfff]")  # lone surrogates cannot be encoded as UTF-8


class LogSourceError(StorageError):
    """Reading logs failed (server unreachable, rejected query, ...)."""


@dataclass(frozen=True, slots=True)
class LogFields:
    """Document field names (dotted paths into `_source`) that hold each part of a log record."""

    timestamp: str = "@timestamp"
    message: str = "message"
    level: str = "log.level"
    service: str = "service.name"
    host: str = "host.name"


class LogSource(Protocol):
    """Where log records come from."""

    def read(self, start: datetime, end: datetime) -> AsyncIterator[LogRecord]:
        """Yield the records with start <= timestamp < end, oldest first."""
        ...

    def follow(self, start: datetime, *, poll_seconds: float, stop: asyncio.Event) -> AsyncIterator[LogRecord]:
        """Yield records from `start` on, then new ones as they arrive, until `stop` is set."""
        ...


def _lookup(source: Mapping[str, Any], path: str) -> Any:
    if path in source:
        return source[path]
    node: Any = source
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def clean_text(value: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Return a field value as valid UTF-8 text (lone surrogates replaced), cut at `limit` characters."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, list):
        text = "\n".join(clean_text(v, limit) for v in value)
    else:
        text = str(value)
    text = text[:limit]
    return _SURROGATE.sub("\ufffd", text)


class ElasticsearchLogSource:
    """Reads log documents from an index pattern with the official async client."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        *,
        index: str = DEFAULT_INDEX,
        fields: LogFields | None = None,
        page_size: int = 1_000,
        keep_alive: str = "2m",
    ) -> None:
        self._client = client
        self.index = index
        self.fields = fields or LogFields()
        self.page_size = page_size
        self.keep_alive = keep_alive

    @classmethod
    def from_url(cls, url: str, *, options: dict[str, Any] | None = None, **kwargs: Any) -> ElasticsearchLogSource:
        """Build a source with its own client for `url` (``options``: credentials and TLS)."""
        return cls(AsyncElasticsearch(url, request_timeout=30, **(options or {})), **kwargs)

    async def close(self) -> None:
        """Close the underlying client."""
        await self._client.close()

    async def read(self, start: datetime, end: datetime) -> AsyncIterator[LogRecord]:
        """Yield the records with start <= timestamp < end, oldest first, paging through a point in time."""
        query = {"range": {self.fields.timestamp: {"gte": _iso(start), "lt": _iso(end)}}}
        async for hit in self.scan_hits(query):
            yield self.to_record(hit)

    async def follow(
        self, start: datetime, *, poll_seconds: float = 2.0, stop: asyncio.Event | None = None
    ) -> AsyncIterator[LogRecord]:
        """Yield records from `start` on, then poll for new ones every `poll_seconds` until `stop` is set.

        Each poll reads `timestamp >= last timestamp seen` in a fresh point in time and skips the
        documents already yielded at that timestamp; documents indexed later with an older timestamp
        than the cursor are not seen.
        """
        stop = stop or asyncio.Event()
        cursor = start
        seen_at_cursor: set[str] = set()
        while not stop.is_set():
            query = {"range": {self.fields.timestamp: {"gte": _iso(cursor)}}}
            async for hit in self.scan_hits(query):
                record = self.to_record(hit)
                if record.timestamp == cursor and record.doc_id in seen_at_cursor:
                    continue
                if record.timestamp > cursor:
                    cursor, seen_at_cursor = record.timestamp, set()
                seen_at_cursor.add(record.doc_id)
                yield record
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await stop.wait()

    async def scan_hits(self, query: Mapping[str, Any]) -> AsyncIterator[Mapping[str, Any]]:
        """Yield the raw hits of `query` oldest first: one point in time, search_after paging."""
        sort: list[Mapping[str, Any]] = [{self.fields.timestamp: {"order": "asc"}}, {"_shard_doc": "asc"}]
        try:
            pit = await self._client.open_point_in_time(
                index=self.index, keep_alive=self.keep_alive, ignore_unavailable=True
            )
            pit_id: str = pit["id"]
        except (ApiError, TransportError) as exc:
            raise LogSourceError(f"cannot open point in time on {self.index!r}: {exc}") from exc
        after: list[Any] | None = None
        try:
            while True:
                try:
                    resp = await self._client.search(
                        pit={"id": pit_id, "keep_alive": self.keep_alive},
                        query=dict(query),
                        sort=sort,
                        size=self.page_size,
                        search_after=after,
                        track_total_hits=False,
                    )
                except (ApiError, TransportError) as exc:
                    raise LogSourceError(f"search on {self.index!r} failed: {exc}") from exc
                pit_id = resp.get("pit_id", pit_id)
                hits = resp["hits"]["hits"]
                for hit in hits:
                    yield hit
                if len(hits) < self.page_size:
                    return
                after = hits[-1]["sort"]
        finally:
            with contextlib.suppress(ApiError, TransportError):  # else it expires after keep_alive
                await self._client.close_point_in_time(id=pit_id)

    def to_record(self, hit: Mapping[str, Any]) -> LogRecord:
        """Turn one hit into a record; missing fields become empty strings, text becomes valid UTF-8."""
        source: Mapping[str, Any] = hit.get("_source") or {}
        f = self.fields
        return LogRecord(
            timestamp=_timestamp(_lookup(source, f.timestamp), hit.get("sort")),
            message=clean_text(_lookup(source, f.message)),
            level=clean_text(_lookup(source, f.level), 64),
            service=clean_text(_lookup(source, f.service), 256),
            host=clean_text(_lookup(source, f.host), 256),
            doc_id=str(hit.get("_id", "")),
        )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _timestamp(value: Any, sort: Any) -> datetime:
    """Parse the document timestamp; fall back to the sort value Elasticsearch computed from it."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(sort, list) and sort and isinstance(sort[0], int | float):
        return datetime.fromtimestamp(sort[0] / 1000, UTC)
    if isinstance(sort, list) and sort and isinstance(sort[0], str):
        try:
            return datetime.fromisoformat(sort[0].replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.fromtimestamp(0, UTC)
