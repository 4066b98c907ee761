"""Many series in one numpy state: the throughput form of `SeriesDetector` (same kernel)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from itertools import chain
from typing import Final

import numpy as np

from . import layout
from .config import DetectorConfig
from .detector import SeriesDetector, decode_state, encode_state
from .kernel import StepResult, step
from .pool import StatePool, run_start

MAX_RUNS: Final = 4
"""Banks of one pool whose columns make at most this many runs are stepped in place, one kernel call
per run (about 0.2 ms each); more are gathered into one step and moved to one run."""


class DetectorBank:
    """Detectors of `n_series` series that advance together, one sample per series per call.

    Their state is columns of a `StatePool`: ``pool`` when given (shared with other banks, so that
    `step_together` works on them in place), else one of the bank's own. The columns go back to
    the pool when the bank is gone.
    """

    __slots__ = ("__weakref__", "_cols", "_config", "_pool", "_start", "n_series")

    def __init__(self, n_series: int, config: DetectorConfig | None = None, pool: StatePool | None = None) -> None:
        self._config = config or (pool.config if pool is not None else DetectorConfig())
        if pool is None:
            pool = StatePool(self._config, n_series, series_major=False)
        elif pool.config is not self._config and pool.config != self._config:
            raise ValueError("a bank and its state pool must share one detector config")
        self._pool = pool
        self._set_columns(pool.allocate(n_series))
        pool.admit(self)

    def __del__(self) -> None:
        cols = getattr(self, "_cols", None)
        if cols is not None:  # None: its __init__ failed before it held any column
            self._pool.give_back(cols)

    def _set_columns(self, cols: np.ndarray) -> None:
        self._cols = cols
        self._start = run_start(cols)  # -1: not one run
        self.n_series = int(cols.size)

    @property
    def columns(self) -> np.ndarray:
        """The pool columns of its series, in series order."""
        return self._cols

    def move_columns(self, cols: np.ndarray) -> None:
        """Take ``cols`` as its columns (the pool moved its state there; see `StatePool.relocate`)."""
        self._cols, self._start = cols, int(cols[0]) if cols.size else -1

    @property
    def _state(self) -> np.ndarray:
        """The (fields, series) state: a view into the pool while the columns are one run, else a copy."""
        if self._start >= 0:
            return self._pool.state[self._start : self._start + self.n_series].T
        rows: np.ndarray = self._pool.state[self._cols]
        return rows.T

    @property
    def state_bytes_per_series(self) -> int:
        """Bytes of live state per series."""
        return int(self._pool.state.shape[1] * self._pool.state.itemsize)

    def update(self, ts: np.ndarray, values: np.ndarray) -> StepResult:
        """Score one sample per series (NaN value = no sample for that series) and learn from it."""
        ts, values = np.asarray(ts, dtype=float), np.asarray(values, dtype=float)
        if self._start >= 0:
            return step(self._state, ts, values, self._config)
        state = self._state
        result = step(state, ts, values, self._config)
        self._pool.state[self._cols] = state.T
        return result

    def add_series(self, count: int = 1) -> range:
        """Add `count` fresh series; return their indices."""
        start = self.n_series
        added = self._pool.allocate(count)
        self._set_columns(np.concatenate([self._cols, added]) if start else added)
        return range(start, start + count)

    def dumps_series(self, i: int) -> bytes:
        """Checkpoint series `i` (the same bytes `SeriesDetector.dumps` gives)."""
        return encode_state(self._pool.state[self._cols[i]])

    def loads_series(self, i: int, data: bytes) -> None:
        """Restore series `i` from a checkpoint."""
        self._pool.state[self._cols[i]] = decode_state(data, self._config)

    @property
    def state_rows(self) -> int:
        """Floats of state per series."""
        return int(self._pool.state.shape[1])

    def dumps_all(self) -> bytes:
        """Checkpoint every series: their state columns one after the other, little-endian float64."""
        return np.ascontiguousarray(self._state.T, dtype="<f8").tobytes()

    def loads_all(self, data: bytes, rows: int) -> None:
        """Restore every series from ``dumps_all`` output; ValueError if it does not fit this bank."""
        v2 = rows == self.state_rows - len(layout.RECENT_ROWS)  # before the recent jump records (layout.from_v2)
        if (rows != self.state_rows and not v2) or len(data) != 8 * rows * self.n_series:
            raise ValueError("detector state does not match this detector version/configuration")
        state = np.frombuffer(data, dtype="<f8").reshape(self.n_series, rows).T
        self._pool.state[self._cols] = (layout.from_v2(state, self._config) if v2 else state).T

    def detector(self, i: int) -> SeriesDetector:
        """Return a standalone copy of series `i`'s detector."""
        return SeriesDetector.loads(self.dumps_series(i), self._config)


