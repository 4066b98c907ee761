"""A group leader that leaves a member out of its assignment: the member joins again instead of dying.

The leader here speaks the group protocol by hand, as a buggy or racing peer would: for two
generations it assigns every partition to itself and nothing to the consumer under test, whose
SyncGroup then gets no assignment bytes at all. Unpatched aiokafka dies on those bytes (its
coordination task ends with ``ValueError``, and every later fetch raises). With
``install_empty_assignment_rejoin`` the consumer joins again, and once the leader has left it holds
every partition.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata
from aiokafka.protocol.group import HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest

from shared.empty_assignment import install_empty_assignment_rejoin

pytestmark = pytest.mark.integration

PARTITIONS = 3
MEMBER_ID_REQUIRED, REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION = 79, 27, 22


class GreedyLeader:
    """A group member over raw requests that, while leader, assigns every partition to itself alone."""

    def __init__(self, boot: str, group: str, topic: str) -> None:
        self.client = AIOKafkaClient(bootstrap_servers=boot)
        self.group, self.topic = group, topic
        self.member_id = ""
        self.generation = -1
        self.left_out = 0  # generations in which another member got nothing from this leader

    async def start(self) -> None:
        await self.client.bootstrap()
        self.node = next(iter(self.client.cluster.brokers())).nodeId

    async def join_and_sync(self) -> None:
        protocols = [("roundrobin", ConsumerProtocolMemberMetadata(0, [self.topic], b"").encode())]
        while True:
            join: Any = await self._send(
                JoinGroupRequest(self.group, 10_000, 10_000, self.member_id, None, "consumer", protocols)
            )
            self.member_id = join.member_id or self.member_id
            if join.error_code == 0:
                break
            assert join.error_code in (MEMBER_ID_REQUIRED, REBALANCE_IN_PROGRESS), join
        self.generation = join.generation_id
        assignments = []
        if join.leader_id == self.member_id:
            everything = ConsumerProtocolMemberAssignment(0, [(self.topic, list(range(PARTITIONS)))], b"").encode()
            assignments = [(self.member_id, everything)]
            self.left_out += len(join.members) > 1
        await self._send(SyncGroupRequest(self.group, self.generation, self.member_id, None, assignments))

    async def keep_membership(self, generations: int) -> None:
        """Heartbeat and rejoin on every rebalance until ``generations`` have left another member out."""
        while self.left_out < generations:
            await asyncio.sleep(0.5)
            beat: Any = await self._send(HeartbeatRequest(self.group, self.generation, self.member_id))
            if beat.error_code in (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION):
                await self.join_and_sync()

    async def leave(self) -> None:
        await self._send(LeaveGroupRequest(self.group, self.member_id))
        await self.client.close()

    async def _send(self, request: object) -> object:
        return await self.client.send(self.node, request)


async def test_a_member_left_out_of_the_assignment_joins_again(kafka_bootstrap: str) -> None:
    install_empty_assignment_rejoin()
    topic, group = f"greedy-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    await admin.close()
    leader = GreedyLeader(kafka_bootstrap, group, topic)
    await leader.start()
    await leader.join_and_sync()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False,
        session_timeout_ms=10_000, heartbeat_interval_ms=500,
    )  # fmt: skip
    started = asyncio.create_task(consumer.start())
    try:
        async with asyncio.timeout(60):
            await leader.keep_membership(generations=2)
        await leader.leave()
        async with asyncio.timeout(60):
            await started
            while len(consumer.assignment()) < PARTITIONS:
                await consumer.getmany(timeout_ms=200)  # raises once aiokafka's coordination task has died
        assert {tp.partition for tp in consumer.assignment()} == set(range(PARTITIONS))
    finally:
        started.cancel()
        await consumer.stop()
