"""Many series in one numpy state: the throughput form of `SeriesDetector` (same kernel)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import layout
from .config import DetectorConfig
from .detector import SeriesDetector, decode_state, encode_state
from .kernel import StepResult, step


class DetectorBank:
    """Detectors of `n_series` series that advance together, one sample per series per call."""

    __slots__ = ("_config", "_state")

    def __init__(self, n_series: int, config: DetectorConfig | None = None) -> None:
        self._config = config or DetectorConfig()
        self._state = layout.new_state(self._config, n_series)

    @property
    def n_series(self) -> int:
        """How many series the bank tracks."""
        return int(self._state.shape[1])

    @property
    def state_bytes_per_series(self) -> int:
        """Bytes of live state per series."""
        return int(self._state.shape[0] * self._state.itemsize)

    def update(self, ts: np.ndarray, values: np.ndarray) -> StepResult:
        """Score one sample per series (NaN value = no sample for that series) and learn from it."""
        return step(self._state, np.asarray(ts, dtype=float), np.asarray(values, dtype=float), self._config)

    def add_series(self, count: int = 1) -> range:
        """Append `count` fresh series; return their indices."""
        start = self.n_series
        fresh = layout.new_state(self._config, count)
        self._state = np.concatenate([self._state, fresh], axis=1)
        return range(start, start + count)

    def dumps_series(self, i: int) -> bytes:
        """Checkpoint series `i` (the same bytes `SeriesDetector.dumps` gives)."""
        return encode_state(self._state[:, i])

    def loads_series(self, i: int, data: bytes) -> None:
        """Restore series `i` from a checkpoint."""
        self._state[:, i] = decode_state(data, self._config)

    @property
    def state_rows(self) -> int:
        """Floats of state per series."""
        return int(self._state.shape[0])

    def dumps_all(self) -> bytes:
        """Checkpoint every series: their state columns one after the other, little-endian float64."""
        return np.ascontiguousarray(self._state.T, dtype="<f8").tobytes()

    def loads_all(self, data: bytes, rows: int) -> None:
        """Restore every series from ``dumps_all`` output; ValueError if it does not fit this bank."""
        v2 = rows == self.state_rows - len(layout.RECENT_ROWS)  # before the recent jump records (layout.from_v2)
        if (rows != self.state_rows and not v2) or len(data) != 8 * rows * self.n_series:
            raise ValueError("detector state does not match this detector version/configuration")
        state = np.frombuffer(data, dtype="<f8").reshape(self.n_series, rows).T
        self._state[:] = layout.from_v2(state, self._config) if v2 else state

    def detector(self, i: int) -> SeriesDetector:
        """Return a standalone copy of series `i`'s detector."""
        return SeriesDetector.loads(self.dumps_series(i), self._config)


def step_together(
    banks: Sequence[DetectorBank], ts: Sequence[float], columns: Sequence[np.ndarray]
) -> tuple[StepResult | None, list[int]]:
    """Advance several banks by one sample per series in one kernel step; banks must share one config.

    ``ts[i]`` is the time of bank ``i``'s samples, ``columns[i]`` its values (NaN: none). Returns the
    combined result and where each bank's series start in it (None when there is no bank).
    """
    if not banks:
        return None, []
    config = banks[0]._config
    if any(bank._config is not config and bank._config != config for bank in banks):
        raise ValueError("banks stepped together must share one detector config")
    widths = [bank.n_series for bank in banks]
    offsets = np.cumsum([0, *widths[:-1]]).tolist()
    state = np.concatenate([bank._state for bank in banks], axis=1)
    result = step(state, np.repeat(np.asarray(ts, dtype=float), widths), np.concatenate(columns), config)
    for bank, start, width in zip(banks, offsets, widths, strict=True):
        bank._state[:] = state[:, start : start + width]
    return result, offsets
