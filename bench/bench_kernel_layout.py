"""The detector's state pool, field-major against series-major memory: a wave's step in place, and a scattered one.

Usage: python bench/bench_kernel_layout.py [--series 18000] [--wave 4500] [--steps 40]

The detector service keeps every target's state in one pool (``anomaly.pool``) and steps a wave of
targets (one fetched batch, up to 500 scrapes of about 9 series) in one kernel step. Measured on
synthetic series, side by side in one run, for both memory orders:

- in place: waves that make one run of columns, cycling over the whole pool as a backlog does
  (the collector scrapes its targets in the same order each time);
- scattered: a wave of random columns, gathered, stepped, and moved to one new run (``relocate``),
  as after a rebalance.

Prints CPU milliseconds per step (best of 4 repeats) and microseconds per 9-series scrape.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.detector.domain.anomaly import kernel
from services.detector.domain.anomaly.pool import StatePool
from services.detector.settings import DetectorSettings

SERIES_PER_SCRAPE = 9


def in_place(pool: StatePool, wave: int, steps: int, rng: np.random.Generator) -> float:
    """Best mean CPU seconds of a step over a run of ``wave`` columns, the runs taken in turn."""
    config, runs, best = pool.config, pool.capacity // wave, float("inf")
    for repeat in range(4):
        spent = 0.0
        for i in range(steps):
            start = (i % runs) * wave
            x, ts = rng.normal(20, 3, wave), np.full(wave, 1e9 + 2.0 * (i + steps * repeat))
            began = time.process_time()
            kernel.step(pool.state[start : start + wave].T, ts, x, config)
            spent += time.process_time() - began
        best = min(best, spent / steps)
    return best


def scattered(pool: StatePool, wave: int, steps: int, rng: np.random.Generator) -> float:
    """Best mean CPU seconds of gathering ``wave`` random columns, stepping them and writing them as one run."""
    config, size, best = pool.config, pool.capacity - wave, float("inf")
    for repeat in range(4):
        spent = 0.0
        for i in range(steps):
            cols = np.sort(rng.choice(size, wave, replace=False))
            x, ts = rng.normal(20, 3, wave), np.full(wave, 1e9 + 2.0 * (i + steps * repeat))
            began = time.process_time()
            rows = pool.state[cols]
            kernel.step(rows.T, ts, x, config)
            pool.state[size:] = rows  # relocate: one new run
            spent += time.process_time() - began
        best = min(best, spent / steps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=18000)
    parser.add_argument("--wave", type=int, default=4500)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    config = DetectorSettings().detection().statistical.detector
    print(f"{args.series} series in one pool, waves of {args.wave}; CPU per step (best of 4), per 9-series scrape")
    print(f"{'memory':<34}{'in place ms':>12}{'us/scrape':>11}{'scattered ms':>14}{'us/scrape':>11}")
    for series_major in (True, False):
        pool = StatePool(config, args.series + args.wave, series_major=series_major)
        pool.allocate(args.series + args.wave)
        rng = np.random.default_rng(1)
        run = in_place(pool, args.wave, args.steps, rng)
        spread = scattered(pool, args.wave, args.steps // 4, rng)
        name = "series-major (baseline)" if series_major else "field-major (the service's)"
        per = SERIES_PER_SCRAPE / args.wave * 1e6
        print(f"{name:<34}{run * 1e3:>12.2f}{run * per:>11.1f}{spread * 1e3:>14.2f}{spread * per:>11.1f}")


if __name__ == "__main__":
    main()
