"""Metrics handler: load the target's state, run detection, publish anomaly revisions, checkpoint."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.detector.adapters.state_store import StateStore, StateStoreError
from services.detector.domain.checkpoint import CheckpointError, dumps_target, loads_target
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import Emission
from services.detector.emit import publish_emissions
from shared import events as ev
from shared.bus import Delivery, EventBus, RejectedEvent

log = logging.getLogger(__name__)

TARGET_KEY: Final = "target:"


class MetricsHandler:
    """Per-target detectors of the metrics partitions this instance owns, checkpointed by target."""

    def __init__(
        self,
        bus: EventBus,
        config: DetectionConfig,
        store: StateStore | None,
        *,
        checkpoint_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.config = config
        self.store = store
        self.checkpoint_s = checkpoint_s
        self.targets: dict[str, TargetDetector] = {}
        self.partition_of: dict[str, int] = {}
        self.saved_at: dict[str, float] = {}
        self.dirty: set[str] = set()
        self.unsent: dict[str, list[Emission]] = {}
        # Closed while checkpoints of newly assigned partitions load: aiokafka starts fetching them as
        # the rebalance listener runs, and a scrape handled before its target's checkpoint is loaded
        # would be lost when the older checkpoint replaced the state it had just updated.
        self.restored = asyncio.Event()
        self.restored.set()

    async def on_metrics_observed(self, event: ev.Envelope[Any], delivery: Delivery) -> None:
        """Run detection on one scrape (once the checkpoints of newly assigned partitions are loaded)."""
        await self.restored.wait()
        scrape = event.data
        if not scrape.target:
            raise RejectedEvent("metrics without a target")
        if scrape.observed_at.tzinfo is None:
            raise RejectedEvent("observed_at has no timezone")
        received_at = self.clock()
        if scrape.observed_at > received_at + timedelta(seconds=self.config.max_future_s):
            raise RejectedEvent(f"observed_at {scrape.observed_at.isoformat()} is ahead of {received_at.isoformat()}")
        detector = self.targets.get(scrape.target)
        if detector is None:
            detector = self.targets[scrape.target] = TargetDetector(scrape.target, self.config)
        self.partition_of[scrape.target] = delivery.partition
        # Revisions not yet sent go first: the detector's state has moved on, so a redelivered scrape
        # would not produce them again (their ids are fixed, the bus skips any already sent).
        emissions = self.unsent.pop(scrape.target, []) + detector.observe(scrape, received_at=received_at)
        self.dirty.add(scrape.target)  # before any await: a revoke meanwhile saves what this scrape changed
        try:
            await publish_emissions(self.bus, emissions, time=scrape.observed_at, causation=event)
        except Exception:
            self.unsent[scrape.target] = emissions
            raise
        if self.targets.get(scrape.target) is not detector:
            return  # its partition was revoked meanwhile: the state went to the next owner, write nothing
        # A target's interval starts when this instance takes it: a backlog of new targets does not
        # write one checkpoint per target at once (revoke and stop save whatever is dirty).
        last_saved = self.saved_at.setdefault(scrape.target, time.monotonic())
        if emissions or time.monotonic() - last_saved >= self.checkpoint_s:
            try:
                await self.save(scrape.target)
            except StateStoreError as exc:  # detection goes on; the next scrape tries again
                log.warning("checkpoint of %s failed: %s", scrape.target, exc)

    async def save(self, target: str) -> None:
        """Checkpoint one target's state on the state partition matching its metrics partition."""
        if self.store is None or target not in self.dirty or target not in self.targets:
            return
        count = await self.store.partition_count()
        partition = self.partition_of.get(target, 0) % count
        await self.store.save(TARGET_KEY + target, dumps_target(self.targets[target]), partition=partition)
        self.saved_at[target] = time.monotonic()
        self.dirty.discard(target)

    async def restore(self, partitions: Iterable[int] | None = None) -> int:
        """Load the checkpoints of the targets on the given metrics partitions (all when None).

        A target this instance already holds a newer state of keeps it.
        """
        if self.store is None:
            return 0
        self.restored.clear()
        try:
            return await self._restore(self.store, partitions)
        finally:
            self.restored.set()

    async def _restore(self, store: StateStore, partitions: Iterable[int] | None) -> int:
        wanted = None
        if partitions is not None:
            count = await store.partition_count()
            wanted = {p % count for p in partitions}
        restored = 0
        for key, value in (await store.load(wanted)).items():
            if not key.startswith(TARGET_KEY):
                continue
            target = key.removeprefix(TARGET_KEY)
            try:
                loaded = loads_target(value, self.config)
            except CheckpointError as exc:
                log.warning("ignoring checkpoint %s: %s", key, exc)
                continue
            held = self.targets.get(target)
            if held is None or _seen_until(held) <= _seen_until(loaded):
                self.targets[target] = loaded
                restored += 1
        log.info("restored %d target checkpoints (state partitions %s)", restored, sorted(wanted or []) or "all")
        return restored

    async def release(self, partitions: Iterable[int]) -> None:
        """Checkpoint and forget the targets of partitions this instance no longer owns."""
        gone = set(partitions)
        for target, partition in list(self.partition_of.items()):
            if partition in gone:
                await self.save(target)
                self.targets.pop(target, None)
                self.partition_of.pop(target, None)

    async def flush(self) -> None:
        """Checkpoint every target with unsaved changes."""
        for target in list(self.dirty):
            await self.save(target)


def _seen_until(detector: TargetDetector) -> float:
    """Unix time of the newest scrape a target's detector has taken in (-inf when none)."""
    seen = detector.last_observed
    return seen.timestamp() if seen is not None else float("-inf")


class RestoreOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    """Keep each target's state with the instance that owns its metrics partition."""

    def __init__(self, handler: MetricsHandler, topic: str) -> None:
        self.handler = handler
        self.topic = topic

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        try:
            await self.handler.release(tp.partition for tp in revoked if tp.topic == self.topic)
        except StateStoreError as exc:  # the next owner restores an older checkpoint and catches up
            log.error("checkpoint on revoke failed: %s", exc)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        try:
            await self.handler.restore(tp.partition for tp in assigned if tp.topic == self.topic)
        except StateStoreError as exc:  # detection still works, it learns afresh
            log.error("restoring checkpoints failed, starting from scratch: %s", exc)
