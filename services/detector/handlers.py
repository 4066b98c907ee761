"""Metrics handler: detection over fetched batches of scrapes, anomaly revisions out, checkpoints by target."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.detector.adapters.state_store import StateStore, StateStoreError
from services.detector.domain.anomaly.pool import StatePool
from services.detector.domain.checkpoint import CheckpointError, dumps_target, loads_target
from services.detector.domain.retention import StreamTime, farewells, silent
from services.detector.domain.scrape import ScrapeView
from services.detector.domain.target import DetectionConfig, TargetDetector, observe_together
from services.detector.emit import to_event
from shared import events as ev
from shared import wire
from shared.bus import EventBus, FastAdmission, Received, Rejection

log = logging.getLogger(__name__)

TARGET_KEY: Final = "target:"
OWED_CHECKPOINT_ATTEMPTS: Final = 3
"""Writes of a checkpoint that holds a new revision before the batch's offsets are committed anyway."""
OWED_CHECKPOINT_BACKOFF_S: Final = 0.5


ScrapeEvent: TypeAlias = ev.EventView[ScrapeView]
"""What the handler reads of a scrape event: ``events.MetricsObserved``, or its fast view ``wire.ScrapeEvent``."""

Scrape: TypeAlias = Received[ScrapeEvent]


def _as_scrape(event: ev.MetricsObserved) -> ScrapeEvent:
    return event


def _moments(event: ScrapeEvent) -> tuple[datetime, ...]:
    time, observed_at = event.time, event.data.observed_at
    return (time,) if time is observed_at else (time, observed_at)  # one time judged once (the collector's)


FAST_SCRAPES: Final[FastAdmission[ev.MetricsObserved, ScrapeEvent]] = FastAdmission(
    decode=wire.decode_scrape, moments=_moments, view=_as_scrape
)
"""Scrapes decoded by msgspec where the schema would certainly admit them (``shared.wire``)."""


