"""Partitions moving between instances: fold what the previous owner did before acting as the new one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiokafka import ConsumerRebalanceListener, TopicPartition

log = logging.getLogger(__name__)

CATCH_UP_LIMIT_S: Final = 30.0
"""A catch-up gives up after this long: a broker gone mid-read must not hold the gate or a lock for good."""


class CatchUpOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    """Catch a service's state up with its topics when partitions are assigned; finish owned work on revoke.

    The member holds no partitions until this listener returns (``GroupMember.assigned_partitions``),
    so nothing is decided as their owner on a state that does not yet know what the previous owner
    recorded. ``gate`` (cleared meanwhile) holds back handlers aiokafka may call while this runs;
    ``hold``, taken on revocation, lets work begun as the owner (a dispatch) be recorded before the
    partitions go. A catch-up that fails or runs past ``limit_s`` is logged: the handlers' own
    checks and the live view remain.
    """

    def __init__(
        self,
        catch_up: Callable[[], Awaitable[int]],
        *,
        gate: asyncio.Event | None = None,
        hold: asyncio.Lock | None = None,
        limit_s: float = CATCH_UP_LIMIT_S,
    ) -> None:
        self.catch_up = catch_up
        self.gate = gate
        self.hold = hold
        self.limit_s = limit_s

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self.hold is not None:
            async with self.hold:
                pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self.gate is not None:
            self.gate.clear()
        try:
            async with asyncio.timeout(self.limit_s):
                folded = await self.catch_up()
        except Exception:  # the broker is away, or went away mid-read
            log.exception("catching up after an assignment of %s failed", _names(assigned))
        else:
            log.info("partitions %s assigned; caught up with %d events", _names(assigned), folded)
        finally:
            if self.gate is not None:
                self.gate.set()


def _names(assigned: list[TopicPartition]) -> str:
    return ", ".join(sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))
