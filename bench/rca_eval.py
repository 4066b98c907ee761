"""Scoring of RCA rankings (AC@k, Avg@5 as in RCAEval/BARO), the N-Sigma baseline and the case sources."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rca_k8s_simulator import generate_family
from rca_simulator import generate

from services.rca.casefile import load_case
from services.rca.domain import Case
from services.rca.domain.model import split_column

Ranker = Callable[[Case], list[str]]


@dataclass(frozen=True)
class Item:
    """One case of a source: id, the case, its true root causes and a label (fault type, if known)."""

    case_id: str
    case: Case
    truth: list[str]
    fault: str = ""


def nsigma_ranking(case: Case, *, robust: bool) -> list[str]:
    """Rank entities by their best metric's N-Sigma score (rca/README.md definition, ties by first appearance)."""
    ts = case.metrics.timestamps
    before = ts < case.anomaly_start
    during = (ts >= case.anomaly_start) & (ts <= case.window_end)
    eps = 10 * np.finfo(np.float64).eps
    best: dict[str, float] = {}
    for name, values in case.metrics.columns.items():
        entity = split_column(name)[0]
        hist = values[before & ~np.isnan(values)]
        cur = values[during & ~np.isnan(values)]
        if np.unique(hist).size < 2 or np.unique(cur).size < 2:
            continue
        if robust:
            center = float(np.median(hist))
            q75, q25 = np.percentile(hist, [75.0, 25.0])
            spread = float(q75 - q25)
        else:
            center = float(np.mean(hist))
            spread = float(np.std(hist))
        if spread < eps:
            spread = 1.0
        score = float(np.max(np.abs(cur - center))) / spread
        if score > best.get(entity, -np.inf):
            best[entity] = score
    order = case.metrics.entities()
    scored = sorted(best, key=lambda e: (-best[e], order.index(e)))
    return scored + [e for e in order if e not in best]


def ac_at(ranking: list[str], truth: list[str], k: int) -> float:
    """Return AC@k: true causes among the first k entities over min(k, number of true causes)."""
    return len(set(ranking[:k]) & set(truth)) / min(k, len(truth))


def case_row(ranking: list[str], truth: list[str]) -> list[float]:
    """Return AC@1 ... AC@5 of one ranking."""
    return [ac_at(ranking, truth, k) for k in range(1, 6)]


def random_expected(n_entities: int, truth: list[str], k: int) -> float:
    """Return the expected AC@k of a uniformly random order (hypergeometric mean)."""
    return min(k, n_entities) * len(truth) / n_entities / min(k, len(truth))


def evaluate(items: list[Item], ranker: Ranker) -> tuple[np.ndarray, list[int]]:
    """Return AC@1..5 per case and the rank of the first true cause (0: not ranked)."""
    rows, ranks = [], []
    for item in items:
        ranking = ranker(item.case)
        rows.append(case_row(ranking, item.truth))
        ranks.append(min((ranking.index(t) + 1 for t in item.truth if t in ranking), default=0))
    return np.array(rows), ranks


def summary(rows: np.ndarray) -> tuple[float, float, float]:
    """Return AC@1, AC@3 and Avg@5 of a block of case rows."""
    m = rows.mean(axis=0)
    return float(m[0]), float(m[2]), float(m.mean())


def load_dev_sources(rca_dir: Path) -> dict[str, list[Item]]:
    """Read every `<source>/truth.json` of the data folder with its case folders."""
    sources: dict[str, list[Item]] = {}
    for truth_path in sorted(rca_dir.glob("*/truth.json")):
        truth = json.loads(truth_path.read_text())["cases"]
        sources[truth_path.parent.name] = [
            Item(case_id, load_case(truth_path.parent / case_id), list(truth[case_id]["root_causes"]))
            for case_id in sorted(truth)
        ]
    return sources


def simulated_sources(seed: int, count: int) -> dict[str, list[Item]]:
    """Return the simulator families, `count` cases each: call-graph mesh, k8s chain, k8s fan-out."""
    out = {"sim-mesh": [Item(s.case_id, s.case, [s.root_cause], s.fault) for s in generate(seed, count)]}
    for family in ("k8s-chain", "k8s-flat"):
        sims = generate_family(family, seed, count)
        out[f"sim-{family}"] = [Item(s.case_id, s.case, [s.root_cause], s.fault) for s in sims]
    return out
