"""Client-side floor on the duration of an empty Kafka fetch, for brokers that ignore ``fetch.max.wait.ms``.

Kafka holds a fetch that finds no records for up to ``fetch.max.wait.ms`` (aiokafka: 500 ms)
before answering, so an idle consumer sends about two requests a second. Some Kafka-protocol
stand-ins (noida-db 0.2.3, measured) answer an empty fetch at once; aiokafka then re-sends
immediately and every idle consumer spins a CPU core. With the floor installed, a fetch that
brought nothing and returned early waits before the next one, for a quarter of the time since
records last came (at least 1 ms, at most ``min_wait_s``). A record is thus delayed by at most a
quarter of the gap before it (and never more than ``min_wait_s``): 3 ms in a stream of one
record every 10 ms, 25 ms after a 100 ms pause; a consumer idle for more than ~0.4 s sends
about ten requests a second. Against a real broker an empty fetch
already lasted ``fetch.max.wait.ms``, so this changes nothing there; a fetch that brought records
is never delayed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiokafka.consumer.fetcher import Fetcher

DEFAULT_MIN_WAIT_S: Final = 0.1
SHORTEST_WAIT_S: Final = 0.001
IDLE_SHARE: Final = 0.25
_MARK: Final = "_ir_min_wait_s"
_SHARE: Final = "_ir_idle_share"
_LAST_RECORDS: Final = "_ir_last_records_at"

FetchProc = Callable[[Any, Any, int, Any], Awaitable[bool]]


def install_fetch_wait_floor(min_wait_s: float = DEFAULT_MIN_WAIT_S, *, idle_share: float = IDLE_SHARE) -> None:
    """Make every empty fetch of this process's aiokafka consumers wait (idempotent; see the module).

    ``idle_share`` is the share of the idle time an empty fetch waits (``IR_FETCH_IDLE_SHARE``);
    a large value gives a fixed ``min_wait_s`` floor.
    """
    current: FetchProc = Fetcher._proc_fetch_request
    if getattr(current, _MARK, None) is not None:
        setattr(current, _MARK, min_wait_s)
        setattr(current, _SHARE, idle_share)
        return
    original = current

    async def proc_fetch_request(self: Any, assignment: Any, node_id: int, request: Any) -> bool:
        started = time.monotonic()
        got_records = await original(self, assignment, node_id, request)
        last_records: dict[int, float] = self.__dict__.setdefault(_LAST_RECORDS, {})
        if got_records:
            last_records[node_id] = time.monotonic()
            return True
        ceiling = min(getattr(proc_fetch_request, _MARK), self._fetch_max_wait_ms / 1000)
        idle_s = started - last_records.get(node_id, float("-inf"))
        floor = empty_fetch_wait(idle_s, ceiling, share=getattr(proc_fetch_request, _SHARE))
        remaining = floor - (time.monotonic() - started)
        if remaining > 0:
            try:
                await asyncio.sleep(remaining)
            except asyncio.CancelledError:  # the fetcher cancels on rebalance or close, as for the request
                return False
        return False

    setattr(proc_fetch_request, _MARK, min_wait_s)
    setattr(proc_fetch_request, _SHARE, idle_share)
    Fetcher._proc_fetch_request = proc_fetch_request


def empty_fetch_wait(idle_s: float, ceiling: float, *, share: float = IDLE_SHARE) -> float:
    """Seconds an empty fetch lasts at least, ``idle_s`` after records last came."""
    return min(ceiling, max(SHORTEST_WAIT_S, share * max(idle_s, SHORTEST_WAIT_S)))
