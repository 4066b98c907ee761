"""Diagnose the RCA engine's misses: AC@1 per source and fault type, and each missed case's top three.

Usage: python bench/rca_diagnose.py [DATA_DIR] [--seed S] [--count N] [--misses] [--set NAME=VALUE ...]
  (one setting, no grid: a quick development loop; --set overrides an RcaConfig field; use a seed
  other than the bench's to develop.)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataclasses import replace  # noqa: E402

from bench_rca import case_sources, ours  # noqa: E402
from rca_eval import Item, evaluate, summary  # noqa: E402

from incidentctl.rca_cmd import LogAnalyzerMiner  # noqa: E402
from services.rca.domain import RcaConfig, rank_causes  # noqa: E402
from services.rca.domain.model import split_column  # noqa: E402


def _misses(items: list[Item], ranks: list[int], config: RcaConfig) -> list[str]:
    lines = []
    for item, rank in zip(items, ranks, strict=True):
        if rank == 1:
            continue
        ranked = rank_causes(item.case, config=config, miner=LogAnalyzerMiner())
        topo = "graph" if item.case.topology is not None else "no graph"
        lines.append(f"MISS {item.case_id} {item.fault} ({topo}): rank {rank} of {item.truth}")
        lines.extend(f"    {c.score:7.3f} {split_column(c.entity)[0]}: {c.evidence[:230]}" for c in ranked[:3])
    return lines


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    show = "--misses" in args
    args = [a for a in args if a != "--misses"]
    overrides: dict[str, float] = {}
    while "--set" in args:
        at = args.index("--set")
        key, value = args[at + 1].split("=")
        overrides[key] = float(value)
        del args[at : at + 2]
    config = replace(RcaConfig(), **overrides)
    sources, seed = case_sources(args)
    by_fault: dict[str, list[float]] = {}
    pooled: list[float] = []
    for src, items in sources.items():
        rows, ranks = evaluate(items, lambda c: ours(c, config))
        pooled.extend(rows[:, 0])
        print(f"{src}: {len(items)} cases, AC@1 / AC@3 / Avg@5 " + " / ".join(f"{v:.3f}" for v in summary(rows)))
        faults: dict[str, list[float]] = {}
        for item, row in zip(items, rows, strict=True):
            faults.setdefault(item.fault or "-", []).append(float(row[0]))
            by_fault.setdefault(f"{src} {item.fault or '-'}", []).append(float(row[0]))
        print("   " + ", ".join(f"{f} {sum(v)}/{len(v)}" for f, v in sorted(faults.items())))
        if show:
            print("\n".join(_misses(items, ranks, config)))
    setting = overrides or "defaults"
    print(f"pooled AC@1 {sum(pooled) / len(pooled):.3f} over {len(pooled)} cases (seed {seed}, {setting})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
