"""Detector throughput and memory: 100k series in one DetectorBank, against a naive rolling z-score bank.

Usage: python bench/bench_detector_throughput.py [--series 100000] [--steps 60]

Prints samples/s scored by this one process (each step = one sample for every series), the bytes of
state per tracked series (live and checkpointed), and the same figures for a vectorised rolling
z-score over a 288-sample window, plus the per-sample rate of the scalar `SeriesDetector` path.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.detector.domain.anomaly import DetectorBank, SeriesDetector

WINDOW = 288


class RollingZBank:
    """Baseline: per-series ring buffer of the last WINDOW samples with running sums."""

    def __init__(self, n: int) -> None:
        self.buf = np.zeros((WINDOW, n))
        self.s1 = np.zeros(n)
        self.s2 = np.zeros(n)
        self.count = 0

    def update(self, x: np.ndarray) -> np.ndarray:
        k = max(min(self.count, WINDOW), 1)
        mean = self.s1 / k
        sd = np.sqrt(np.maximum(self.s2 / k - mean * mean, 0.0))
        z = np.abs(x - mean) / (sd + 1e-9)
        slot = self.count % WINDOW
        old = self.buf[slot]
        self.s1 += x - old
        self.s2 += x * x - old * old
        self.buf[slot] = x
        self.count += 1
        return 1.0 - 0.5 ** (z / 3.0)


def synthetic(n_series: int, steps: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Return (steps, n_series) timestamps and values: daily pattern, noise, a few spikes and gaps."""
    rng = np.random.default_rng(seed)
    t0 = 1_700_000_000.0 + rng.uniform(0, 300, n_series)
    ts = t0[None, :] + 300.0 * np.arange(steps)[:, None]
    level = rng.uniform(10, 1000, n_series)
    daily = 0.3 * level * np.sin(2 * np.pi * ts / 86_400.0)
    values = level + daily + rng.normal(0, 0.05, (steps, n_series)) * level
    values[rng.random((steps, n_series)) < 0.001] *= 5
    values[rng.random((steps, n_series)) < 0.001] = np.nan
    return ts, values


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    n, steps = args.series, args.steps
    ts, values = synthetic(n, steps)

    bank = DetectorBank(n)
    start = time.perf_counter()
    for i in range(steps):
        bank.update(ts[i], values[i])
    ours = n * steps / (time.perf_counter() - start)

    zbank = RollingZBank(n)
    start = time.perf_counter()
    for i in range(steps):
        zbank.update(values[i])
    naive = n * steps / (time.perf_counter() - start)

    single = SeriesDetector()
    m = 3000
    start = time.perf_counter()
    for i in range(m):
        single.update(300.0 * i, float(values[i % steps, 0]))
    scalar = m / (time.perf_counter() - start)

    checkpoint = len(bank.dumps_series(0))
    naive_bytes = (zbank.buf.nbytes + zbank.s1.nbytes + zbank.s2.nbytes) / n
    print(f"{n:,} series x {steps} samples each, one process, numpy {np.__version__}")
    print("| detector | samples/s | state bytes/series | checkpoint bytes/series |")
    print("|---|---:|---:|---:|")
    print(f"| ours: DetectorBank | {ours:,.0f} | {bank.state_bytes_per_series} | {checkpoint} |")
    print(f"| naive rolling z-score (window {WINDOW}) | {naive:,.0f} | {naive_bytes:.0f} | - |")
    print(
        f"| ours: SeriesDetector, one series at a time | {scalar:,.0f} | {bank.state_bytes_per_series} | {checkpoint} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
