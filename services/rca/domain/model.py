"""Frozen input and output types of the root-cause analysis engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from shared.errors import DataError

COLUMN_SEPARATOR: Final = "|"

FloatArray = npt.NDArray[np.float64]


class RcaError(DataError, ValueError):
    """Root of the RCA engine's errors (bad input)."""


def split_column(name: str) -> tuple[str, str]:
    """Split a column name `<entity>|<metric>` into (entity, metric); no separator means metric "value"."""
    entity, sep, metric = name.partition(COLUMN_SEPARATOR)
    return (entity, metric) if sep else (name, "value")


@dataclass(frozen=True)
class MetricFrame:
    """Metric samples of every entity: one timestamp axis and one float column per `<entity>|<metric>`.

    Missing samples are NaN, and so are infinite ones. Timestamps are unix seconds, ascending. Plain
    sequences are accepted and stored as float64 arrays; shapes and time order are checked. A column
    named without a separator is stored as `<name>|value`, so every key splits the same way.
    """

    timestamps: FloatArray
    columns: Mapping[str, FloatArray]

    def __post_init__(self) -> None:
        ts = np.asarray(self.timestamps, dtype=np.float64)
        if ts.ndim != 1:
            raise RcaError("timestamps must be one-dimensional")
        if ts.size > 1 and np.any(np.diff(ts) < 0):
            raise RcaError("timestamps must be ascending")
        cols: dict[str, FloatArray] = {}
        for name, values in self.columns.items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != ts.shape:
                raise RcaError(f"column {name!r} has {arr.size} values for {ts.size} timestamps")
            key = COLUMN_SEPARATOR.join(split_column(name))
            if key in cols:
                raise RcaError(f"column {name!r} duplicates {key!r}")
            cols[key] = np.where(np.isinf(arr), np.nan, arr)
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "columns", cols)

    @classmethod
    def build(cls, timestamps: Sequence[float], columns: Mapping[str, Sequence[float]]) -> MetricFrame:
        """Build a frame from plain sequences (same as the constructor, typed for sequences)."""
        return cls(timestamps=np.asarray(timestamps, dtype=np.float64), columns=dict(columns))  # type: ignore[arg-type]

    def entities(self) -> list[str]:
        """Return the entities in order of first appearance among the columns."""
        seen: dict[str, None] = {}
        for name in self.columns:
            seen.setdefault(split_column(name)[0], None)
        return list(seen)


@dataclass(frozen=True)
class LogLine:
    """One raw log line written by an entity."""

    ts: float
    entity: str
    message: str


@dataclass(frozen=True)
class Topology:
    """Known structure: `calls` holds (caller, callee) pairs, `runs_on` maps an entity to its host."""

    calls: frozenset[tuple[str, str]] = frozenset()
    runs_on: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AnomalyHint:
    """An anomaly already found by the live detector on one entity's signal."""

    ts: float
    entity: str
    signal: str
    score: float


@dataclass(frozen=True)
class Case:
    """Everything known about one incident: metrics around it, its time window, logs, topology, hints."""

    metrics: MetricFrame
    anomaly_start: float
    window_end: float
    logs: tuple[LogLine, ...] = ()
    topology: Topology | None = None
    hints: tuple[AnomalyHint, ...] = ()
    logs_vetted_s: float = 0.0
    """How much log history the lines were already judged new or bursting against (0: unknown).

    The live pipeline passes only the lines of the detector's log-pattern anomalies, which its
    analyzer found new against everything it had read; the engine then need not doubt them for
    lack of history of its own.
    """


@dataclass(frozen=True)
class Candidate:
    """One ranked root-cause candidate: the entity, the signal pointing at it, its score and evidence."""

    entity: str
    signal: str
    score: float
    evidence: str
    first_deviation: float | None
