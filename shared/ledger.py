"""Bounded memory of event ids already seen or emitted, the core of idempotent consumers."""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

DEFAULT_CAPACITY: Final = 500_000


class Ledger:
    """An insertion-ordered set of ids that forgets the oldest beyond ``capacity``.

    Derived event ids are deterministic, so a service that rebuilds this ledger from its own
    output topics at start-up recognises every side effect it already recorded, even after a
    restart, and a replayed input never repeats one.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> bool:
        """Record ``event_id``; return False if it was already there."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True
