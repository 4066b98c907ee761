"""Robustness rows of the RCA bench: the same cases with a shifted start, dropped columns or added noise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from rca_eval import Item, Ranker, evaluate, nsigma_ranking, summary

from services.rca.domain import Case, MetricFrame

SEED = 20240601


def shift_start(case: Case, seconds: float) -> Case:
    """Return the case with its anomaly start moved by `seconds`."""
    return replace(case, anomaly_start=case.anomaly_start + seconds)


def drop_columns(case: Case, share: float, rng: np.random.Generator) -> Case:
    """Return the case with about `share` of its columns removed."""
    names = list(case.metrics.columns)
    keep = rng.random(len(names)) >= share
    cols = {n: case.metrics.columns[n] for n, k in zip(names, keep, strict=True) if k}
    return replace(case, metrics=MetricFrame(case.metrics.timestamps, cols))


def add_noise(case: Case, level: float, rng: np.random.Generator) -> Case:
    """Return the case with Gaussian noise of `level` x each column's typical size added."""
    cols = {}
    for name, values in case.metrics.columns.items():
        scale = np.nanmedian(np.abs(values)) if np.any(~np.isnan(values)) else 0.0
        cols[name] = values + rng.normal(0.0, level * (scale if np.isfinite(scale) else 0.0), values.size)
    return replace(case, metrics=MetricFrame(case.metrics.timestamps, cols))


def robustness_lines(sources: dict[str, list[Item]], ours: Ranker) -> list[str]:
    """Return AC@1 / AC@3 / Avg@5 of ours and N-Sigma on the data sources under each perturbation."""
    perturbations: list[tuple[str, Callable[[Case, np.random.Generator], Case]]] = [
        ("start -60 s", lambda c, r: shift_start(c, -60.0)),
        ("start +60 s", lambda c, r: shift_start(c, 60.0)),
        ("20% columns dropped", lambda c, r: drop_columns(c, 0.2, r)),
        ("5% noise", lambda c, r: add_noise(c, 0.05, r)),
    ]
    methods: list[tuple[str, Ranker]] = [("ours", ours), ("nsigma", lambda c: nsigma_ranking(c, robust=True))]
    lines = ["| perturbation | method | source | AC@1 | AC@3 | Avg@5 |", "|---|---|---|---|---|---|"]
    for name, perturb in perturbations:
        for label, ranker in methods:
            for source, items in sources.items():
                if source.startswith("sim-"):
                    continue
                rng = np.random.default_rng(SEED)
                changed = [replace(i, case=perturb(i.case, rng)) for i in items]
                a1, a3, avg = summary(evaluate(changed, ranker)[0])
                lines.append(f"| {name} | {label} | {source} | {a1:.3f} | {a3:.3f} | {avg:.3f} |")
    return lines
