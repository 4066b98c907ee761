"""The hand-over listener: gate shut while catching up, a stuck catch-up gives up, revocation waits for held work."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from shared.handover import CatchUpOnAssign

ASSIGNED = [TopicPartition("t", 0)]


async def test_the_gate_is_shut_while_catching_up_and_open_after() -> None:
    gate = asyncio.Event()
    gate.set()
    seen: list[bool] = []

    async def catch_up() -> int:
        seen.append(gate.is_set())
        return 3

    await CatchUpOnAssign(catch_up, gate=gate).on_partitions_assigned(ASSIGNED)
    assert seen == [False] and gate.is_set()


async def test_a_stuck_catch_up_gives_up_and_opens_the_gate() -> None:
    gate = asyncio.Event()

    async def stuck() -> int:
        await asyncio.sleep(3600)
        return 0

    await CatchUpOnAssign(stuck, gate=gate, limit_s=0.01).on_partitions_assigned(ASSIGNED)
    assert gate.is_set()


async def test_revocation_waits_for_work_begun_as_the_owner() -> None:
    hold, order = asyncio.Lock(), []

    async def owner_work() -> None:
        async with hold:
            await asyncio.sleep(0.01)
            order.append("recorded")

    async def none() -> int:
        return 0

    work = asyncio.create_task(owner_work())
    await asyncio.sleep(0)
    await CatchUpOnAssign(none, hold=hold).on_partitions_revoked(ASSIGNED)
    order.append("revoked")
    await work
    assert order == ["recorded", "revoked"]
