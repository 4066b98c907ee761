"""An empty group assignment makes an aiokafka consumer join again instead of killing its coordinator.

A broker answers SyncGroup with no assignment bytes at all for a member the leader did not assign
(Kafka fills in an empty one for a member missing from the leader's SyncGroup; noida-db does so
after a restart under kill -9, when the leader joined a generation without the newcomer). aiokafka
decodes those bytes as an assignment and raises ``ValueError``, which ends its coordination task:
the consumer is dead, and the member is restarted as a new member, which starts yet another
rebalance (measured: three such rounds, 11-12 s each, kept a restarted responder unready for 50 s).

A leader's assignor always encodes an assignment for each member it saw, even one without
partitions, so no bytes at all means the member and the leader disagree on the generation. With
the fix installed, the sync counts as failed and the member joins again under its member id, as it
does after a SyncGroup refused with ``REBALANCE_IN_PROGRESS``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiokafka.consumer.group_coordinator import CoordinatorGroupRebalance

log = logging.getLogger(__name__)

_MARK: Final = "_ir_rejoins_on_empty_assignment"

SyncProc = Callable[[Any, Any], Awaitable[bytes | None]]


def install_empty_assignment_rejoin() -> None:
    """Make every aiokafka consumer of this process join again on an empty SyncGroup assignment (idempotent)."""
    original: SyncProc = CoordinatorGroupRebalance._send_sync_group_request
    if getattr(original, _MARK, False):
        return

    async def send_sync_group_request(self: Any, request: Any) -> bytes | None:
        assignment = await original(self, request)
        if assignment is not None and len(assignment) == 0:
            log.warning("group %s gave this member no assignment in generation %s; joining again",
                        self.group_id, self._coordinator.generation)  # fmt: skip
            self._coordinator.request_rejoin()
            return None  # aiokafka backs off and joins again, keeping its member id
        return assignment

    setattr(send_sync_group_request, _MARK, True)
    CoordinatorGroupRebalance._send_sync_group_request = send_sync_group_request
