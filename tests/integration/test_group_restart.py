"""A consumer-group member killed with SIGKILL: its restarted successor joins and consumes within 30 s,
on noida-db (which never expires a dead member) and on Tansu, alone or beside a surviving member."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from incidentctl.procs import spawn
from shared.consumer import GroupMember, MemberConfig
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration
READY_LIMIT_S = 30.0

MEMBER = textwrap.dedent(
    """
    import asyncio, sys
    from shared.consumer import GroupMember, MemberConfig
    from shared.settings import ServiceSettings

    async def main() -> None:
        boot, topic, group, name, ghost_after_s = sys.argv[1:6]
        settings = ServiceSettings(kafka_bootstrap_servers=boot)
        seen = []

        async def on_records(records) -> None:
            for record in records:
                seen.append(record.offset)
                print("record", record.offset, flush=True)

        async def done() -> None:
            pass

        member = GroupMember(settings, topic=topic, group_id=group, client_id=name, on_records=on_records,
                             on_batch_done=done, config=MemberConfig(ghost_after_s=float(ghost_after_s)))
        member.start()
        held = set()
        while True:
            if member.progress.joined and member.assigned_partitions() != held:
                held = member.assigned_partitions()
                print("joined holding", sorted(held), flush=True)
            await asyncio.sleep(0.1)

    asyncio.run(main())
    """
)


def _start(
    boot: str, topic: str, group: str, log: Path, *, name: str = "svc-1.t", ghost_after_s: float = 3.0
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-c", MEMBER, boot, topic, group, name, str(ghost_after_s)]
    return spawn(args, log_file=log, cwd=Path.cwd())


def _wait_for(log: Path, text: str, limit_s: float, *, after: int = 0) -> float:
    """Seconds until ``text`` appears in ``log`` past its first ``after`` characters."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if log.exists() and text in log.read_text()[after:]:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {log} after {limit_s:.0f}s:\n{log.read_text()[-2000:]}")


async def _produce(boot: str, topic: str, count: int, *, create: bool = False) -> None:
    if create:
        admin = AIOKafkaAdminClient(bootstrap_servers=boot)
        await admin.start()
        await admin.create_topics([NewTopic(topic, 3, 1)])
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=boot)
    await producer.start()
    for n in range(count):
        await producer.send_and_wait(topic, b"x%d" % n, partition=n % 3)
    await producer.stop()


async def test_a_killed_member_s_successor_joins_and_consumes(bootstrap: str, tmp_path: Path) -> None:
    topic, group = f"restart-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await _produce(bootstrap, topic, 6, create=True)
    first = _start(bootstrap, topic, group, tmp_path / "first.log")
    try:
        _wait_for(tmp_path / "first.log", "joined holding [0, 1, 2]", 60.0)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
    second = _start(bootstrap, topic, group, tmp_path / "second.log")
    try:
        took = _wait_for(tmp_path / "second.log", "joined holding [0, 1, 2]", READY_LIMIT_S)
        await _produce(bootstrap, topic, 3)
        _wait_for(tmp_path / "second.log", "record", READY_LIMIT_S)
        print(f"successor joined {took:.1f}s after the kill")
    finally:
        os.killpg(second.pid, signal.SIGKILL)


async def test_a_restarted_member_beside_a_survivor_gets_partitions_again(bootstrap: str, tmp_path: Path) -> None:
    """The survivor's own ghost must not hold the group: it leaves as the member id aiokafka drops.

    noida-db refuses the survivor's next heartbeat for a stale generation when the restarted member
    joins; aiokafka then drops its member id and joins as a new member, and the broker keeps the old
    id (even as leader). The survivor's late ghost check is off here (``ghost_after_s``), so only
    leaving at once lets the group form.
    """
    topic, group = f"restart-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await _produce(bootstrap, topic, 6, create=True)
    survivor_log, victim_log = tmp_path / "survivor.log", tmp_path / "victim.log"
    survivor = _start(bootstrap, topic, group, survivor_log, name="svc-2.t", ghost_after_s=3600.0)
    try:
        _wait_for(survivor_log, "joined holding [0, 1, 2]", 60.0)
        victim = _start(bootstrap, topic, group, victim_log)
        try:
            _wait_for(victim_log, "joined holding [", 60.0)
        finally:
            os.killpg(victim.pid, signal.SIGKILL)
        size = victim_log.stat().st_size
        successor = _start(bootstrap, topic, group, victim_log)
        try:
            took = _wait_for(victim_log, "joined holding [", READY_LIMIT_S, after=size)
            print(f"successor held partitions {took:.1f}s after its start")
        finally:
            os.killpg(successor.pid, signal.SIGKILL)
    finally:
        os.killpg(survivor.pid, signal.SIGKILL)


