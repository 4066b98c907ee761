"""A group member's stop is bounded: a consumer whose own stop does not return is left behind, and a
loop that swallowed its cancellation ends at its next turn (or is left behind), never waited for."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from shared import consumer as consumer_module
from shared.consumer import POLL_MS, GroupMember
from shared.settings import ServiceSettings
from shared.stopping import left_behind


class StuckConsumer:
    """Stands in for an aiokafka consumer whose fetcher swallowed its stop's cancellation: ``stop`` waits on."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def stop(self) -> None:
        await self.release.wait()


class IdleConsumer:
    """Stands in for a joined aiokafka consumer with nothing to fetch."""

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, Any]:
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def stop(self) -> None:
        pass


async def _ignore(*_: object) -> None:
    pass


def _member() -> GroupMember:
    return GroupMember(ServiceSettings(), topic="t", group_id="g", client_id="c", on_records=_ignore,
                       on_batch_done=_ignore)  # fmt: skip


async def _swallow_one_cancellation() -> None:
    """What aiokafka's client close does to a caller cancelled while it waits (``shared.stopping``)."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(30)


async def test_a_stop_that_does_not_return_is_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "STOP_WAIT_S", 0.2)
    member = _member()
    stuck = StuckConsumer()
    consumer: Any = stuck
    member.consumer = consumer
    async with asyncio.timeout(5):
        await member.stop()
    assert member.consumer is None and not member.progress.joined
    [left] = left_behind()
    stuck.release.set()  # should it end after all, it is forgotten
    await left
    await asyncio.sleep(0)
    assert not left_behind()


async def test_a_consume_loop_that_lost_its_cancellation_ends_at_its_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    member = _member()

    async def join() -> None:
        await _swallow_one_cancellation()
        consumer: Any = IdleConsumer()
        member.consumer = consumer

    monkeypatch.setattr(member, "_join", join)
    member.start()
    await asyncio.sleep(0.05)
    async with asyncio.timeout(POLL_MS / 1000 + 3):  # one poll, then the loop sees the stop
        await member.stop()
    assert member.consumer is None and not left_behind()


async def test_a_loop_that_lost_its_cancellation_and_hangs_is_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "STOP_WAIT_S", 0.3)
    member = _member()
    never = asyncio.Event()

    async def join() -> None:
        await _swallow_one_cancellation()
        await never.wait()

    monkeypatch.setattr(member, "_join", join)
    member.start()
    await asyncio.sleep(0.05)
    async with asyncio.timeout(5):
        await member.stop()
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == "consume:g:t"]
    assert not task.done()
    task.cancel()  # now it is waiting where a cancellation is not swallowed
    with pytest.raises(asyncio.CancelledError):
        await task
