"""A consumer-group member killed with SIGKILL: its restarted successor joins and consumes within 30 s,
on noida-db (which never expires a dead member) and on Tansu."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from incidentctl.procs import spawn

pytestmark = pytest.mark.integration
READY_LIMIT_S = 30.0

MEMBER = textwrap.dedent(
    """
    import asyncio, sys
    from shared.consumer import GroupMember
    from shared.settings import ServiceSettings

    async def main() -> None:
        boot, topic, group = sys.argv[1:4]
        settings = ServiceSettings(kafka_bootstrap_servers=boot)
        seen = []

        async def on_records(records) -> None:
            for record in records:
                seen.append(record.offset)
                print("record", record.offset, flush=True)

        async def done() -> None:
            pass

        member = GroupMember(settings, topic=topic, group_id=group, client_id="svc-1.t", on_records=on_records,
                             on_batch_done=done)
        member.start()
        while not member.progress.joined:
            await asyncio.sleep(0.1)
        print("joined", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


@pytest.fixture(params=["noida-db", "tansu"])
def bootstrap(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("kafka_bootstrap" if request.param == "noida-db" else "tansu"))


def _start(boot: str, topic: str, group: str, log: Path) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-c", MEMBER, boot, topic, group], log_file=log, cwd=Path.cwd())


def _wait_for(log: Path, text: str, limit_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if log.exists() and text in log.read_text():
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
        _wait_for(tmp_path / "first.log", "joined", 60.0)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
    second = _start(bootstrap, topic, group, tmp_path / "second.log")
    try:
        took = _wait_for(tmp_path / "second.log", "joined", READY_LIMIT_S)
        await _produce(bootstrap, topic, 3)
        _wait_for(tmp_path / "second.log", "record", READY_LIMIT_S)
        print(f"successor joined {took:.1f}s after the kill")
    finally:
        os.killpg(second.pid, signal.SIGKILL)
