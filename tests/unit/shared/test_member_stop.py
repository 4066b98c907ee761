"""A group member's stop is bounded: a consumer whose own stop does not return is left behind, not waited for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared import consumer as consumer_module
from shared.consumer import GroupMember
from shared.settings import ServiceSettings


class StuckConsumer:
    """Stands in for an aiokafka consumer whose fetcher swallowed its stop's cancellation: ``stop`` waits on."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def stop(self) -> None:
        await self.release.wait()


async def _ignore(*_: object) -> None:
    pass


async def test_a_stop_that_does_not_return_is_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "STOP_WAIT_S", 0.2)
    member = GroupMember(ServiceSettings(), topic="t", group_id="g", client_id="c", on_records=_ignore,
                         on_batch_done=_ignore)  # fmt: skip
    stuck = StuckConsumer()
    consumer: Any = stuck
    member.consumer = consumer
    async with asyncio.timeout(5):
        await member.stop()
    assert member.consumer is None and not member.progress.joined
    [left] = consumer_module._LEFT_BEHIND
    stuck.release.set()  # should it end after all, it is forgotten
    await left
    await asyncio.sleep(0)
    assert not consumer_module._LEFT_BEHIND
