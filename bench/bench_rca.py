"""Benchmark the RCA engine against N-Sigma baselines and random ranking on the RCA case folders.

Usage: python bench/bench_rca.py [DATA_DIR] [--synthetic N] [--seed S] [--cases]
  (default: $IR_DATA_DIR or ../shared/data; reads DATA_DIR/rca; N synthetic cases, default 40, 0 = none;
  S: the simulator's seed, default the fixed bench seed -- use another one while developing;
  --cases: also print, per case, the rank of the true cause and our top three with their evidence)

Prints one table: per source and over all cases, AC@1/3/5 and Avg@5 of
  ours                       services.rca.domain.rank_causes
  nsigma (median/IQR)        BARO's ranking step as rca/README.md defines it
  nsigma (mean/std)          the same with mean and standard deviation
  random (expected)          expected value of a uniformly random order
then robustness rows (anomaly_start shifted by -60 s / +60 s, 20 % of columns dropped, 5 % noise)
for ours and N-Sigma, and whether the N-Sigma ranks reproduce REFERENCE_PER_CASE.csv.
A second table scores the same methods on incidents from bench/rca_simulator.py (random call graphs,
CPU / memory / delay / loss / code-defect faults, 1 s to 1 min sampling, gaps, 150-900 columns,
callers that call several times or only sometimes, load-balancer views, missing columns, services
scraped less often, a start off by up to a minute), generated with a fixed seed that was not used
while developing the engine (develop with --seed), per fault type too.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rca_simulator import generate  # noqa: E402

from services.rca.casefile import load_case  # noqa: E402
from services.rca.domain import Case, MetricFrame, rank_causes  # noqa: E402
from services.rca.domain.model import split_column  # noqa: E402

SEED = 20240601
SYNTHETIC_SEED = 20240601

Ranker = Callable[[Case], list[str]]


def nsigma_ranking(case: Case, *, robust: bool) -> list[str]:
    """Rank entities by their best metric's N-Sigma score (README definition, ties by first appearance)."""
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


def ours_ranking(case: Case) -> list[str]:
    seen: list[str] = []
    for candidate in rank_causes(case):
        entity = split_column(candidate.entity)[0] if "|" in candidate.entity else candidate.entity
        if entity not in seen:
            seen.append(entity)
    return seen


def ac_at(ranking: list[str], truth: list[str], k: int) -> float:
    return len(set(ranking[:k]) & set(truth)) / min(k, len(truth))


def random_expected(n_entities: int, truth: list[str], k: int) -> float:
    # E|R ∩ top-k| of a uniform order is k |R| / n (hypergeometric mean).
    return min(k, n_entities) * len(truth) / n_entities / min(k, len(truth))


def shift_start(case: Case, seconds: float) -> Case:
    return replace(case, anomaly_start=case.anomaly_start + seconds)


def drop_columns(case: Case, share: float, rng: np.random.Generator) -> Case:
    names = list(case.metrics.columns)
    keep = rng.random(len(names)) >= share
    cols = {n: case.metrics.columns[n] for n, k in zip(names, keep, strict=True) if k}
    return replace(case, metrics=MetricFrame(case.metrics.timestamps, cols))


def add_noise(case: Case, level: float, rng: np.random.Generator) -> Case:
    cols = {}
    for name, values in case.metrics.columns.items():
        scale = np.nanmedian(np.abs(values)) if np.any(~np.isnan(values)) else 0.0
        cols[name] = values + rng.normal(0.0, level * (scale if np.isfinite(scale) else 0.0), values.size)
    return replace(case, metrics=MetricFrame(case.metrics.timestamps, cols))


def load_sources(rca_dir: Path) -> dict[str, list[tuple[str, Case, list[str]]]]:
    sources: dict[str, list[tuple[str, Case, list[str]]]] = {}
    for truth_path in sorted(rca_dir.glob("*/truth.json")):
        truth = json.loads(truth_path.read_text())["cases"]
        cases = []
        for case_id in sorted(truth):
            cases.append((case_id, load_case(truth_path.parent / case_id), list(truth[case_id]["root_causes"])))
        sources[truth_path.parent.name] = cases
    return sources


def evaluate(cases: list[tuple[str, Case, list[str]]], ranker: Ranker) -> tuple[np.ndarray, list[int]]:
    rows, ranks = [], []
    for _, case, truth in cases:
        ranking = ranker(case)
        rows.append([ac_at(ranking, truth, k) for k in range(1, 6)])
        ranks.append(min((ranking.index(t) + 1 for t in truth if t in ranking), default=0))
    return np.array(rows), ranks


def random_rows(cases: list[tuple[str, Case, list[str]]]) -> np.ndarray:
    return np.array([[random_expected(len(c.metrics.entities()), t, k) for k in range(1, 6)] for _, c, t in cases])


def fmt(label: str, source: str, rows: np.ndarray) -> str:
    m = rows.mean(axis=0)
    return f"| {label} | {source} | {len(rows)} | {m[0]:.3f} | {m[2]:.3f} | {m[4]:.3f} | {m.mean():.3f} |"


