"""HTTP probes of a target with httpx: N concurrent GETs per scrape; timeouts and refusals count as errors."""

from __future__ import annotations

import asyncio
import time

import httpx

from services.collector.domain.probes import ProbeResult


class HttpProber:
    """Sends probe requests over one shared async client."""

    def __init__(self, *, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, headers={"user-agent": "collector"})

    async def probe(self, url: str, count: int) -> list[ProbeResult]:
        """Send ``count`` concurrent GET requests to ``url`` and return their outcomes."""
        return list(await asyncio.gather(*(self._one(url) for _ in range(count))))

    async def _one(self, url: str) -> ProbeResult:
        started = time.perf_counter()
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            return ProbeResult(None, (time.perf_counter() - started) * 1000.0, type(exc).__name__)
        return ProbeResult(response.status_code, (time.perf_counter() - started) * 1000.0)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
