"""Two detector instances in one group: each target's state lives with the owner of its partition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka.partitioner import DefaultPartitioner

from services.detector.app import DetectorRuntime, build
from shared.topic_admin import ensure_topics
from tests.factories import at, metrics
from tests.integration.test_detector_metrics import make_settings, send_many

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def targets_on_every_partition(partitions: int = 3, per_partition: int = 2) -> list[str]:
    choose = DefaultPartitioner()
    found: dict[int, list[str]] = {p: [] for p in range(partitions)}
    i = 0
    while any(len(v) < per_partition for v in found.values()):
        name = f"svc-{i}"
        p = choose(name.encode(), list(range(partitions)), list(range(partitions)))
        if len(found[p]) < per_partition:
            found[p].append(name)
        i += 1
    return sorted(t for names in found.values() for t in names)


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.2)


def owned(detector: DetectorRuntime) -> set[str]:
    return set(detector.metrics.targets)


async def test_scaling_out_moves_each_target_with_its_state_to_one_instance(kafka_bootstrap: str, unique: str) -> None:
    settings = make_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    targets = targets_on_every_partition()
    first, second = build(settings), build(settings)
    await first.start()
    try:
        await send_many(
            settings, [metrics(t, t=float(s), **{"process.cpu_percent": 5.0}) for s in (0, 2, 4) for t in targets]
        )
        await until(
            lambda: all(
                first.metrics.targets.get(t) and first.metrics.targets[t].last_observed == at(4) for t in targets
            )
        )
        await second.start()
        await until(lambda: bool(owned(second)) and owned(first) | owned(second) == set(targets))
        assert not owned(first) & owned(second), "a target is owned by one instance"
        assert all(second.metrics.targets[t].last_observed == at(4) for t in owned(second)), "state came along"

        await send_many(settings, [metrics(t, t=6.0, **{"process.cpu_percent": 5.0}) for t in targets])

        def all_at_6() -> bool:
            both = first.metrics.targets | second.metrics.targets
            return all(t in both and both[t].last_observed == at(6) for t in targets)

        await until(all_at_6)
        assert not owned(first) & owned(second)
    finally:
        await second.stop()
        await first.stop()
