"""Silences and maintenance windows: which one, if any, mutes an anomaly's labels at a time.

Both live in the book's ``silences`` (windows under ``window:<name>``) and are checked here, one
path: whatever re-evaluates anomalies when a silence ends covers the end of a window too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeAlias

from services.responder.domain.grouping import matches
from services.responder.domain.windows import MaintenanceWindow, window_active, window_mutes
from shared.models import Silence

Mute: TypeAlias = Silence | MaintenanceWindow
"""What mutes anomalies: a one-off silence or a recurring maintenance window."""


def is_active(silence: Mute, now: datetime) -> bool:
    """Return True if ``now`` lies inside the silence's window [starts_at, ends_at) (or the window holds)."""
    if isinstance(silence, MaintenanceWindow):
        return window_active(silence, now)
    return silence.starts_at <= now < silence.ends_at


def silencing(silences: Iterable[Mute], labels: Mapping[str, str], now: datetime) -> Mute | None:
    """Return the first silence or window active at ``now`` whose matchers all fit ``labels``, else None.

    A silence with no matchers would mute everything, so it is treated as matching nothing.
    """
    for silence in silences:
        if isinstance(silence, MaintenanceWindow):
            if window_mutes(silence, labels, now):
                return silence
        elif silence.matchers and is_active(silence, now) and matches(labels, silence.matchers):
            return silence
    return None


def expire(silence: Silence, at: datetime) -> Silence:
    """Return ``silence`` ending at ``at`` (an operator expired it early)."""
    return silence.model_copy(update={"ends_at": min(silence.ends_at, at)})
