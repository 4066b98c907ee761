"""Subscriptions of the responder: inputs in one consumer group, its own topics in a per-instance view."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.responder.core import Responder
from services.responder.settings import ResponderSettings
from shared.consumer import GroupMember
from shared.runtime import Service
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, NOTIFICATIONS, RECOVERY, SILENCES

log = logging.getLogger(__name__)

CATCH_UP_LIMIT_S: Final = 30.0
"""A hand-over's catch-up gives up after this long (a broker gone mid-read would hold the lock for good)."""


def register(service: Service, responder: Responder, settings: ResponderSettings) -> GroupMember:
    """Subscribe the responder's handlers; return the anomaly subscriber (its assignment decides ownership).

    Anomalies, commands and recovery outcomes are each shared by the instances of one consumer group
    (one group per topic, so a member joining one does not rebalance the others); anomalies are
    taken a fetch at a time (``Responder.on_anomalies``). Incidents, notifications and silences are
    followed by every instance (groups of its own), so each instance's view includes what the
    others and the API wrote; the copies of what it emitted itself (folded at once) are passed over.
    """
    bus = service.bus
    anomalies = bus.subscribe_batch(
        ANOMALIES, group_id=settings.group_id, handler=responder.on_anomalies, listener=HandOver(responder)
    )
    bus.subscribe(COMMANDS, group_id=f"{settings.group_id}.commands", handler=responder.on_command)
    bus.subscribe(RECOVERY, group_id=f"{settings.group_id}.recovery", handler=responder.on_recovery)
    for topic in (INCIDENTS, NOTIFICATIONS, SILENCES):
        view_group = f"{settings.group_id}.view.{settings.instance_id}.{topic.name}"
        bus.subscribe(topic, group_id=view_group, handler=responder.on_own_event, has=responder.has_folded)
    return anomalies


class HandOver(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hand incidents between instances when anomaly partitions move, so no page is sent by both.

    On revocation, a dispatch under way (decided with the lock held) is recorded before the
    partitions go; on assignment, the own topics' tails are folded before this instance owns the
    incidents (the member holds no partitions until this listener returns), so the pages the
    previous owner recorded are known here.
    """

    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.responder.lock:
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        try:
            caught_up = await asyncio.wait_for(self.responder.catch_up(), CATCH_UP_LIMIT_S)
        except Exception:  # the broker is away (or went away mid-read): the view catches up as it reads on
            log.exception("catching up with the responder's topics after an assignment failed")
            return
        log.info("anomaly partitions %s assigned; caught up with %d events", sorted(tp.partition for tp in assigned),
                 caught_up)  # fmt: skip
