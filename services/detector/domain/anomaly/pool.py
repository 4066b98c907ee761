"""One state array for the detector banks of many targets: columns handed out, taken back and reused.

A bank's series are columns of its pool's ``(fields, capacity)`` array (`layout`). A step over
many banks of one pool then reads and writes their columns in place (a plain slice when their
columns follow one another, else one gather and one scatter by index) instead of joining each
bank's own array and copying it back. Columns of a bank that is gone return to a free list and
are handed out again before the array grows, so the array is never larger than twice the most
columns live at once.
"""

from __future__ import annotations

import numpy as np

from . import layout
from .config import DetectorConfig


class StatePool:
    """Detector state columns of many banks in one array (see the module docstring)."""

    __slots__ = ("_free", "_fresh", "_next", "_returned", "config", "state")

    def __init__(self, config: DetectorConfig | None = None, capacity: int = 0) -> None:
        self.config = config or DetectorConfig()
        self._fresh = layout.new_state(self.config, 1)
        self.state = np.empty((self._fresh.shape[0], 0))
        self._next = 0  # columns from here on were never handed out, and hold fresh state
        self._free: list[int] = []  # handed out before and taken back, largest first
        self._returned: list[np.ndarray] = []  # taken back since the last allocation
        if capacity:
            self._grow(capacity)

    @property
    def capacity(self) -> int:
        """Columns the array holds, live or not."""
        return int(self.state.shape[1])

    @property
    def live(self) -> int:
        """Columns handed out and not taken back."""
        return self._next - len(self._free) - sum(cols.size for cols in self._returned)

    def allocate(self, count: int) -> np.ndarray:
        """Hand out ``count`` columns of fresh state (nothing learned); return their indices.

        Free columns go first, then never used ones; the array grows (at least doubling) when
        neither is enough.
        """
        if self._returned:
            for cols in self._returned:
                self._free.extend(cols.tolist())
            self._returned.clear()
            self._free.sort(reverse=True)
        reused = self._free[max(len(self._free) - count, 0) :] if count else []
        if reused:
            del self._free[-len(reused) :]
        new = count - len(reused)
        if self._next + new > self.capacity:
            self._grow(self._next + new)
        if reused:
            reused.reverse()
            self.state[:, reused] = self._fresh  # never used ones are fresh already
        cols = np.array(reused + list(range(self._next, self._next + new)), dtype=np.intp)
        self._next += new
        return cols

    def give_back(self, cols: np.ndarray) -> None:
        """Take back a gone bank's columns (safe to call from a finaliser: only queues them)."""
        self._returned.append(cols)

    def _grow(self, needed: int) -> None:
        bigger = np.empty((self.state.shape[0], max(needed, 2 * self.capacity)))
        bigger[:, : self._next] = self.state[:, : self._next]
        bigger[:, self._next :] = self._fresh  # in one pass: cheaper than column by column later
        self.state = bigger


def run_start(cols: np.ndarray) -> int:
    """The first of ``cols`` when they are one run of consecutive columns, else -1."""
    if cols.size == 0:
        return -1
    start = int(cols[0])
    return start if cols.tolist() == list(range(start, start + cols.size)) else -1
