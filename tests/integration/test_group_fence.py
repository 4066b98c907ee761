"""A member removed from its group while it still holds its assignment stops counting as the owner at once.

The responder sends a page only for incidents whose anomaly partition its member holds; a member
learns of a newer generation at its next heartbeat, seconds later, and aiokafka keeps reporting
the old assignment meanwhile. ``still_member`` asks the broker instead (on noida-db and Tansu).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.group import LeaveGroupRequest

from shared.consumer import GroupMember, MemberConfig
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def _nothing(_records: Any = None) -> None:
    return None


async def _until(check: Any, limit_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not await check():
        assert loop.time() < deadline, f"not within {limit_s:.0f}s"
        await asyncio.sleep(0.2)


async def _remove(bootstrap: str, group: str, member_id: str) -> None:
    """Take ``member_id`` out of ``group`` at the broker, as a newer generation without it would."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        coordinator = await admin.find_coordinator(group)
        await admin._send_request_to_node(coordinator, LeaveGroupRequest(group, member_id))
    finally:
        await admin.close()


async def test_a_member_removed_from_its_group_is_not_the_owner_before_its_next_heartbeat(bootstrap: str) -> None:
    topic, group = f"fence-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap)
    config = MemberConfig(heartbeat_interval_ms=3_000, session_timeout_ms=30_000)
    member = GroupMember(settings, topic=topic, group_id=group, client_id="fence.t", on_records=_nothing,
                         on_batch_done=_nothing, config=config)  # fmt: skip
    member.start()
    try:
        await _until(member.still_member, 30.0)
        assert member.assigned_partitions() == {0, 1, 2}

        assert member.consumer is not None
        await _remove(bootstrap, group, member.consumer._coordinator.member_id)
        assert member.assigned_partitions() == {0, 1, 2}, "aiokafka has not heard yet: the stale view this guards"
        assert not await member.still_member()

        await _until(member.still_member, 30.0)  # it rejoins and owns again
        assert member.assigned_partitions() == {0, 1, 2}
    finally:
        await member.stop()
