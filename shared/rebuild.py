"""Start-up rebuilds: replay a service's topics into its state without letting one bad record stop start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import ConsumerRecord

from shared.bus import EventBus
from shared.edge import Refused, admit_event
from shared.events import Event
from shared.ledger import Ledger
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.text import clean_line
from shared.topics import Topic

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Fold = Callable[[E], None]
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A replayed record a rebuild left out, and why (to log, count or dead-letter)."""

    topic: Topic[Event]
    record: ConsumerRecord[Any, Any]
    reason: str


@dataclass
class Rebuilt:
    """What a rebuild took in, and the records it skipped."""

    applied: int = 0
    skipped: list[Skipped] = field(default_factory=list)


async def rebuild(
    bus: EventBus,
    own_topics: Sequence[Topic[E]],
    fold: Fold[E] | None = None,
    *,
    inputs: Sequence[Topic[E]] = (),
    clock: Clock = utcnow,
    skip_known: bool = False,
) -> Rebuilt:
    """Replay the last ``rebuild_window_records`` records per partition of ``own_topics`` and ``inputs``.

    Every event the edge admits (allowed on its topic, credible times) goes to ``fold``; the ids of
    those on ``own_topics`` (the service's outputs) also go into ``bus.published``, so nothing is
    emitted twice after a restart. The others, and those ``fold`` fails on, are skipped and logged:
    a bad record is never a reason to fail start-up. With ``skip_known``, events of ``own_topics``
    already in ``bus.published`` are not folded again (a catch-up on a running service, whose state
    holds them).
    """
    settings = bus.settings
    topics = (*own_topics, *inputs)
    replayed = _replay(settings, topics, tail=settings.rebuild_window_records)
    return await fold_replayed(
        replayed, fold, own=own_topics, ledger=bus.published, settings=settings, clock=clock, skip_known=skip_known
    )


async def _replay(
    settings: ServiceSettings, topics: Sequence[Topic[E]], *, tail: int
) -> AsyncIterator[tuple[Topic[E], ConsumerRecord[Any, Any], Event]]:
    by_name = {settings.topic_prefix + topic.name: topic for topic in topics}
    async for record, event in replay(settings, by_name, tail=tail):
        yield by_name[record.topic], record, event


async def fold_replayed(
    replayed: AsyncIterable[tuple[Topic[E], ConsumerRecord[Any, Any], Event]],
    fold: Fold[E] | None,
    *,
    own: Collection[Topic[E]],
    ledger: Ledger,
    settings: ServiceSettings,
    clock: Clock = utcnow,
    skip_known: bool = False,
) -> Rebuilt:
    """The fold of ``rebuild`` over any stream of (topic, record, event)."""
    rebuilt = Rebuilt()
    for_ledger = {topic.name for topic in own}
    async for topic, record, event in replayed:
        verdict = admit_event(
            event,
            record.timestamp,
            allowed=topic.events,
            now=clock(),
            max_skew=settings.max_event_skew,
            max_age=settings.max_event_age,
        )
        if isinstance(verdict, Refused):
            reason: str | None = verdict.reason
        else:
            if topic.name in for_ledger and not ledger.add(verdict.event.id) and skip_known:
                continue  # folded before
            reason = _folded(fold, verdict.event)
        if reason is None:
            rebuilt.applied += 1
            continue
        rebuilt.skipped.append(Skipped(topic, record, reason))
        log.warning("rebuild skips %s@%s/%s: %s", record.topic, record.partition, record.offset, clean_line(reason))
    return rebuilt


def _folded(fold: Fold[E] | None, event: E) -> str | None:
    """Fold ``event``; return why it could not be folded, or None."""
    if fold is None:
        return None
    try:
        fold(event)
    except Exception as exc:  # one record that breaks the fold must not stop the service
        log.exception("rebuild could not fold event %s", event.id)
        return f"rebuild could not fold: {type(exc).__name__}: {clean_line(exc, limit=300)}"
    return None