async def test_a_member_leaves_as_the_member_id_aiokafka_drops(bootstrap: str) -> None:
    """aiokafka's answer to a heartbeat refused for a stale generation, done here by hand: the old id leaves.

    The broker would otherwise keep it (noida-db for ever, Kafka for ``session.timeout.ms``) and the
    join under the new id would wait for it. The late ghost check is off (``ghost_after_s``).
    """
    topic, group = f"drop-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await _produce(bootstrap, topic, 3, create=True)

    async def ignore(*_: object) -> None:
        pass

    member = GroupMember(
        ServiceSettings(kafka_bootstrap_servers=bootstrap), topic=topic, group_id=group, client_id="svc-3.t",
        on_records=ignore, on_batch_done=ignore, config=MemberConfig(ghost_after_s=3600.0),
    )  # fmt: skip
    member.start()
    try:
        await _until(lambda: member.assigned_partitions() == {0, 1, 2}, 60.0)
        coordinator: Any = member.consumer._coordinator  # type: ignore[union-attr]  # aiokafka keeps the id only there
        dropped = coordinator.member_id
        coordinator.reset_generation()  # what aiokafka does on IllegalGenerationError
        coordinator.request_rejoin()
        await _until(lambda: coordinator.member_id not in ("", dropped) and bool(member.assigned_partitions()), 30.0)
        assert await _member_ids(bootstrap, group) == [coordinator.member_id]
    finally:
        await member.stop()


async def _until(condition: Callable[[], bool], limit_s: float) -> None:
    async with asyncio.timeout(limit_s):
        while not condition():
            await asyncio.sleep(0.1)


async def _member_ids(boot: str, group: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=boot)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    return sorted(member[0] for response in described for g in response.groups for member in g[5])


async def _keep_producing(boot: str, topic: str, stop: asyncio.Event) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=boot)
    await producer.start()
    try:
        n = 0
        while not stop.is_set():
            await producer.send(topic, b"x%d" % n, partition=n % 3)
            n += 1
            await asyncio.sleep(0.02)
    finally:
        await producer.stop()


async def test_a_restarted_member_beside_a_busy_survivor_gets_partitions_again(bootstrap: str, tmp_path: Path) -> None:
    """A survivor that commits all the time: noida-db then elects the restarted member leader without
    listing it, and without the fix its assignment gave it nothing, round after round (never in 60 s)."""
    topic, group = f"busy-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await _produce(bootstrap, topic, 3, create=True)
    stop = asyncio.Event()
    producing = asyncio.create_task(_keep_producing(bootstrap, topic, stop))
    survivor_log, victim_log = tmp_path / "survivor.log", tmp_path / "victim.log"
    survivor = _start(bootstrap, topic, group, survivor_log, name="svc-2.t")
    try:
        await asyncio.to_thread(_wait_for, survivor_log, "joined holding [0, 1, 2]", 60.0)
        for round_ in range(3):
            size = victim_log.stat().st_size if victim_log.exists() else 0
            victim = _start(bootstrap, topic, group, victim_log)
            try:
                took = await asyncio.to_thread(_wait_for, victim_log, "joined holding [", READY_LIMIT_S, after=size)
                print(f"round {round_}: the restarted member held partitions {took:.1f}s after its start")
            finally:
                os.killpg(victim.pid, signal.SIGKILL)
    finally:
        os.killpg(survivor.pid, signal.SIGKILL)
        stop.set()
        await producing
