"""Fault-to-explanation latency of the whole pipeline on the embedded stack, against static rules alone.

Usage: python bench/bench_scenarios.py [--runs N] [--faults cpu-hog,slow,...] [--baseline-timeout S]

Each run starts a fresh embedded stack (noida-db, five services, the demo service), injects a real
fault and times every milestone of the chain after the injection: first anomaly, incident opened,
first notification delivered, recovery started, recovery verified, RCA published. The same faults
run again with the detector cut down to the manual's fixed thresholds (statistical detector,
degradation and log analysis off), the way a hand-written Prometheus rule set sees them. Prints
median and worst seconds per milestone; "-" means the milestone never came within the timeout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incidentctl import scenario

STATIC_ONLY: dict[str, dict[str, Any]] = {
    "detector": {
        "profile": "demo",
        "statistical": {"enabled": False},
        "degradation": {"enabled": False},
        "logs": {"enabled": False},
    }
}
CONFIGS: dict[str, dict[str, dict[str, Any]] | None] = {"ours": None, "static rules only": STATIC_ONLY}


def fmt(values: list[float | None]) -> str:
    """Median (and worst, over several runs) of the seconds seen; '-' if a run never got there."""
    seen = [v for v in values if v is not None]
    if not seen:
        return "-"
    text = f"{statistics.median(seen):.1f}"
    if len(values) > 1:
        text += f" / {max(seen):.1f}"
    missing = len(values) - len(seen)
    return text + (f" ({missing} missed)" if missing else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--faults", default=",".join(scenario.FAULTS))
    parser.add_argument("--baseline-timeout", type=float, default=60.0, help="seconds the static rules get")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    rows: list[str] = []
    for fault in faults:
        for label, overrides in CONFIGS.items():
            times: dict[str, list[float | None]] = {m: [] for m in scenario.MILESTONES[1:]}
            walls: list[float] = []
            for _ in range(args.runs):
                timeout = 170.0 if overrides is None else args.baseline_timeout
                with tempfile.TemporaryDirectory(prefix="ir-bench-", ignore_cleanup_errors=True) as tmp:
                    result = scenario.run(
                        fault, root=Path(tmp) / "stack", timeout_s=timeout, log=lambda _m: None, overrides=overrides
                    )
                for milestone in times:
                    times[milestone].append(result.seconds_after_fault.get(milestone))
                walls.append(result.wall_seconds)
                print(f"  {fault:11s} {label:18s} ok={result.ok} {result.seconds_after_fault}", file=sys.stderr)
            cells = " | ".join(fmt(times[m]) for m in times)
            rows.append(f"| {fault} | {label} | {cells} | {statistics.median(walls):.0f} |")
    runs = "median" if args.runs == 1 else f"median / worst of {args.runs}"
    print(f"Seconds after the fault ({runs}); embedded stack, demo time scale (2 s scrapes, 1 s during an incident)")
    print()
    print("| fault | detector | " + " | ".join(scenario.MILESTONES[1:]) + " | wall s |")
    print("|---|---|" + "---:|" * (len(scenario.MILESTONES) - 1) + "---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
