"""Bulk-index log documents into Elasticsearch with the official async client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final, Protocol

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError

from services.collector.domain.logdocs import LogDocument
from shared.errors import StorageError

log = logging.getLogger(__name__)

RETRYABLE_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504})
LOG_MAPPINGS: Final[dict[str, Any]] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "message": {"type": "text"},
        "level": {"type": "keyword"},
        "service": {"type": "keyword"},
        "host": {"type": "keyword"},
        "log": {"properties": {"file": {"properties": {"path": {"type": "keyword"}}}, "offset": {"type": "long"}}},
    }
}


class SinkUnavailable(StorageError):
    """The log store could not be reached or refused the whole request; try again later."""


class LogSink(Protocol):
    """Where shipped log documents go."""

    async def write(self, docs: Sequence[LogDocument]) -> list[LogDocument]:
        """Index ``docs``; return those to retry, raise ``SinkUnavailable`` if nothing was stored."""
        ...


class ElasticsearchLogSink:
    """Writes documents with the bulk API, creating each daily index with explicit mappings first."""

    def __init__(
        self, url: str, *, api_key: str | None = None, timeout_s: float = 10.0, options: dict[str, Any] | None = None
    ) -> None:
        """``options``: credentials and TLS (``ServiceSettings.elasticsearch_options()``)."""
        opts: dict[str, Any] = {"api_key": api_key} if api_key else {}
        opts |= options or {}
        self.client = AsyncElasticsearch(url, request_timeout=timeout_s, max_retries=0, **opts)
        self._indices: set[str] = set()

    async def _ensure_index(self, name: str) -> None:
        if name in self._indices:
            return
        try:
            await self.client.indices.create(index=name, mappings=LOG_MAPPINGS)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        self._indices.add(name)

    async def write(self, docs: Sequence[LogDocument]) -> list[LogDocument]:
        """Index ``docs`` (same id again overwrites); return the ones that failed transiently."""
        if not docs:
            return []
        operations: list[dict[str, Any]] = []
        for doc in docs:
            operations += [{"index": {"_index": doc.index, "_id": doc.doc_id}}, doc.source]
        try:
            for name in sorted({d.index for d in docs}):
                await self._ensure_index(name)
            response = await self.client.bulk(operations=operations)
        except (TransportError, ApiError) as exc:
            raise SinkUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not response.get("errors"):
            return []
        retry: list[LogDocument] = []
        for doc, item in zip(docs, response["items"], strict=True):
            result = item.get("index", {})
            status = int(result.get("status", 500))
            if status < 300:
                continue
            if status in RETRYABLE_STATUS:
                retry.append(doc)
            else:
                log.error("log document rejected index=%s status=%s error=%s", doc.index, status, result.get("error"))
        return retry

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()
