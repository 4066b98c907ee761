"""One consumer-group member of the bus: join, fetch batches, hand records on, commit once per batch.

Joining is where a crashed service used to hang: a broker that never expires a dead member
(noida-db, measured) keeps waiting for it at every rebalance, so its restarted successor never
completes the join. Before each join the member therefore removes its own predecessors from the
group (members with the same ``client_id``, which names the service instance, the topic and the
group; only a dead incarnation of this very member can carry it) with a LeaveGroup request, as
Kafka itself would after ``session.timeout.ms``. A live member leaves the same way under the
member id aiokafka drops when the broker refuses a heartbeat or commit for a stale generation:
aiokafka joins as a new member, and the broker would keep the old id (and may elect it leader) for
ever. A join that still does not complete within ``join_timeout_s`` is abandoned and retried with
backoff, and the member reports itself stalled, so liveness fails and the platform restarts it.

A fetch is handed on whole (``on_records``: every record of every partition it returned), then
``on_batch_done`` (the outputs are acknowledged), then the offsets are committed once: at-least-once,
with the bus's ledgers dropping what a redelivery repeats.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from aiokafka.protocol.group import LeaveGroupRequest
from aiokafka.structs import OffsetAndMetadata

from shared.empty_assignment import install_empty_assignment_rejoin
from shared.errors import BrokerError
from shared.fetch_wait import install_fetch_wait_floor
from shared.settings import ServiceSettings
from shared.stopping import STOP_WAIT_S, cancel_and_wait, stop_apart

log = logging.getLogger(__name__)

POLL_MS: Final = 1000
MAX_RECORDS: Final = 500
RETRY_MAX_S: Final = 10.0
MEMBERSHIP_CHECK_S: Final = 5.0  # ``still_member`` gives up (answers no) after this long
GHOST_AFTER_S: Final = 3.0  # a fetch that has not come back for this long may be a rejoin stuck on a ghost

RecordsHandler = Callable[[list[ConsumerRecord[Any, Any]]], Awaitable[None]]
BatchDone = Callable[[], Awaitable[None]]


@dataclass
class Progress:
    """What a member has done, for readiness, liveness, lag and ``/status``."""

    joined: bool = False
    started_at: float = field(default_factory=time.monotonic)
    last_poll: float | None = None
    last_handled_at: float | None = None  # wall-clock time of the newest record handled
    handled: int = 0
    joins: int = 0
    failed_joins: int = 0
    lag: dict[int, int] = field(default_factory=dict)

    def touch(self) -> None:
        """Note that the member is busy handling a batch, not stalled (a long batch is not a hang)."""
        self.last_poll = time.monotonic()

    def stalled_for(self, now: float) -> float:
        """Seconds since the member last came back from a fetch (or since it started, never having joined)."""
        return now - (self.last_poll if self.last_poll is not None else self.started_at)


@dataclass(frozen=True)
class MemberConfig:
    """Timings of a member; the defaults are Kafka's consumer defaults where Kafka has one."""

    join_timeout_s: float = 30.0
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    lag_interval_s: float = 5.0
    ghost_after_s: float = GHOST_AFTER_S


