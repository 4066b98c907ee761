"""Folding a replay into a service's state without letting one bad record stop start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.edge import check_event
from shared.events import Envelope
from shared.settings import ServiceSettings
from shared.text import clean_line

log = logging.getLogger(__name__)


@dataclass
class Folded:
    """What a rebuild took in, and the records it skipped with the reason (to dead-letter or report)."""

    applied: int = 0
    skipped: list[tuple[Any, str]] = field(default_factory=list)


async def fold_replay(
    records: AsyncIterator[tuple[Any, Envelope[Any]]],
    apply: Callable[[Envelope[Any]], None],
    settings: ServiceSettings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Folded:
    """Apply every replayed event the edge admits; skip (and log) the others and any ``apply`` fails on."""
    folded = Folded()
    async for record, event in records:
        reason = check_event(
            event, record.timestamp, now=clock(), max_skew=settings.max_event_skew, max_age=settings.max_event_age
        )
        if reason is None:
            try:
                apply(event)
            except Exception as exc:  # one record that breaks the fold must not stop the service
                reason = f"rebuild could not fold: {type(exc).__name__}: {clean_line(exc, limit=300)}"
        if reason is None:
            folded.applied += 1
            continue
        folded.skipped.append((record, reason))
        log.warning("rebuild skips %s@%s/%s: %s", record.topic, record.partition, record.offset, clean_line(reason))
    return folded
