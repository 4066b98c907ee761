"""`incidentctl up` with the estate: status lists it, the collector reports the backup, `down` leaves nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from incidentctl.demo_config import DEMO_TARGET
from incidentctl.estate import runner
from incidentctl.stack import StackState
from shared import metric_names as mn
from shared import topics
from shared.events import parse_event

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(runner.unavailable() is not None, reason=f"estate programs missing: {runner.unavailable()}"),
]


def cli(*args: str, root: Path, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IR_LANG": "en", "IR_DEMO_LOAD_RPS": "5"}
    argv = [sys.executable, "-m", "incidentctl", "--dir", str(root), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


async def first_backup_sample(state: StackState, timeout: float = 60.0, prefix: str = "backup.") -> dict[str, float]:
    """The samples (named ``prefix``...) of the demo target in the first metrics event that carries them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=state.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topics.METRICS.name, p) for p in range(topics.METRICS.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    data = parse_event(record.value).data
                    if getattr(data, "target", None) != DEMO_TARGET:
                        continue
                    found = {s.name: s.value for s in data.samples if s.name.startswith(prefix)}
                    if found:
                        return found
        raise AssertionError(f"no {prefix}* samples of {DEMO_TARGET} within {timeout}s")
    finally:
        await consumer.stop()


def test_up_starts_the_estate_the_collector_reports_its_backup_and_down_stops_all_of_it(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    started = cli("up", "--detach", root=root)
    estate = runner.EstateState.load(root)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "estate: PostgreSQL primary" in started.stdout
        assert estate is not None
        status = cli("status", "--json", root=root, timeout=30)
        rows = {row["name"]: row for row in json.loads(status.stdout)}
        assert all(rows[name]["running"] for name in ("pg-primary", "pg-standby", "haproxy", "backup", "sink"))
        samples = asyncio.run(first_backup_sample(StackState.load(root)))
        assert samples[mn.BACKUP_LAST_OK] == 1.0 and 0.0 <= samples[mn.BACKUP_AGE] < 120.0
        # the security faults' signals: failed logins (none yet) and the demo's egress through HAProxy to the sink
        assert asyncio.run(first_backup_sample(StackState.load(root), prefix="auth."))[mn.AUTH_FAILURES] == 0.0
        sent = asyncio.run(first_backup_sample(StackState.load(root), prefix="net.sent"))[mn.NET_SENT]
        assert 0.0 < sent < 2.0**20  # the steady sync, not an exfiltration
    finally:
        stopped = cli("down", root=root)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert estate is not None
    left = [p for p in psutil.process_iter(["cmdline"]) if estate.pg_dir in " ".join(p.info["cmdline"] or [])]
    assert left == [] and not Path(estate.pg_dir).exists()
    assert all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie" for pid in estate.pids.values())
