"""Grouping/Parsing Accuracy and lines/s of our template miner vs Drain3 (default settings) on Loghub 2k.

Usage: python bench/bench_loghub.py [DATA_DIR] [--repeats N]
DATA_DIR defaults to $IR_DATA_DIR or ../shared/data (relative to the repo root); the samples are read
from DATA_DIR/loghub/<System>/.  Input is the `Content` column of the structured CSVs (headers
stripped).  Both miners stream over every line first; each line is then scored with the final
template of the group it was put in (two-pass "final templates"; neither miner re-mines).

Metrics (per system, then the plain average over systems):
  GA  Grouping Accuracy: a message counts when its predicted group holds exactly the messages of its
      true group (ground-truth groups are the EventIds).
  PA  Parsing Accuracy: predicted template == true template, whitespace normalised.
Ground truth: the corrected templates (Khan et al., ICSE'22) are primary; the Loghub-2.0 and the
original templates are reported too.  Throughput: lines/s of the mining loop alone (messages already
in memory), best of --repeats, both miners timed alternately in the same process.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from drain3 import TemplateMiner as Drain3Miner
from drain3.template_miner_config import TemplateMinerConfig

from services.detector.domain.logmining import TemplateMiner

SYSTEMS = ("BGL", "HDFS", "HPC", "Hadoop", "OpenStack", "Spark", "Thunderbird", "Zookeeper")
VERSIONS = {"corrected": "_corrected", "loghub2": "_loghub2", "original": ""}
Miner = Callable[[Sequence[str]], tuple[list[str], list[str]]]


@dataclass(frozen=True)
class Truth:
    contents: list[str]
    groups: dict[str, list[str]]  # version -> EventId per line
    templates: dict[str, list[str]]  # version -> EventTemplate per line


def default_data_dir() -> Path:
    env = os.environ.get("IR_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load_truth(root: Path, system: str) -> Truth:
    contents: list[str] = []
    groups: dict[str, list[str]] = {}
    templates: dict[str, list[str]] = {}
    for version, suffix in VERSIONS.items():
        path = root / "loghub" / system / f"{system}_2k.log_structured{suffix}.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        if not contents:
            contents = [r["Content"] for r in rows]
        elif contents != [r["Content"] for r in rows]:
            raise SystemExit(f"{path}: Content differs between template versions")
        groups[version] = [r["EventId"] for r in rows]
        templates[version] = [r["EventTemplate"] for r in rows]
    return Truth(contents, groups, templates)


def grouping_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> float:
    by_pred: dict[str, set[int]] = defaultdict(set)
    by_true: dict[str, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        by_pred[p].add(i)
        by_true[t].add(i)
    correct = 0
    for members in by_true.values():
        preds = {predicted[i] for i in members}
        if len(preds) == 1 and by_pred[preds.pop()] == members:
            correct += len(members)
    return correct / len(truth)


def parsing_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> float:
    same = sum(" ".join(p.split()) == " ".join(t.split()) for p, t in zip(predicted, truth, strict=True))
    return same / len(truth)


def run_ours(lines: Sequence[str]) -> tuple[list[str], list[str]]:
    miner = TemplateMiner()
    ids = [miner.add(line).template_id for line in lines]
    final = [miner.resolve(i) for i in ids]
    return final, [miner.template_of(i) or "" for i in final]


def run_drain3(lines: Sequence[str]) -> tuple[list[str], list[str]]:
    miner = Drain3Miner(config=TemplateMinerConfig())  # library defaults, no drain3.ini lookup
    ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
    clusters = miner.drain.id_to_cluster
    return [str(i) for i in ids], [clusters[i].get_template() for i in ids]


def mining_seconds(lines: Sequence[str], miner: str) -> float:
    """Time the mining loop alone."""
    if miner == "ours":
        ours = TemplateMiner()
        start = time.perf_counter()
        for line in lines:
            ours.add(line)
        return time.perf_counter() - start
    drain = Drain3Miner(config=TemplateMinerConfig())
    start = time.perf_counter()
    for line in lines:
        drain.add_log_message(line)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # drain3 logs every cluster change at INFO

    miners: dict[str, Miner] = {"ours": run_ours, "drain3": run_drain3}
    scores: dict[tuple[str, str, str], tuple[float, float]] = {}
    seconds = {"ours": 0.0, "drain3": 0.0}
    total_lines = 0
    for system in SYSTEMS:
        truth = load_truth(args.data_dir, system)
        total_lines += len(truth.contents)
        for name, run in miners.items():
            groups, templates = run(truth.contents)
            for version in VERSIONS:
                scores[(system, name, version)] = (
                    grouping_accuracy(groups, truth.groups[version]),
                    parsing_accuracy(templates, truth.templates[version]),
                )
        best = {name: float("inf") for name in seconds}
        for _ in range(args.repeats):
            for name in seconds:
                best[name] = min(best[name], mining_seconds(truth.contents, name))
        for name in seconds:
            seconds[name] += best[name]

    for version in VERSIONS:
        print(f"\n== ground truth: {version} templates" + (" (primary)" if version == "corrected" else ""))
        print(f"{'system':<12} {'GA ours':>8} {'GA drain3':>10} {'PA ours':>8} {'PA drain3':>10}")
        for system in (*SYSTEMS, "average"):
            row = []
            for name in miners:
                if system == "average":
                    vals = [scores[(s, name, version)] for s in SYSTEMS]
                    row.append((sum(v[0] for v in vals) / len(vals), sum(v[1] for v in vals) / len(vals)))
                else:
                    row.append(scores[(system, name, version)])
            (ga_o, pa_o), (ga_d, pa_d) = row
            print(f"{system:<12} {ga_o:>8.3f} {ga_d:>10.3f} {pa_o:>8.3f} {pa_d:>10.3f}")

    rate = {name: total_lines / s for name, s in seconds.items()}
    print(f"\n== throughput: {total_lines} lines (8 x 2k, each system a fresh miner), best of {args.repeats}")
    for name, r in rate.items():
        print(f"{name:<8} {r:>12,.0f} lines/s")
    print(f"ratio ours/drain3: {rate['ours'] / rate['drain3']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
