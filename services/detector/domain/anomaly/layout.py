"""Row layout of the detector state: one float64 column per series, one row per field."""

from __future__ import annotations

from typing import Final

import numpy as np

from .config import DetectorConfig

# Scalar fields.
N: Final = 0  # valid samples seen
T_FIRST: Final = 1  # timestamp of the first valid sample
T_PREV: Final = 2  # timestamp of the previous valid sample
FAST: Final = 3  # fast EWMA of the value
VOL: Final = 4  # EWMA of |x_t - x_{t-1}|
X_PREV: Final = 5  # previous valid value
SLOW: Final = 6  # slow EWMA of the value
SRES: Final = 7  # smoothed seasonal residual
SUPPRESS: Final = 8  # after-alert suppression level (raw strength units)
C_PREV: Final = 9  # counter mode: previous raw counter reading
C_T: Final = 10  # counter mode: its timestamp (NaN before the first)
RUN: Final = 11  # signed count of consecutive samples beyond the fast level's clip (+ above, - below)
RECENT_HI1: Final = 12  # the largest jump |x_t - x_{t-1}| of the recent horizon, as it was set
RECENT_T1: Final = 13  # when it was set (it fades after a seasonal period)
RECENT_HI2: Final = 14  # the second largest: the recent jump view's edge
RECENT_T2: Final = 15
N_SCALARS: Final = 16
RECENT_ROWS: Final = (RECENT_HI1, RECENT_T1, RECENT_HI2, RECENT_T2)

# Features watched by record envelopes (order matters only for explanations).
FEATURES: Final = (
    "value",
    "spike",
    "level",
    "volatility",
    "seasonal",
    "seasonal_level",
    "drift",
    "trend",
    "shift",
)
K: Final = len(FEATURES)
F_VALUE: Final = 0
F_SPIKE: Final = 1  # the jump from the previous sample
F_SEASONAL: Final = 4
F_DRIFT: Final = 6
F_TREND: Final = 7
F_SHIFT: Final = 8
SLOW_VIEWS: Final = [F_DRIFT, F_TREND, F_SHIFT]  # views built on the slow level
# Per-feature blocks, each K rows long.
ENV_CENTRE, ENV_HI1, ENV_HI2, ENV_LO1, ENV_LO2 = range(5)
N_ENV_BLOCKS: Final = 5


def season_offset(config: DetectorConfig) -> int:
    """First row of the seasonal bucket means (then as many rows of bucket counts)."""
    del config
    return N_SCALARS


def env_offset(config: DetectorConfig) -> int:
    """First row of the envelope blocks."""
    return N_SCALARS + 2 * config.season_buckets


def n_fields(config: DetectorConfig) -> int:
    """Return how many float64 rows one series' state has."""
    return env_offset(config) + N_ENV_BLOCKS * K


def env_rows(config: DetectorConfig, block: int) -> slice:
    """Rows of one envelope block (K features)."""
    start = env_offset(config) + block * K
    return slice(start, start + K)


def new_state(config: DetectorConfig, n_series: int) -> np.ndarray:
    """Return a fresh (fields, series) state with nothing learned."""
    state = np.zeros((n_fields(config), n_series))
    state[C_T] = np.nan
    return state


def from_v2(old: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """Return the state of a version-2 checkpoint, (fields - 4, series), in this layout.

    Version 2 had no recent jump records: they start as the spike view's records of the long
    horizon (largest jumps either way), set at the last sample. Those are at least as large as the
    recent ones, so an upgraded detector does not take every jump for a new record; they fade to
    the recent horizon from there.
    """
    state = np.insert(old, [RECENT_HI1] * len(RECENT_ROWS), 0.0, axis=0)
    spike = env_offset(config) + F_SPIKE
    hi1, hi2 = state[spike + ENV_HI1 * K], state[spike + ENV_HI2 * K]
    lo1, lo2 = state[spike + ENV_LO1 * K], state[spike + ENV_LO2 * K]
    state[RECENT_HI1] = np.maximum(np.abs(hi1), np.abs(lo1))
    state[RECENT_HI2] = np.minimum(state[RECENT_HI1], np.maximum(np.abs(hi2), np.abs(lo2)))
    state[RECENT_T1] = state[RECENT_T2] = state[T_PREV]
    return state
