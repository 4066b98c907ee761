"""Write simulated incidents as case folders that `incidentctl rca rank --input CASE_DIR --json` reads.

Usage: python bench/rca_write_cases.py OUT_DIR [--family sim-mesh|k8s-chain|k8s-flat] [--count N] [--seed S]
Writes OUT_DIR/<case_id>/{metrics.csv, incident.json, logs.csv, graph.csv (when the case has a call
graph)} and OUT_DIR/truth.json in the data folder's format, so the CLI can be checked exactly as an
independent evaluation runs it.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rca_k8s_simulator import generate_family
from rca_simulator import SimCase, generate


def write_case(sim: SimCase, folder: Path) -> None:
    """Write one simulated case as a case folder."""
    folder.mkdir(parents=True, exist_ok=True)
    case = sim.case
    names = list(case.metrics.columns)
    with (folder / "metrics.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", *names])
        for i, ts in enumerate(case.metrics.timestamps):
            cells = [case.metrics.columns[n][i] for n in names]
            out.writerow([int(ts), *("" if math.isnan(v) else f"{v:.6g}" for v in cells)])
    incident = {"anomaly_start": int(case.anomaly_start), "window_end": int(case.window_end)}
    (folder / "incident.json").write_text(json.dumps(incident), encoding="utf-8")
    if case.logs:
        with (folder / "logs.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["timestamp", "entity", "message"])
            out.writerows([f"{line.ts:.3f}", line.entity, line.message] for line in case.logs)
    if case.topology is not None:
        with (folder / "graph.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["caller", "callee"])
            out.writerows(sorted(case.topology.calls))


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    options = {"--family": "k8s-chain", "--count": "5", "--seed": "1"}
    for key in options:
        if key in args:
            at = args.index(key)
            options[key] = args[at + 1]
            del args[at : at + 2]
    out_dir = Path(args[0])
    family, count, seed = options["--family"], int(options["--count"]), int(options["--seed"])
    sims = generate(seed, count) if family == "sim-mesh" else generate_family(family, seed, count)
    truth = {}
    for sim in sims:
        write_case(sim, out_dir / sim.case_id)
        truth[sim.case_id] = {"root_causes": [sim.root_cause], "fault": sim.fault}
    about = f"bench/rca_write_cases.py --family {family} --seed {seed}"
    payload = {"source": family, "about": about, "cases": truth}
    (out_dir / "truth.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print(f"wrote {len(sims)} cases to {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
