"""Cross-entity invariants: how much of a column's deviation other entities' columns already explain.

Why: with no topology, the history itself says which columns move together. When the history is
long enough, each column is regressed (ridge, on standardised values) on the few other-entity columns
most correlated with it before the incident. A symptom keeps obeying that relation during the
incident (its deviation is predicted by its upstream cause), while a root cause breaks it (its
deviation is new). The result is, per column, the share of its incident deviation left unexplained,
in [0, 1]; columns without enough history get no share and are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from services.rca.domain.model import FloatArray

_RIDGE: Final = 1.0
_MIN_ROWS: Final = 100
_ROWS_PER_PREDICTOR: Final = 10
_MAX_PREDICTORS: Final = 20


def _standardise(matrix: FloatArray, history: np.ndarray) -> FloatArray:
    hist = matrix[history]
    mean = np.nanmean(hist, axis=0)
    std = np.nanstd(hist, axis=0)
    std = np.where(std > 0, std, 1.0)
    z = (matrix - mean) / std
    return np.where(np.isnan(z), 0.0, z)


def unexplained_shares(
    columns: Sequence[FloatArray],
    owners: Sequence[str],
    *,
    history: np.ndarray,
    incident: np.ndarray,
) -> list[float | None]:
    """Return per column the unexplained share of its incident deviation, or None when not judged.

    Args:
        columns: the metric columns (same length).
        owners: the entity of each column; a column is only explained by other entities' columns.
        history: boolean mask of the history rows.
        incident: boolean mask of the incident rows.

    """
    n_hist = int(history.sum())
    n_predictors = min(_MAX_PREDICTORS, n_hist // _ROWS_PER_PREDICTOR)
    shares: list[float | None] = [None] * len(columns)
    if n_hist < _MIN_ROWS or n_predictors < 1 or len(columns) < 2 or not incident.any():
        return shares
    matrix = np.column_stack(columns)
    z = _standardise(matrix, history)
    hist_z = z[history]
    corr = np.abs(np.nan_to_num(np.corrcoef(hist_z, rowvar=False)))
    owner_arr = np.asarray(owners)
    for j in range(len(columns)):
        if np.all(hist_z[:, j] == 0):
            continue
        candidates = np.flatnonzero(owner_arr != owner_arr[j])
        if candidates.size == 0:
            continue
        chosen = candidates[np.argsort(-corr[j, candidates], kind="stable")[:n_predictors]]
        design = hist_z[:, chosen]
        gram = design.T @ design + _RIDGE * np.eye(chosen.size)
        weights = np.linalg.solve(gram, design.T @ hist_z[:, j])
        residual = z[:, j] - z[:, chosen] @ weights
        hist_res = residual[history]
        center = float(np.median(hist_res))
        spread = float(np.median(np.abs(hist_res - center))) or float(np.std(hist_res)) or 1.0
        raw_center = float(np.median(hist_z[:, j]))
        raw_spread = float(np.median(np.abs(hist_z[:, j] - raw_center))) or 1.0
        raw_dev = float(np.max(np.abs(z[incident, j] - raw_center))) / raw_spread
        res_dev = float(np.max(np.abs(residual[incident] - center))) / spread
        if raw_dev > 0:
            shares[j] = min(1.0, res_dev / raw_dev)
    return shares