def check_reference(rca_dir: Path, ranks: dict[tuple[str, str, str], int]) -> str:
    ref_path = rca_dir / "REFERENCE_PER_CASE.csv"
    if not ref_path.exists():
        return "REFERENCE_PER_CASE.csv not found: N-Sigma not checked"
    total = mismatched = 0
    for row in csv.DictReader(ref_path.open()):
        for method, column in (("nsigma", "nsigma_rank"), ("nsigma-classic", "nsigma-classic_rank")):
            key = (method, row["source"], row["case"])
            if key in ranks:
                total += 1
                mismatched += int(ranks[key] != int(row[column]))
    verdict = "MATCH" if mismatched == 0 and total else "MISMATCH"
    return f"N-Sigma vs REFERENCE_PER_CASE.csv: {verdict} ({total - mismatched}/{total} ranks equal)"


def case_lines(cases: list[tuple[str, Case, list[str]]]) -> list[str]:
    """Return, per case, the rank of its first true cause under ours and our top three with evidence."""
    lines = []
    for case_id, case, truth in cases:
        ranked = rank_causes(case)
        names = [split_column(c.entity)[0] for c in ranked]
        rank = min((names.index(t) + 1 for t in truth if t in names), default=0)
        lines.append(f"{'ok ' if rank == 1 else 'BAD'} {case_id}: rank {rank} of {truth}")
        lines.extend(f"      {c.score:8.3f} {c.entity}: {c.evidence[:200]}" for c in ranked[:3])
    return lines


def synthetic_table(count: int, methods: list[tuple[str, Ranker]], seed: int, show_cases: bool) -> list[str]:
    """Score `methods` on `count` simulated incidents, overall and per fault type."""
    sims = generate(seed, count)
    lines = [
        f"Synthetic: bench/rca_simulator.py, seed {seed}, {count} cases",
        "",
        "| Method | Faults | Cases | AC@1 | AC@3 | AC@5 | Avg@5 |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[str, list[tuple[str, Case, list[str]]]] = {"all": []}
    for sim in sims:
        item = (sim.case_id, sim.case, [sim.root_cause])
        groups["all"].append(item)
        groups.setdefault(sim.fault, []).append(item)
    for label, ranker in methods:
        for fault in ["all", *sorted(g for g in groups if g != "all")]:
            rows, _ = evaluate(groups[fault], ranker)
            lines.append(fmt(label, fault, rows))
    lines.append(fmt("random (expected)", "all", random_rows(groups["all"])))
    if show_cases:
        lines += ["", *case_lines([(f"{s.case_id} ({s.fault})", s.case, [s.root_cause]) for s in sims])]
    return lines


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    count, seed = 40, SYNTHETIC_SEED
    show_cases = "--cases" in args
    if show_cases:
        args.remove("--cases")
    if "--synthetic" in args:
        at = args.index("--synthetic")
        count = int(args[at + 1])
        del args[at : at + 2]
    if "--seed" in args:
        at = args.index("--seed")
        seed = int(args[at + 1])
        del args[at : at + 2]
    default = os.environ.get("IR_DATA_DIR", str(REPO.parent / "shared" / "data"))
    rca_dir = Path(args[0] if args else default) / "rca"
    sources = load_sources(rca_dir)
    methods: list[tuple[str, Ranker]] = [
        ("ours", ours_ranking),
        ("nsigma (median/IQR)", lambda c: nsigma_ranking(c, robust=True)),
        ("nsigma (mean/std)", lambda c: nsigma_ranking(c, robust=False)),
    ]
    lines = ["| Method | Source | Cases | AC@1 | AC@3 | AC@5 | Avg@5 |", "|---|---|---|---|---|---|---|"]
    ref_ranks: dict[tuple[str, str, str], int] = {}
    all_cases = [c for cases in sources.values() for c in cases]
    for label, ranker in methods:
        every = []
        for source, cases in sources.items():
            rows, ranks = evaluate(cases, ranker)
            every.append(rows)
            lines.append(fmt(label, source, rows))
            if label.startswith("nsigma"):
                method = "nsigma" if "IQR" in label else "nsigma-classic"
                for (case_id, _, _), rank in zip(cases, ranks, strict=True):
                    ref_ranks[(method, source, case_id)] = rank
        lines.append(fmt(label, "all", np.vstack(every)))
    for source, cases in sources.items():
        lines.append(fmt("random (expected)", source, random_rows(cases)))
    lines.append(fmt("random (expected)", "all", random_rows(all_cases)))
    perturbations: list[tuple[str, Callable[[Case, np.random.Generator], Case]]] = [
        ("start -60 s", lambda c, r: shift_start(c, -60.0)),
        ("start +60 s", lambda c, r: shift_start(c, 60.0)),
        ("20% columns dropped", lambda c, r: drop_columns(c, 0.2, r)),
        ("5% noise", lambda c, r: add_noise(c, 0.05, r)),
    ]
    for name, perturb in perturbations:
        for label, ranker in methods[:2]:
            for source, cases in sources.items():
                rng = np.random.default_rng(SEED)
                changed = [(cid, perturb(case, rng), truth) for cid, case, truth in cases]
                rows, _ = evaluate(changed, ranker)
                lines.append(fmt(f"{label}, {name}", source, rows))
    print("\n".join(lines))
    print()
    print(check_reference(rca_dir, ref_ranks))
    if show_cases:
        print()
        print("\n".join(case_lines(all_cases)))
    if count > 0:
        print()
        print("\n".join(synthetic_table(count, methods, seed, show_cases)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
