"""NAB scoring: scaled-sigmoid window weights and the per-detector threshold sweep (NAB v1.1 rules).

Implements the scoring that ``REFERENCE_SCORES.md`` (next to the NAB data) describes: every
scored row gets the weight it would earn as a detection, then one sweep over all rows of all
files, sorted by score from highest to lowest, evaluates every candidate threshold at once.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np

PROBATION_FRACTION: Final = 0.15
PROBATION_MAX_ROWS: Final = 750
NO_DETECTION_THRESHOLD: Final = 1.1


@dataclass(frozen=True, slots=True)
class Profile:
    """Cost weights of one NAB application profile."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES: Final = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)


@dataclass(frozen=True, slots=True)
class ScoredFile:
    """One series' anomaly scores (one per row) and its windows as inclusive row ranges."""

    name: str
    scores: np.ndarray
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Best threshold of one detector for one profile and what it earns."""

    threshold: float
    raw: float
    normalised: float
    tp_rows: int
    fp_rows: int


def scaled_sigmoid(x: np.ndarray) -> np.ndarray:
    """Return NAB's ``2 / (1 + exp(5x)) - 1``, with -1 beyond ``x > 3``."""
    with np.errstate(over="ignore"):
        out = 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0
    return np.where(x > 3.0, -1.0, out)


def probation_rows(n_rows: int) -> int:
    """Return how many leading rows NAB leaves unscored."""
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_MAX_ROWS)