class MetricsHandler:
    """Per-target detectors of the metrics partitions this instance owns, checkpointed by target."""

    def __init__(
        self,
        bus: EventBus,
        config: DetectionConfig,
        store: StateStore | None,
        *,
        checkpoint_s: float,
        retention_s: float = 0.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``retention_s``: how long a target may go unscraped before it is forgotten (0: never; see ``retention``)."""
        self.clock = clock
        self.bus = bus
        self.config = config
        self.store = store
        self.checkpoint_s = checkpoint_s
        self.targets: dict[str, TargetDetector] = {}
        # Every target's statistical state in one array: a wave's step reads and writes it in place.
        # A forgotten target's columns go back to the pool when its detector is gone. Field-major: a
        # wave's targets make a few runs of columns (the collector scrapes them in the same order each
        # time): a step over 4,500 series in place takes 1.7 ms, not 3.0 as series-major; a wave of
        # scattered ones, gathered and moved to one run, 5.6 ms, not 3.9 (bench/bench_kernel_layout.py).
        self.pool = StatePool(config.statistical.detector, series_major=False)
        self.partition_of: dict[str, int] = {}
        self.saved_at: dict[str, float] = {}
        self.dirty: set[str] = set()
        self.owed: set[str] = set()  # emitted a revision its stored checkpoint does not hold yet
        self.stream = StreamTime(retention_s)
        # Closed while checkpoints of newly assigned partitions load: aiokafka starts fetching them as
        # the rebalance listener runs, and a scrape handled before its target's checkpoint is loaded
        # would be lost when the older checkpoint replaced the state it had just updated.
        self.restored = asyncio.Event()
        self.restored.set()

    async def on_metrics(self, items: list[Scrape]) -> list[Rejection[ScrapeEvent]]:
        """Run detection on a fetched batch of scrapes; return the ones that can never be processed.

        Scrapes wait while the checkpoints of newly assigned partitions load. The batch is cut into
        waves holding at most one scrape per target (a target's scrapes stay in order) and each wave
        is one statistical step over every target in it. Anomaly revisions are sent unawaited and
        acknowledged together before any checkpoint that assumes them is written.
        """
        await self.restored.wait()
        received_at = self.clock()
        horizon = received_at + timedelta(seconds=self.config.max_future_s)
        rejected: list[Rejection[ScrapeEvent]] = []
        waves: list[list[tuple[Scrape, TargetDetector]]] = []
        depth: dict[str, int] = {}
        for item in items:
            scrape = item.event.data
            if (reason := _refusal(scrape, received_at, horizon)) is not None:
                rejected.append(Rejection(item, reason))
                continue
            detector = self.targets.get(scrape.target)
            if detector is None:
                detector = self.targets[scrape.target] = TargetDetector(scrape.target, self.config, self.pool)
            self.partition_of[scrape.target] = partition = item.delivery.partition
            self.stream.saw(partition, scrape.observed_at)
            n = depth[scrape.target] = depth.get(scrape.target, -1) + 1
            if n == len(waves):
                waves.append([])
            waves[n].append((item, detector))
        emitted: set[str] = set()
        for wave in waves:
            emitted |= await self._observe_wave(wave, received_at)
        await self.bus.flush()  # revisions first: a checkpoint must never claim one the topic lacks
        await self._checkpoint_due({detector.target: detector for wave in waves for _, detector in wave}, emitted)
        await self._forget_silent({item.delivery.partition for item in items})
        return rejected

    async def _forget_silent(self, partitions: set[int]) -> None:
        """Forget the silent targets of the partitions due a look (``domain.retention``).

        The anomalies they still had open are resolved first, and acknowledged before their
        checkpoints are deleted: a successor that restores one resolves them again, under the same
        event ids, which the bus does not publish twice.
        """
        gone: list[tuple[str, int]] = []
        last_words: list[ev.AnomalyEvent] = []
        for partition, horizon in sorted(self.stream.due(partitions).items()):
            on_partition = [self.targets[t] for t, p in self.partition_of.items() if p == partition]
            for target in silent(on_partition, horizon):
                gone.append((target, partition))
                at = self.stream.newest[partition]
                last_words += [to_event(e, source=self.bus.source, time=at) for e in farewells(self.targets[target])]
        if not gone:
            return
        for event in last_words:
            await self.bus.send(event, key=event.data.target)
        await self.bus.flush()
        for target, _ in gone:
            self._drop(target)
        log.info("forgot %d targets with no scrape for %g s (first %s)", len(gone), self.stream.after_s, gone[0][0])
        if self.store is None:
            return
        try:
            count = await self.store.partition_count()
            for target, partition in gone:
                await self.store.delete(TARGET_KEY + target, partition=partition % count)
            await self.store.flush()
        except StateStoreError as exc:  # a restored one is forgotten again on the next look
            log.warning("deleting the checkpoints of %d forgotten targets failed: %s", len(gone), exc)

    def _drop(self, target: str) -> None:
        """Forget a target's detector and bookkeeping (its pool columns go back with the detector)."""
        self.targets.pop(target, None)
        self.partition_of.pop(target, None)
        self.saved_at.pop(target, None)
        self.dirty.discard(target)
        self.owed.discard(target)

    async def _observe_wave(self, wave: list[tuple[Scrape, TargetDetector]], received_at: datetime) -> set[str]:
        """One statistical step over the wave's targets; send their revisions; return the targets that emitted."""
        emitted = set()
        taking = [(detector, item.event.data) for item, detector in wave]
        for (item, detector), emissions in zip(wave, observe_together(taking, received_at=received_at), strict=True):
            self.dirty.add(detector.target)  # before any await: a revoke meanwhile saves what this changed
            for emission in emissions:
                at = item.event.data.observed_at
                await self.bus.send(to_event(emission, source=self.bus.source, time=at, causation=item.event),
                                    key=detector.target)  # fmt: skip
                emitted.add(detector.target)
        return emitted

    async def _checkpoint_due(self, handled: dict[str, TargetDetector], emitted: set[str]) -> None:
        """Checkpoint the handled targets that emitted or whose interval is over (and are still ours).

        A target that emitted stays owed until its checkpoint is stored: the batch's offsets are
        committed when this returns, and a successor restoring a checkpoint without the open
        episode would never close it. So a failed write of an owed one is retried here (holding
        the commit back), and on every later batch until it is stored.
        """
        now = time.monotonic()
        self.owed = {t for t in self.owed | emitted if t in self.targets and t in self.dirty}
        due = set(self.owed)
        for target, detector in handled.items():
            if self.targets.get(target) is not detector:
                continue  # its partition was revoked meanwhile: the state went to the next owner
            # A target's interval starts when this instance takes it: a backlog of new targets does not
            # write one checkpoint per target at once (revoke and stop save whatever is dirty).
            last_saved = self.saved_at.setdefault(target, now)
            if now - last_saved >= self.checkpoint_s:
                due.add(target)
        for attempt in range(1, OWED_CHECKPOINT_ATTEMPTS + 1):
            try:
                await self.save_all(due)
                return
            except StateStoreError as exc:  # detection goes on; the next batch tries again
                log.warning("checkpoint of %d targets failed (attempt %d): %s", len(due), attempt, exc)
                if not due & self.owed or attempt == OWED_CHECKPOINT_ATTEMPTS:
                    return
                await asyncio.sleep(OWED_CHECKPOINT_BACKOFF_S * attempt)

    async def save_all(self, targets: Iterable[str], *, unchanged_too: bool = False) -> None:
        """Checkpoint the given targets with unsaved changes (``unchanged_too``: all of them).

        Each goes to the state partition matching its metrics one, in the targets' order (not a set's,
        which moves with the process's hash seed). The writes go out together and are all
        acknowledged when this returns.
        """
        if self.store is None:
            return
        wanted = sorted(t for t in targets if (unchanged_too or t in self.dirty) and t in self.targets)
        if not wanted:
            return
        count = await self.store.partition_count()
        for target in wanted:
            partition = self.partition_of.get(target, 0) % count
            await self.store.put(TARGET_KEY + target, dumps_target(self.targets[target]), partition=partition)
        await self.store.flush()
        now = time.monotonic()
        for target in wanted:
            self.saved_at[target] = now
            self.dirty.discard(target)
            self.owed.discard(target)

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
        count = await store.partition_count()
        assigned = sorted(set(partitions)) if partitions is not None else list(range(count))
        # A target's checkpoint is on the state partition of its metrics partition (``save_all``), so
        # a restored target knows its metrics partition before it is scraped again: a revoke
        # releases it, retention judges it by that partition's clock.
        metrics_partition = {p % count: p for p in reversed(assigned)}  # the lowest when several share one
        restored = 0
        for key, stored in (await store.load(sorted(metrics_partition))).items():
            restored += self._restored(key, stored.value, metrics_partition.get(stored.partition, stored.partition))
        log.info("restored %d target checkpoints (state partitions %s)", restored, sorted(metrics_partition))
        return restored

    def _restored(self, key: str, value: bytes, partition: int) -> bool:
        """Take in one checkpoint of the metrics ``partition``, unless this instance holds a newer state."""
        if not key.startswith(TARGET_KEY):
            return False
        target = key.removeprefix(TARGET_KEY)
        try:
            loaded = loads_target(value, self.config, self.pool)
        except CheckpointError as exc:
            log.warning("ignoring checkpoint %s: %s", key, exc)
            return False
        held = self.targets.get(target)
        if held is not None and _seen_until(held) > _seen_until(loaded):
            return False
        self.targets[target] = loaded
        self.partition_of.setdefault(target, partition)
        return True

    async def release(self, partitions: Iterable[int]) -> None:
        """Checkpoint and forget the targets of partitions this instance no longer owns.

        Every leaving target is written, changed or not: a broker that lost acknowledged writes when it
        crashed (noida-db keeps what it has not flushed in memory) would otherwise hand the next owner,
        often this same instance after the rebalance the crash causes, a checkpoint older than the
        episodes it has announced, and those episodes would never be closed.
        """
        gone = set(partitions)
        leaving = [target for target, partition in self.partition_of.items() if partition in gone]
        await self.save_all(leaving, unchanged_too=True)
        for target in leaving:
            self._drop(target)
        self.stream.forget(gone)

    async def flush(self) -> None:
        """Checkpoint every target with unsaved changes."""
        await self.save_all(list(self.dirty))


def _refusal(scrape: ScrapeView, received_at: datetime, horizon: datetime) -> str | None:
    """Why a scrape can never be processed (``horizon``: the latest credible time), or None."""
    if not scrape.target:
        return "metrics without a target"
    if scrape.observed_at.tzinfo is None:
        return "observed_at has no timezone"
    if scrape.observed_at > horizon:
        return f"observed_at {scrape.observed_at.isoformat()} is ahead of {received_at.isoformat()}"
    return None


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
