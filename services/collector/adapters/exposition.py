"""Fetch an exposition endpoint with httpx: OpenMetrics asked first, the body capped, every failure one error."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx

from services.collector.domain.exposition import ACCEPT, ExpositionError


@dataclass(frozen=True, slots=True)
class Fetched:
    """An endpoint's body and its content type."""

    text: str
    content_type: str


class ExpositionFetcher:
    """GETs exposition endpoints over one shared async client."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._owned = client is None
        self._client = client or httpx.AsyncClient(follow_redirects=False, headers={"user-agent": "collector"})

    async def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Fetched:
        """Return the body of ``url``; raise ``ExpositionError`` (a short reason, no URL) on any failure.

        ``timeout_s`` bounds the whole fetch, so an endpoint dribbling bytes cannot hold the scrape.
        """
        try:
            async with asyncio.timeout(timeout_s), self._stream(url, timeout_s) as response:
                if response.status_code != httpx.codes.OK:
                    raise ExpositionError(f"HTTP status {response.status_code}", "http_status")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise ExpositionError(f"body larger than {max_bytes} bytes", "too_large")
                content_type = response.headers.get("content-type", "")
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise ExpositionError(f"timed out after {timeout_s:g}s", "timeout") from exc
        except httpx.HTTPError as exc:
            raise ExpositionError(f"unreachable: {type(exc).__name__}", "unreachable") from exc
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExpositionError("body is not UTF-8", "not_utf8") from exc
        return Fetched(text, content_type)

    def _stream(self, url: str, timeout_s: float) -> AbstractAsyncContextManager[httpx.Response]:
        return self._client.stream("GET", url, headers={"accept": ACCEPT}, timeout=timeout_s)

    async def close(self) -> None:
        """Close the connection pool (when this fetcher made it)."""
        if self._owned:
            await self._client.aclose()