def row_weights(n_rows: int, windows: Sequence[tuple[int, int]], profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Return (weight as a detection, window index or -1) for every row of one file."""
    weights = np.full(n_rows, -profile.a_fp)
    window_of = np.full(n_rows, -1, dtype=np.int64)
    ordered = sorted(windows)
    sig_first = float(scaled_sigmoid(np.array(-1.0)))
    for k, (a, b) in enumerate(ordered):
        width = b - a + 1
        rows = np.arange(a, b + 1)
        weights[a : b + 1] = profile.a_tp * scaled_sigmoid(-(b - rows + 1) / width) / sig_first
        window_of[a : b + 1] = k
        stop = ordered[k + 1][0] if k + 1 < len(ordered) else n_rows
        after = np.arange(b + 1, stop)
        if after.size:
            weights[b + 1 : stop] = profile.a_fp * scaled_sigmoid((after - b) / (width - 1))
    return weights, window_of


def optimise_threshold(files: Sequence[ScoredFile], profile: Profile) -> SweepResult:
    """Sweep every distinct score as a threshold over all files; keep the best (highest on ties)."""
    scores_parts, weight_parts, window_parts = [], [], []
    n_windows = 0
    for f in files:
        weights, window_of = row_weights(len(f.scores), f.windows, profile)
        start = probation_rows(len(f.scores))
        scores_parts.append(np.asarray(f.scores, dtype=np.float64)[start:])
        weight_parts.append(weights[start:])
        window_parts.append(np.where(window_of[start:] >= 0, window_of[start:] + n_windows, -1))
        n_windows += len(f.windows)
    scores = np.concatenate(scores_parts)
    weights = np.concatenate(weight_parts)
    window_of = np.concatenate(window_parts)
    order = np.argsort(-scores, kind="stable")
    scores, weights, window_of = scores[order], weights[order], window_of[order]

    delta = np.where(window_of < 0, weights, 0.0)
    in_window = np.flatnonzero(window_of >= 0)
    by_window = in_window[np.argsort(window_of[in_window], kind="stable")]
    bounds = np.flatnonzero(np.diff(window_of[by_window])) + 1
    for idx in np.split(by_window, bounds) if by_window.size else []:
        running = np.maximum.accumulate(weights[idx])
        previous = np.concatenate(([-profile.a_fn], running[:-1]))
        delta[idx] = running - previous

    base = -profile.a_fn * n_windows
    raw_after = base + np.cumsum(delta)
    group_end = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    best_raw, best_threshold, best_end = base, NO_DETECTION_THRESHOLD, -1
    if group_end.size:
        k = int(np.argmax(raw_after[group_end]))
        if raw_after[group_end[k]] > base:
            best_end = int(group_end[k])
            best_raw, best_threshold = float(raw_after[best_end]), float(scores[best_end])
    detected = window_of[: best_end + 1]
    null_raw = -profile.a_fn * n_windows
    perfect = profile.a_tp * n_windows
    normalised = 100.0 * (best_raw - null_raw) / (perfect - null_raw) if n_windows else 0.0
    return SweepResult(
        threshold=best_threshold,
        raw=best_raw,
        normalised=normalised,
        tp_rows=int(np.count_nonzero(detected >= 0)),
        fp_rows=int(np.count_nonzero(detected < 0)),
    )


def file_score(f: ScoredFile, threshold: float, profile: Profile) -> float:
    """Return one file's raw score at a fixed threshold (for per-file comparisons)."""
    weights, window_of = row_weights(len(f.scores), f.windows, profile)
    start = probation_rows(len(f.scores))
    hit = np.zeros(len(f.scores), dtype=bool)
    hit[start:] = np.asarray(f.scores)[start:] >= threshold
    total = float(np.sum(weights[hit & (window_of < 0)]))
    for k in range(len(f.windows)):
        rows = hit & (window_of == k)
        total += float(weights[rows].max()) if rows.any() else -profile.a_fn
    return total


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def read_series(path: Path) -> tuple[list[datetime], np.ndarray]:
    """Read a NAB ``timestamp,value`` (or ``timestamp,anomaly_score``) CSV, gzip or plain."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [(r[0], r[1]) for r in reader if r]
    return [_parse_ts(t) for t, _ in rows], np.array([float(v) for _, v in rows])


def load_windows(labels_path: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    """Read ``combined_windows.json`` as date-time pairs per ``category/file.csv``."""
    raw = json.loads(labels_path.read_text())
    return {name: [(_parse_ts(a), _parse_ts(b)) for a, b in wins] for name, wins in raw.items()}


def window_rows(
    timestamps: Sequence[datetime], windows: Iterable[tuple[datetime, datetime]]
) -> tuple[tuple[int, int], ...]:
    """Map timestamp windows to inclusive row ranges of one file."""
    index = {t: i for i, t in enumerate(timestamps)}
    return tuple(sorted((index[a], index[b]) for a, b in windows))


def raw_curve(files: Sequence[ScoredFile], profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Return (thresholds from highest to lowest, raw score at each): the whole sweep, for any threshold.

    The raw score at a threshold θ is the value at the last threshold >= θ (``raw_at``); above
    the highest score nothing is detected and the raw score is ``-A_FN`` per window.
    """
    scores_parts, weight_parts, window_parts = [], [], []
    n_windows = 0
    for f in files:
        weights, window_of = row_weights(len(f.scores), f.windows, profile)
        start = probation_rows(len(f.scores))
        scores_parts.append(np.asarray(f.scores, dtype=np.float64)[start:])
        weight_parts.append(weights[start:])
        window_parts.append(np.where(window_of[start:] >= 0, window_of[start:] + n_windows, -1))
        n_windows += len(f.windows)
    scores = np.concatenate(scores_parts)
    order = np.argsort(-scores, kind="stable")
    scores = scores[order]
    weights = np.concatenate(weight_parts)[order]
    window_of = np.concatenate(window_parts)[order]
    delta = np.where(window_of < 0, weights, 0.0)
    in_window = np.flatnonzero(window_of >= 0)
    by_window = in_window[np.argsort(window_of[in_window], kind="stable")]
    bounds = np.flatnonzero(np.diff(window_of[by_window])) + 1
    for idx in np.split(by_window, bounds) if by_window.size else []:
        running = np.maximum.accumulate(weights[idx])
        delta[idx] = running - np.concatenate(([-profile.a_fn], running[:-1]))
    raw_after = -profile.a_fn * n_windows + np.cumsum(delta)
    group_end = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    return scores[group_end], raw_after[group_end]


def raw_at(
    curve: tuple[np.ndarray, np.ndarray], n_windows: int, profile: Profile, thresholds: np.ndarray
) -> np.ndarray:
    """Evaluate a ``raw_curve`` at each of ``thresholds``."""
    levels, raws = curve
    # levels are decreasing: count how many are >= each threshold
    count = np.searchsorted(-levels, -np.asarray(thresholds, dtype=np.float64), side="right")
    base = -profile.a_fn * n_windows
    return np.where(count > 0, raws[np.maximum(count - 1, 0)], base)


def normalise(raw: float | np.ndarray, n_windows: int, profile: Profile) -> float | np.ndarray:
    """NAB's normalised score of a raw score over ``n_windows`` windows (null = no detection)."""
    null = -profile.a_fn * n_windows
    return 100.0 * (raw - null) / (profile.a_tp * n_windows - null)
