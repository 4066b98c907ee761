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

The same install repairs the other side of that race: a leader that the broker left out of its own
member list assigns itself partitions too (see ``_install_leader_lists_itself``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiokafka.consumer.group_coordinator import CoordinatorGroupRebalance, GroupCoordinator

log = logging.getLogger(__name__)

_MARK: Final = "_ir_rejoins_on_empty_assignment"

SyncProc = Callable[[Any, Any], Awaitable[bytes | None]]
AssignProc = Callable[[Any, Any], Awaitable[Any]]


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
    _install_leader_lists_itself()


def _install_leader_lists_itself() -> None:
    """Make an elected leader that the broker left out of the member list assign itself partitions too.

    noida-db elects a member leader of a generation and, after a kill, can send it a member list
    without itself; its assignment then gave every partition to the others and nothing to itself, a
    round that repeated for as long as the survivor committed (measured: a restarted member beside a
    busy survivor never got a partition in 60 s). A Kafka leader is always on its own list.
    """
    original: AssignProc = GroupCoordinator._perform_assignment

    async def perform_assignment(self: Any, response: Any) -> Any:
        listed = {member[0] for member in response.members}
        if self.member_id and self.member_id not in listed:
            assignor = self._lookup_assignor(response.group_protocol)
            metadata = assignor.metadata(self._subscription.topics) if assignor else None
            if metadata is not None:
                own = metadata if isinstance(metadata, bytes) else metadata.encode()
                entry = (self.member_id, None, own) if response.API_VERSION == 5 else (self.member_id, own)
                log.warning("group %s elected this member leader without listing it; it assigns itself too",
                            self.group_id)  # fmt: skip
                response = _Listed(response, [*response.members, entry])
        return await original(self, response)

    GroupCoordinator._perform_assignment = perform_assignment


class _Listed:
    """A JoinGroup response with its member list completed (what ``_perform_assignment`` reads of it)."""

    def __init__(self, response: Any, members: list[Any]) -> None:
        self.API_VERSION = response.API_VERSION
        self.group_protocol = response.group_protocol
        self.members = members
