"""One state array for the detector banks of many targets: columns handed out, taken back and reused.

A bank's series are "columns" of its pool's array: rows of a ``(capacity, fields)`` array, which
the kernel sees transposed as `layout`'s ``(fields, series)``. A step over many banks of one pool
then works on their columns in place when they make a few runs of consecutive columns, instead of
joining each bank's own array and copying it back. Memory is field-major (each field contiguous
across series: the kernel's step is fastest on that) or series-major (each series' state
contiguous: a gather of scattered series is cheapest on that). Banks stepped in another order are
gathered, stepped and moved together to one new run (`relocate`), so the next step over them in
that order is in place too.

Columns of a bank that is gone return to a free list and are handed out again before the array
grows. When new columns are wanted and packing the live ones to the front (`_compact`) makes room
for them, they are packed instead of growing the array; a move that finds no room packs the live
columns with the moved ones last. So the array grows only when the live columns fill it, and is
never larger than twice the most columns live at once.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from . import layout
from .config import DetectorConfig


class Tenant(Protocol):
    """What holds columns of a pool (a `DetectorBank`)."""

    @property
    def columns(self) -> np.ndarray:
        """Its columns, in its series' order."""
        ...

    def move_columns(self, cols: np.ndarray) -> None:
        """Take ``cols`` as its columns from now on (the pool has copied its state there)."""
        ...


class StatePool:
    """Detector state columns of many banks in one array (see the module docstring)."""

    __slots__ = ("_free", "_fresh", "_next", "_order", "_returned", "_tenants", "config", "state")

    def __init__(self, config: DetectorConfig | None = None, capacity: int = 0, *, series_major: bool = True) -> None:
        self.config = config or DetectorConfig()
        self._fresh = layout.new_state(self.config, 1)[:, 0]
        # Series-major memory (each series' state contiguous) makes gathers of scattered series cheap;
        # field-major memory makes steps over a few runs cheaper (see bench/bench_kernel_layout.py).
        self._order: Literal["C", "F"] = "C" if series_major else "F"
        self.state = np.empty((0, self._fresh.size), order=self._order)
        self._next = 0  # columns from here on were never handed out, and hold fresh state
        self._free: list[int] = []  # handed out before and taken back, largest first
        self._returned: list[np.ndarray] = []  # taken back since the last allocation
        self._tenants: weakref.WeakSet[Tenant] = weakref.WeakSet()
        if capacity:
            self._grow(capacity)

    @property
    def capacity(self) -> int:
        """Columns the array holds, live or not."""
        return int(self.state.shape[0])

    @property
    def live(self) -> int:
        """Columns handed out and not taken back."""
        return self._next - len(self._free) - sum(cols.size for cols in self._returned)

    def admit(self, tenant: Tenant) -> None:
        """Know ``tenant`` as the holder of its columns (to move them when the array is packed)."""
        self._tenants.add(tenant)

    def allocate(self, count: int) -> np.ndarray:
        """Hand out ``count`` columns of fresh state (nothing learned); return their indices.

        Free columns go first, then never used ones. A tenant's columns may move meanwhile.
        """
        self._drain()
        if count > len(self._free):
            self._make_room(count - len(self._free))  # may pack: then no column is free
        reused = self._free[max(len(self._free) - count, 0) :] if count else []
        if reused:
            del self._free[-len(reused) :]
            reused.reverse()
            self.state[reused] = self._fresh  # never used ones are fresh already
        new = count - len(reused)
        if self._next + new > self.capacity:
            self._grow(self._next + new)
        cols = np.array(reused + list(range(self._next, self._next + new)), dtype=np.intp)
        self._next += new
        return cols

    def relocate(self, tenants: Sequence[Tenant], state: np.ndarray) -> None:
        """Move ``tenants`` to one new run of columns, in this order, holding ``state`` (a row per series)."""
        count = int(state.shape[0])
        if self._next + count > self.capacity:  # no room for the run: pack, with them last
            self._compact(tenants, state)
            return
        start = self._next
        self.state[start : start + count] = state
        self._next += count
        for tenant in tenants:
            old = tenant.columns
            tenant.move_columns(np.arange(start, start + old.size))
            self._returned.append(old)
            start += old.size

    def give_back(self, cols: np.ndarray) -> None:
        """Take back a gone bank's columns (safe to call from a finaliser: only queues them)."""
        self._returned.append(cols)

    def _drain(self) -> None:
        if self._returned:
            for cols in self._returned:
                self._free.extend(cols.tolist())
            self._returned.clear()
            self._free.sort(reverse=True)

    def _make_room(self, count: int) -> None:
        """Make sure ``count`` never used columns follow ``_next``: pack the live ones if that makes room, else grow."""
        if self._next + count <= self.capacity:
            return
        self._drain()
        if self._free and self._next - len(self._free) + count <= self.capacity:
            self._compact()
        if self._next + count > self.capacity:
            self._grow(self._next + count)

    def _compact(self, last: Sequence[Tenant] = (), last_state: np.ndarray | None = None) -> None:
        """Pack the live columns to the front in their order, and forget the free ones.

        ``last`` go at the end, in this order, holding ``last_state`` when given.
        """
        moving = {id(tenant) for tenant in last}
        rest = sorted((t for t in self._tenants if id(t) not in moving), key=lambda t: _first(t.columns))
        tenants = [*rest, *last]
        cols = [t.columns for t in tenants]  # strong references: no tenant goes away meanwhile
        joined = np.concatenate(cols) if cols else np.empty(0, dtype=np.intp)
        kept = joined.size - (last_state.shape[0] if last_state is not None else 0)
        packed = np.empty_like(self.state)
        packed[:kept] = self.state[joined[:kept]]
        if last_state is not None:
            packed[kept : joined.size] = last_state
        packed[joined.size :] = self._fresh
        self.state, self._next, self._free = packed, int(joined.size), []
        self._returned.clear()
        start = 0
        for tenant, old in zip(tenants, cols, strict=True):
            tenant.move_columns(np.arange(start, start + old.size))
            start += old.size

    def _grow(self, needed: int) -> None:
        bigger = np.empty((max(needed, 2 * self.capacity), self._fresh.size), order=self._order)
        bigger[: self._next] = self.state[: self._next]
        bigger[self._next :] = self._fresh  # in one pass: cheaper than column by column later
        self.state = bigger


def _first(cols: np.ndarray) -> int:
    return int(cols[0]) if cols.size else -1


def run_start(cols: np.ndarray) -> int:
    """The first of ``cols`` when they are one run of consecutive columns, else -1."""
    if cols.size == 0:
        return -1
    start = int(cols[0])
    return start if cols.tolist() == list(range(start, start + cols.size)) else -1
