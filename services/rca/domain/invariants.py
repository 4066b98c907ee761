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
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.abs(np.nan_to_num(np.corrcoef(hist_z, rowvar=False)))
    owner_arr = np.asarray(owners)
    judged = np.flatnonzero(np.any(hist_z != 0, axis=0))
    residual = np.zeros_like(z)
    for j in judged:
        row = np.where(owner_arr != owner_arr[j], corr[j], -1.0)
        k = min(n_predictors, int(np.sum(row >= 0)))
        if k < 1:
            continue
        chosen = np.argpartition(-row, k - 1)[:k]
        design = hist_z[:, chosen]
        gram = design.T @ design + _RIDGE * np.eye(k)
        weights = np.linalg.solve(gram, design.T @ hist_z[:, j])
        residual[:, j] = z[:, j] - z[:, chosen] @ weights
    # Robust centre and spread of every column, raw and residual, in one pass each.
    hist_res = residual[history]
    center = np.median(hist_res, axis=0)
    spread = np.median(np.abs(hist_res - center), axis=0)
    spread = np.where(spread > 0, spread, np.std(hist_res, axis=0))
    spread = np.where(spread > 0, spread, 1.0)
    raw_center = np.median(hist_z, axis=0)
    raw_spread = np.median(np.abs(hist_z - raw_center), axis=0)
    raw_spread = np.where(raw_spread > 0, raw_spread, 1.0)
    raw_dev = np.max(np.abs(z[incident] - raw_center), axis=0) / raw_spread
    res_dev = np.max(np.abs(residual[incident] - center), axis=0) / spread
    for j in judged:
        if raw_dev[j] > 0 and np.any(residual[:, j] != 0):
            shares[j] = min(1.0, float(res_dev[j] / raw_dev[j]))
    return shares