class GroupMember:
    """A consumer-group member on one topic that survives a dead predecessor and reports its progress."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        topic: str,
        group_id: str,
        client_id: str,
        on_records: RecordsHandler,
        on_batch_done: BatchDone,
        listener: ConsumerRebalanceListener | None = None,
        config: MemberConfig | None = None,
        on_lag: Callable[[str, int, int], None] | None = None,
        offset_reset: str = "earliest",
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.group_id = group_id
        self.client_id = _slot_name(client_id, group_id)
        self.on_records = on_records
        self.on_batch_done = on_batch_done
        self.config = config or MemberConfig()
        self.on_lag = on_lag
        self.offset_reset = offset_reset
        self.progress = Progress()
        self.consumer: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._revocations = _CountRevocations(listener, before_rejoin=self._leave_as_dropped_id, joined=self._joined_as)
        self._member_id = ""  # the member id of the last generation this member joined
        self._commit_lock = asyncio.Lock()  # the batch's commit and ``still_member``'s never interleave
        self._stopping = False  # set by ``stop``: the loops end at their next turn even if a cancellation was lost

    @property
    def revocations(self) -> int:
        """How many times partitions were taken from this member; a batch handler stops when it changes."""
        return self._revocations.count

    @property
    def listener(self) -> ConsumerRebalanceListener:
        """The rebalance listener the consumer is given: counts revocations, then calls the subscriber's own."""
        return self._revocations

    def assigned_partitions(self) -> set[int]:
        """Partitions of the topic this member holds now (empty while not joined or while rebalancing).

        aiokafka keeps reporting the previous assignment during a rejoin; by then another member may
        hold those partitions already, so from revocation to the next assignment this member holds none.
        """
        if self.consumer is None or not self.progress.joined or self._revocations.rebalancing:
            return set()
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}

    async def still_member(self) -> bool:
        """Whether the broker still counts this member in the generation that gave it its partitions.

        The check is a commit of the offsets already committed (nothing moves): the broker refuses
        it once a newer generation exists, which a member learns otherwise only at its next
        heartbeat, seconds later. Call it before a side effect that only a partition's owner may
        cause; a refusal (or no broker) means "not now", and the owner's next turn decides again.
        """
        consumer = self.consumer
        if consumer is None or not self.assigned_partitions():
            return False
        async with self._commit_lock:
            try:
                async with asyncio.timeout(MEMBERSHIP_CHECK_S):
                    offsets = await self._committed_offsets(consumer)
                if offsets:
                    async with asyncio.timeout(MEMBERSHIP_CHECK_S):
                        await consumer.commit(offsets)
            except (KafkaError, AssertionError, RuntimeError, TimeoutError) as exc:
                log.info("%s on %s: not a member of the current generation (%s)", self.group_id, self.topic, exc)
                return False
        return bool(self.assigned_partitions())

    async def _committed_offsets(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, OffsetAndMetadata]:
        """The committed offset of every assigned partition (the log start where none is committed yet)."""
        tps = [tp for tp in consumer.assignment() if tp.topic == self.topic]
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is None:
                committed = (await consumer.beginning_offsets([tp]))[tp]
            offsets[tp] = OffsetAndMetadata(committed, "")
        return offsets

    def owns_key(self, key: str, default_partitions: int) -> bool:
        """Whether records keyed ``key`` land on a partition this member holds (Kafka's default partitioner)."""
        assigned = self.assigned_partitions()
        if not assigned:
            return False
        return partition_of(key, self.partition_count() or default_partitions) in assigned

    def partition_count(self) -> int | None:
        """Partitions the topic has, as the member's metadata knows it."""
        if self.consumer is None:
            return None
        parts = self.consumer.partitions_for_topic(self.topic)
        return len(parts) if parts else None

    def start(self) -> None:
        """Join and consume in the background (see ``Progress`` for how it goes)."""
        self.progress = Progress()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._run(), name=f"consume:{self.group_id}:{self.topic}"),
            asyncio.create_task(self._measure_lag(), name=f"lag:{self.group_id}:{self.topic}"),
        ]

    async def stop(self) -> None:
        """Stop consuming and leave the group (the partitions move to the other members at once).

        The loops are cancelled and also told to stop: a cancellation swallowed on the way (aiokafka
        has such places, see ``shared.stopping``) ends a loop at its next turn instead of never.
        A loop still running after ``STOP_WAIT_S`` is left behind, logged with where it waits.
        """
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks, limit_s=STOP_WAIT_S)
        await self._close()

    async def _close(self) -> None:
        """Stop the consumer (leaving the group), waiting at most ``STOP_WAIT_S`` for it (see ``stop_apart``)."""
        consumer, self.consumer = self.consumer, None
        self.progress.joined = False
        if consumer is not None:
            await stop_apart(consumer.stop(), name=f"stop:{self.group_id}:{self.topic}", limit_s=STOP_WAIT_S)

    async def _run(self) -> None:
        backoff = 1.0
        while not self._stopping:
            try:
                await self._join()
                backoff = 1.0
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker gone, join stalled, coordinator moved: start over
                self.progress.failed_joins += not self.progress.joined
                log.warning(
                    "consumer %s on %s: %s; retrying in %.0fs", self.group_id, self.topic, _describe(exc), backoff
                )
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX_S)

    async def _join(self) -> None:
        install_fetch_wait_floor(idle_share=self.settings.fetch_idle_share)
        install_empty_assignment_rejoin()
        evicted = await evict_members(self.settings, self.group_id, client_id=self.client_id)
        if evicted:
            log.info("removed %d dead predecessor(s) of %s from group %s", evicted, self.client_id, self.group_id)
        cfg = self.config
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset=self.offset_reset,
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=cfg.heartbeat_interval_ms,
            max_poll_interval_ms=cfg.max_poll_interval_ms,
            **self.settings.kafka_client_options(),
        )
        self.consumer = consumer
        consumer.subscribe([self.topic], listener=self._revocations)
        try:
            async with asyncio.timeout(cfg.join_timeout_s):
                await consumer.start()
        except TimeoutError as exc:
            raise JoinTimeout(f"join of group {self.group_id} did not complete in {cfg.join_timeout_s:.0f}s") from exc
        self.progress.joined = True
        self.progress.joins += 1
        self.progress.last_poll = time.monotonic()

    async def _consume(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        while not self._stopping:
            batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
            self.progress.last_poll = time.monotonic()
            if not batch or self._stopping:  # a batch fetched after the stop is redelivered to the next owner
                continue
            generation = self._revocations.count
            records = [record for part in batch.values() for record in part]
            await self.on_records(records)
            self.progress.handled += len(records)
            self.progress.last_poll = time.monotonic()
            self.progress.last_handled_at = time.time()
            await self.on_batch_done()
            if self._revocations.count != generation:
                log.info("partitions of %s revoked mid-batch; its records are redelivered to their owner", self.topic)
                continue  # the commit would fail: the group has moved on to a new generation
            offsets = {tp: OffsetAndMetadata(part[-1].offset + 1, "") for tp, part in batch.items()}
            try:
                async with self._commit_lock:
                    await consumer.commit(offsets)
            except KafkaError as exc:  # a rebalance took the partitions: the next owner redoes the batch (deduped)
                log.warning("commit after a batch on %s failed (%s); it will be redelivered", self.topic, exc)

    async def _measure_lag(self) -> None:
        """Lag per assigned partition from the group's committed offsets and the log end, idle or not.

        A member whose fetch has not come back for a while, or whose join has not completed, may be
        stuck in a join that waits for a ghost of itself (an earlier member id the broker kept): such
        ghosts are removed here too.
        """
        measured = 0.0
        while not self._stopping:
            await asyncio.sleep(1.0)
            consumer = self.consumer
            if consumer is None:
                continue
            if self.progress.stalled_for(time.monotonic()) > self.config.ghost_after_s:
                await self._remove_ghosts(consumer)
            if not self.progress.joined or time.monotonic() - measured < self.config.lag_interval_s:
                continue
            measured = time.monotonic()
            try:
                lag = await partition_lag(consumer, [tp for tp in consumer.assignment() if tp.topic == self.topic])
            except (KafkaError, AssertionError, RuntimeError) as exc:  # rebalancing or reconnecting
                log.debug("lag of %s on %s not measured: %s", self.group_id, self.topic, exc)
                continue
            for partition in set(self.progress.lag) - set(lag):
                if self.on_lag is not None:
                    self.on_lag(self.topic, partition, -1)
            self.progress.lag = lag
            if self.on_lag is not None:
                for partition, behind in lag.items():
                    self.on_lag(self.topic, partition, behind)

    async def _remove_ghosts(self, consumer: AIOKafkaConsumer) -> None:
        current = _member_id_of(consumer)
        if not current:
            return
        started = time.monotonic()
        evicted = await evict_members(self.settings, self.group_id, client_id=self.client_id, keep=current)
        log.debug("ghost check of %s took %.2fs", self.client_id, time.monotonic() - started)
        if evicted:
            log.warning("removed %d ghost(s) of %s from group %s (a rejoin waited for them)", evicted,
                        self.client_id, self.group_id)  # fmt: skip

    async def _leave_as_dropped_id(self) -> None:
        """Before a rejoin: leave the group under the member id aiokafka has just dropped, if it did.

        aiokafka forgets its member id when the broker refuses a heartbeat or a commit for a stale
        generation (noida-db does so to the surviving member whenever a peer joins) and joins as a new
        member. Kafka would expire the old id after ``session.timeout.ms``; noida-db keeps it, may
        elect it leader, and every join then waits for a member that never answers (28-31 s before
        a restarted peer got partitions, measured). A rejoin that keeps its id leaves nothing behind.
        """
        dropped = self._member_id
        if not dropped or dropped == _member_id_of(self.consumer):
            return
        self._member_id = ""
        if await leave_as(self.settings, self.group_id, dropped):
            log.info("%s left group %s as %s, the member id aiokafka dropped, before joining again",
                     self.client_id, self.group_id, dropped)  # fmt: skip

    def _joined_as(self) -> None:
        """Note the member id of the generation just joined (aiokafka keeps it only on its coordinator)."""
        self._member_id = _member_id_of(self.consumer)


class _CountRevocations(ConsumerRebalanceListener):  # type: ignore[misc]
    """Count revocations (so a batch in progress stops handling records), then call the member's listener.

    aiokafka runs the rebalance beside the batch loop: without the count, records of a partition
    already handed to another member would still be handled here, and their state written after
    the new owner's (a detector checkpoint without the open episodes, for one).
    """

    def __init__(
        self,
        inner: ConsumerRebalanceListener | None,
        *,
        before_rejoin: Callable[[], Awaitable[None]] | None = None,
        joined: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.before_rejoin, self.joined = before_rejoin, joined
        self.count = 0
        self.rebalancing = False  # from a revocation until the subscriber's listener has taken the assignment

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.count += 1
        self.rebalancing = True
        if self.inner is not None:
            await self.inner.on_partitions_revoked(revoked)
        if self.before_rejoin is not None:  # aiokafka sends the JoinGroup once this returns
            await self.before_rejoin()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self.joined is not None:
            self.joined()
        try:
            if self.inner is not None:
                await self.inner.on_partitions_assigned(assigned)
        finally:
            self.rebalancing = False


@functools.lru_cache(maxsize=1 << 16)
def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as the Java client); remembered.

    ``owns_key`` asks it for every open incident on every clock tick.
    """
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class JoinTimeout(BrokerError):
    """A group join did not complete in time (a member the broker still waits for, or no coordinator)."""


async def partition_lag(consumer: AIOKafkaConsumer, tps: Iterable[TopicPartition]) -> dict[int, int]:
    """Records between the group's committed offset and the end of each partition."""
    tps = list(tps)
    if not tps:
        return {}
    ends = await consumer.end_offsets(tps)
    lag: dict[int, int] = {}
    for tp in tps:
        committed = await consumer.committed(tp)
        if committed is None:
            committed = (await consumer.beginning_offsets([tp]))[tp]
        lag[tp.partition] = max(0, ends[tp] - committed)
    return lag


async def evict_members(settings: ServiceSettings, group_id: str, *, client_id: str, keep: str = "") -> int:
    """Remove the members of ``group_id`` that carry ``client_id`` (dead incarnations); return how many.

    ``keep`` names the caller's own live member id, which is never removed.

    Kafka removes a dead member itself after ``session.timeout.ms``; some stand-ins never do, and
    the group then waits for it forever. A broker without the group, or without the request, is
    left as it is: the join that follows tells whether the group is usable.
    """
    async with _admin(settings, group_id) as admin:
        described = await admin.describe_consumer_groups([group_id])
        members = [
            member[0]
            for response in described
            for group in response.groups
            for member in group[5]
            if member[1] == client_id and member[0] != keep
        ]
        if members:
            await _leave(admin, group_id, members)
        return len(members)
    return 0


async def leave_as(settings: ServiceSettings, group_id: str, member_id: str) -> bool:
    """Send a LeaveGroup for ``member_id`` of ``group_id``; return whether the request went out."""
    async with _admin(settings, group_id) as admin:
        await _leave(admin, group_id, [member_id])
        return True
    return False


@contextlib.asynccontextmanager
async def _admin(settings: ServiceSettings, group_id: str) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client for one group request, bounded in time; a broker error is logged and swallowed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    try:
        async with asyncio.timeout(MEMBERSHIP_CHECK_S):
            await admin.start()
            yield admin
    except (KafkaError, OSError, IndexError, TypeError, TimeoutError) as exc:
        log.debug("could not inspect group %s: %s", group_id, exc)
    finally:
        await stop_apart(admin.close(), name=f"admin-close:{group_id}", limit_s=MEMBERSHIP_CHECK_S)


async def _leave(admin: AIOKafkaAdminClient, group_id: str, member_ids: list[str]) -> None:
    coordinator = await admin.find_coordinator(group_id)
    for member_id in member_ids:
        await admin._send_request_to_node(coordinator, LeaveGroupRequest(group_id, member_id))  # no public API


def _member_id_of(consumer: AIOKafkaConsumer | None) -> str:
    """The member id a consumer holds now ("" before a join, or once aiokafka dropped it)."""
    coordinator = getattr(consumer, "_coordinator", None)  # aiokafka keeps the member id there only
    return str(getattr(coordinator, "member_id", "") or "")


_SLOTS: collections.Counter[tuple[str, str]] = collections.Counter()


def _slot_name(client_id: str, group_id: str) -> str:
    """``client_id`` made unique among this process's members of one group, the same after a restart.

    Two members of one group in one process (tests, embedding) must not take each other for a
    dead predecessor; a restarted process creates its members in the same order, so the n-th
    keeps its name.
    """
    _SLOTS[client_id, group_id] += 1
    n = _SLOTS[client_id, group_id]
    return client_id if n == 1 else f"{client_id}#{n}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
