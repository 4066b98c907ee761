"""One series' streaming detector: `update(ts, value) -> Score`, checkpointable in under 1 KB."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from . import layout
from .config import DetectorConfig
from .kernel import StepResult, step

Direction = Literal["up", "down", "none"]
_MAGIC: Final = b"SDv3"  # v2: robust levels, shift view; v3: recent jump records
_MAGIC_V2: Final = b"SDv2"  # still read (`layout.from_v2`)
_HEADER: Final = struct.Struct("<4sH")
_DIRECTIONS: Final[dict[int, Direction]] = {1: "up", -1: "down", 0: "none"}


@dataclass(frozen=True, slots=True)
class Score:
    """The verdict on one sample.

    `score` is in [0, 1] and drops back to 0 right after an alert (one alert per episode);
    `severity` is the same strength without that suppression. `expected`, `lower` and `upper`
    are the usual value and band (for this hour of day when `seasonal`); `feature` names the
    view that moved most (see `layout.FEATURES`).
    """

    ts: float
    observed: float
    score: float
    direction: Direction
    expected: float
    lower: float
    upper: float
    warming_up: bool
    severity: float = 0.0
    seasonal: bool = False
    feature: str = ""


def score_at(result: StepResult, i: int, ts: float, observed: float) -> Score:
    """Return series `i`'s Score from a step result of a bank."""
    return Score(
        ts=ts,
        observed=observed,
        score=float(result.score[i]),
        direction=_DIRECTIONS[int(result.direction[i])],
        expected=float(result.expected[i]),
        lower=float(result.lower[i]),
        upper=float(result.upper[i]),
        warming_up=bool(result.warming[i]),
        severity=float(result.severity[i]),
        seasonal=bool(result.seasonal[i]),
        feature=layout.FEATURES[int(result.feature[i])] if result.severity[i] > 0 else "",
    )


def encode_state(column: np.ndarray) -> bytes:
    """Serialise one series' state column."""
    return _HEADER.pack(_MAGIC, column.size) + np.ascontiguousarray(column, dtype="<f8").tobytes()


def decode_state(data: bytes, config: DetectorConfig) -> np.ndarray:
    """Parse `encode_state` output, checking it fits `config`'s layout."""
    magic, size = _HEADER.unpack_from(data)
    fields = layout.n_fields(config) - (len(layout.RECENT_ROWS) if magic == _MAGIC_V2 else 0)
    if magic not in (_MAGIC, _MAGIC_V2) or size != fields or len(data) != _HEADER.size + 8 * size:
        raise ValueError("detector state does not match this detector version/configuration")
    column = np.frombuffer(data, dtype="<f8", offset=_HEADER.size).astype(np.float64)
    return layout.from_v2(column[:, None], config)[:, 0] if magic == _MAGIC_V2 else column


class SeriesDetector:
    """Streaming detector of one series (host x metric x labels); pure, causal, bounded memory."""

    __slots__ = ("_config", "_state")

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self._config = config or DetectorConfig()
        self._state = layout.new_state(self._config, 1)

    @property
    def config(self) -> DetectorConfig:
        """The settings this detector runs with."""
        return self._config

    def update(self, ts: float, value: float) -> Score:
        """Score `value` observed at `ts` (epoch seconds), then learn from it; NaN/inf are ignored."""
        result = step(self._state, np.array([ts], dtype=float), np.array([value], dtype=float), self._config)
        return score_at(result, 0, ts, value)

    def dumps(self) -> bytes:
        """Return a checkpoint of the state (< 2 KB)."""
        return encode_state(self._state[:, 0])

    @classmethod
    def loads(cls, data: bytes, config: DetectorConfig | None = None) -> SeriesDetector:
        """Rebuild a detector from `dumps()`; it continues exactly where the original was."""
        detector = cls(config)
        detector._state[:, 0] = decode_state(data, detector._config)
        return detector
