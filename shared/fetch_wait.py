"""Client-side floor on the duration of an empty Kafka fetch, for brokers that ignore ``fetch.max.wait.ms``.

Kafka holds a fetch that finds no records for up to ``fetch.max.wait.ms`` (aiokafka: 500 ms)
before answering, so an idle consumer sends about two requests a second. Some Kafka-protocol
stand-ins (noida-db 0.2.3, measured) answer an empty fetch at once; aiokafka then re-sends
immediately and every idle consumer spins a CPU core. With the floor installed, a fetch that
brought nothing and returned early waits out the rest of ``min_wait_s`` before the next one.
Against a real broker an empty fetch already lasted ``fetch.max.wait.ms``, so this changes nothing
there; a fetch that brought records is never delayed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiokafka.consumer.fetcher import Fetcher

DEFAULT_MIN_WAIT_S: Final = 0.1
_MARK: Final = "_ir_min_wait_s"

FetchProc = Callable[[Any, Any, int, Any], Awaitable[bool]]


def install_fetch_wait_floor(min_wait_s: float = DEFAULT_MIN_WAIT_S) -> None:
    """Make every empty fetch of this process's aiokafka consumers last at least ``min_wait_s`` (idempotent)."""
    current: FetchProc = Fetcher._proc_fetch_request
    if getattr(current, _MARK, None) is not None:
        setattr(current, _MARK, min_wait_s)
        return
    original = current

    async def proc_fetch_request(self: Any, assignment: Any, node_id: int, request: Any) -> bool:
        started = time.monotonic()
        got_records = await original(self, assignment, node_id, request)
        if got_records:
            return True
        floor = min(getattr(proc_fetch_request, _MARK), self._fetch_max_wait_ms / 1000)
        remaining = floor - (time.monotonic() - started)
        if remaining > 0:
            try:
                await asyncio.sleep(remaining)
            except asyncio.CancelledError:  # the fetcher cancels on rebalance or close, as for the request
                return False
        return False

    setattr(proc_fetch_request, _MARK, min_wait_s)
    Fetcher._proc_fetch_request = proc_fetch_request
