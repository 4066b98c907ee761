"""Silences (maintenance windows): which active silence, if any, mutes an anomaly's labels at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from services.responder.domain.grouping import matches
from shared.models import Silence


def is_active(silence: Silence, now: datetime) -> bool:
    """Return True if ``now`` lies inside the silence's window [starts_at, ends_at)."""
    return silence.starts_at <= now < silence.ends_at


def silencing(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> Silence | None:
    """Return the first silence active at ``now`` whose matchers all fit ``labels``, else None.

    A silence with no matchers would mute everything, so it is treated as matching nothing.
    """
    for silence in silences:
        if silence.matchers and is_active(silence, now) and matches(labels, silence.matchers):
            return silence
    return None


def expire(silence: Silence, at: datetime) -> Silence:
    """Return ``silence`` ending at ``at`` (an operator expired it early)."""
    return silence.model_copy(update={"ends_at": min(silence.ends_at, at)})