def step_together(
    banks: Sequence[DetectorBank], ts: Sequence[float], columns: Sequence[Iterable[float]]
) -> tuple[StepResult | None, list[int]]:
    """Advance several banks by one sample per series in one kernel step; banks must share one config.

    ``ts[i]`` is the time of bank ``i``'s samples, ``columns[i]`` its values (NaN: none). Returns the
    combined result and where each bank's series start in it (None when there is no bank). Banks of
    one pool are stepped in the pool's array, in its column order: in place when their columns make
    a few runs (`MAX_RUNS`), else gathered, stepped and moved to one new run.
    """
    if not banks:
        return None, []
    config = banks[0]._config
    if any(bank._config is not config and bank._config != config for bank in banks):
        raise ValueError("banks stepped together must share one detector config")
    widths = [bank.n_series for bank in banks]
    offsets = np.cumsum([0, *widths[:-1]]).tolist()
    times, values = np.repeat(np.asarray(ts, dtype=float), widths), np.fromiter(chain.from_iterable(columns), float)
    if values.size != times.size:
        raise ValueError(f"{values.size} values for {times.size} series")
    pool = banks[0]._pool
    if any(bank._pool is not pool for bank in banks):  # banks of their own: join, step, copy back
        state = np.concatenate([bank._state for bank in banks], axis=1)
        result = step(state, times, values, config)
        for bank, start, width in zip(banks, offsets, widths, strict=True):
            bank._pool.state[bank._cols] = state[:, start : start + width].T
        return result, offsets
    order = sorted(range(len(banks)), key=lambda i: banks[i]._start)
    if order == list(range(len(banks))):
        return _step_in_pool(pool, banks, times, values, config), offsets
    # In the pool's column order (each series is stepped alone, so the order changes no result).
    index, sized = np.asarray(order), np.asarray(widths)[order]
    perm = np.arange(times.size) + np.repeat(np.asarray(offsets)[index] - (np.cumsum(sized) - sized), sized)
    result = _step_in_pool(pool, [banks[i] for i in order], times[perm], values[perm], config)
    return _unpermuted(result, perm), offsets


def _step_in_pool(
    pool: StatePool, banks: Sequence[DetectorBank], times: np.ndarray, values: np.ndarray, config: DetectorConfig
) -> StepResult:
    """Step banks of ``pool``: in place, run by run, if their columns make few runs; else gathered and moved."""
    runs = _runs(banks)
    if runs is not None:
        parts, at = [], 0
        for start, stop in runs:
            end = at + stop - start
            parts.append(step(pool.state[start:stop].T, times[at:end], values[at:end], config))
            at = end
        return parts[0] if len(parts) == 1 else _joined(parts)
    rows = pool.state[np.concatenate([bank._cols for bank in banks])]
    result = step(rows.T, times, values, config)
    pool.relocate(banks, rows)  # to one run: the next step over them is in place
    return result


def _unpermuted(result: StepResult, perm: np.ndarray) -> StepResult:
    """``result`` of series ``perm[0], perm[1], ...`` in the order of series 0, 1, ..."""
    fields_out = []
    for f in fields(StepResult):
        stepped = getattr(result, f.name)
        out = np.empty_like(stepped)
        out[perm] = stepped
        fields_out.append(out)
    return StepResult(*fields_out)


def _runs(banks: Sequence[DetectorBank]) -> list[tuple[int, int]] | None:
    """The runs of consecutive pool columns the banks' series make in this order; None if over ``MAX_RUNS``."""
    runs: list[tuple[int, int]] = []
    start = stop = -1
    for bank in banks:
        if bank._start < 0:
            return None
        if bank._start != stop:
            if len(runs) == MAX_RUNS:
                return None
            start = stop = bank._start
            runs.append((start, stop))
        stop += bank.n_series
        runs[-1] = (start, stop)
    return runs


def _joined(parts: Sequence[StepResult]) -> StepResult:
    """One step result of several, their series one after the other."""
    return StepResult(*(np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(StepResult)))
