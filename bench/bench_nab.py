"""NAB benchmark: our detector, two simple baselines and NAB's 8 published detectors, scored in one run.

Usage: python bench/bench_nab.py [DATA_DIR]   (default $IR_DATA_DIR or ../shared/data from the repo root)

Checks first that bench/nab_score.py reproduces REFERENCE_SCORES.md (thresholds, raw and normalised
scores of the published detectors) and REFERENCE_PER_FILE.csv, then prints the standard,
reward_low_FP_rate and reward_low_FN_rate scores of every detector side by side.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nab_score as ns  # noqa: E402

from services.detector.domain.anomaly import DetectorBank, DetectorConfig  # noqa: E402

PUBLISHED = ("ARTime", "contextOSE", "numenta", "knncad", "relativeEntropy", "twitterADVec", "windowedGaussian", "null")
OURS = "ours (record envelopes)"
ROLLING_WINDOW = 288
STATIC_LEARN_ROWS = 150


@dataclass(frozen=True)
class Series:
    name: str
    timestamps: list[datetime]
    epoch: np.ndarray
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]


def data_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return Path(os.environ.get("IR_DATA_DIR", REPO.parent / "shared" / "data"))


def load_series(nab: Path) -> list[Series]:
    windows = ns.load_windows(nab / "labels" / "combined_windows.json")
    out = []
    for name in sorted(windows):
        ts, values = ns.read_series(nab / "data" / name)
        epoch = np.array([(t - datetime(1970, 1, 1)).total_seconds() for t in ts])
        out.append(Series(name, ts, epoch, values, ns.window_rows(ts, windows[name])))
    return out


def run_ours(series: list[Series], config: DetectorConfig) -> tuple[list[np.ndarray], float]:
    """Stream every series through one DetectorBank, row by row; return scores and seconds taken."""
    n_rows = max(len(s.values) for s in series)
    ts = np.full((n_rows, len(series)), np.nan)
    xs = np.full((n_rows, len(series)), np.nan)
    for j, s in enumerate(series):
        ts[: len(s.values), j], xs[: len(s.values), j] = s.epoch, s.values
    bank = DetectorBank(len(series), config)
    scores = np.zeros((n_rows, len(series)))
    start = time.perf_counter()
    for i in range(n_rows):
        scores[i] = bank.update(ts[i], xs[i]).score
    elapsed = time.perf_counter() - start
    return [scores[: len(s.values), j] for j, s in enumerate(series)], elapsed


def static_threshold(values: np.ndarray) -> np.ndarray:
    """Baseline: mean and sd of the first rows, frozen; score = 1 - 2^(-|x - mean| / (3 sd))."""
    head = values[:STATIC_LEARN_ROWS]
    sd = float(np.std(head)) or 1e-9
    out = 1.0 - 0.5 ** (np.abs(values - float(np.mean(head))) / (3 * sd))
    out[:STATIC_LEARN_ROWS] = 0.0
    return out


def rolling_zscore(values: np.ndarray) -> np.ndarray:
    """Baseline: |z| against the previous ROLLING_WINDOW rows, mapped to [0,1) by 1 - 2^(-|z|/3)."""
    w = ROLLING_WINDOW
    c1 = np.concatenate(([0.0], np.cumsum(values)))
    c2 = np.concatenate(([0.0], np.cumsum(values * values)))
    i = np.arange(len(values))
    lo = np.maximum(i - w, 0)
    count = np.maximum(i - lo, 1)
    mean = (c1[i] - c1[lo]) / count
    var = np.maximum((c2[i] - c2[lo]) / count - mean * mean, 0.0)
    z = np.abs(values - mean) / (np.sqrt(var) + 1e-9)
    out = 1.0 - 0.5 ** (z / 3.0)
    out[i < 30] = 0.0
    return out


def score_all(name: str, series: list[Series], scores: list[np.ndarray]) -> dict[str, ns.SweepResult]:
    files = [ns.ScoredFile(s.name, sc, s.windows) for s, sc in zip(series, scores, strict=True)]
    return {p.name: ns.optimise_threshold(files, p) for p in ns.PROFILES}


def load_published(nab: Path, detector: str, series: list[Series]) -> list[np.ndarray]:
    scores = []
    for s in series:
        category, fname = s.name.split("/")
        ts, sc = ns.read_series(nab / "results" / detector / category / f"{detector}_{fname}.gz")
        if ts != s.timestamps:
            raise SystemExit(f"{detector}: rows of {s.name} do not match the data file")
        scores.append(sc)
    return scores


def reference_tables(md: Path) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], tuple[str, float]]]:
    """Parse REFERENCE_SCORES.md: normalised scores and (threshold text, raw) per (detector, profile)."""
    normalised, optimum = {}, {}
    profiles = [p.name for p in ns.PROFILES]
    for line in md.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in PUBLISHED and re.fullmatch(r"-?[\d.]+", cells[1]):
            for prof, val in zip(profiles, cells[1:], strict=True):
                normalised[(cells[0], prof)] = float(val)
        if len(cells) == 6 and cells[0] in PUBLISHED and cells[1] in profiles:
            optimum[(cells[0], cells[1])] = (cells[2], float(cells[3]))
    return normalised, optimum


def check_reproduction(nab: Path, results: dict[str, dict[str, ns.SweepResult]], series: list[Series]) -> bool:
    normalised, optimum = reference_tables(nab / "REFERENCE_SCORES.md")
    ok = len(normalised) == len(optimum) == 3 * len(PUBLISHED)
    worst_norm = worst_raw = 0.0
    for (det, prof), ref in normalised.items():
        got = results[det][prof]
        thr_text, raw = optimum[(det, prof)]
        worst_norm = max(worst_norm, abs(got.normalised - ref))
        worst_raw = max(worst_raw, abs(got.raw - raw))
        ok &= abs(got.normalised - ref) < 6e-5 and abs(got.raw - raw) < 6e-7 and got.threshold == float(thr_text)
    per_file_ok, n_rows, worst_file = True, 0, 0.0
    by_name = {s.name: s for s in series}
    with (nab / "REFERENCE_PER_FILE.csv").open() as fh:
        for row in csv.DictReader(fh):
            prof = next(p for p in ns.PROFILES if p.name == row["profile"])
            s = by_name[row["file"]]
            sc = PUBLISHED_SCORES[row["detector"]][list(by_name).index(s.name)]
            got = ns.file_score(ns.ScoredFile(s.name, sc, s.windows), float(row["threshold"]), prof)
            worst_file = max(worst_file, abs(got - float(row["raw_score"])))
            per_file_ok &= abs(got - float(row["raw_score"])) < 1e-6
            n_rows += 1
    print(
        f"Scorer check vs REFERENCE_SCORES.md: {'REPRODUCED' if ok else 'NOT reproduced'} "
        f"({len(normalised)} detector x profile cells; thresholds equal; max |Δ normalised| {worst_norm:.1e}, "
        f"max |Δ raw| {worst_raw:.1e})"
    )
    print(
        f"Scorer check vs REFERENCE_PER_FILE.csv: {'REPRODUCED' if per_file_ok else 'NOT reproduced'} "
        f"({n_rows} rows; max |Δ raw| {worst_file:.1e})"
    )
    return ok and per_file_ok


PUBLISHED_SCORES: dict[str, list[np.ndarray]] = {}


def print_categories(
    series: list[Series], scores: dict[str, list[np.ndarray]], results: dict[str, dict[str, ns.SweepResult]]
) -> None:
    """Per category: windows, windows detected and raw standard score at each detector's own threshold."""
    std = ns.PROFILES[0]
    cats = sorted({s.name.split("/")[0] for s in series})
    print("\nStandard raw score by category (windows detected / windows), each at its own threshold:")
    print("| category | " + " | ".join(scores) + " |")
    print("|---|" + "---:|" * len(scores))
    for cat in cats:
        cells = []
        for det, det_scores in scores.items():
            thr = results[det]["standard"].threshold
            raw = found = total = 0
            for s, sc in zip(series, det_scores, strict=True):
                if s.name.split("/")[0] != cat:
                    continue
                f = ns.ScoredFile(s.name, sc, s.windows)
                raw += ns.file_score(f, thr, std)
                found += sum(bool(np.any(sc[a : b + 1] >= thr)) for a, b in s.windows)
                total += len(s.windows)
            cells.append(f"{raw:7.2f} ({found}/{total})")
        print(f"| {cat} | " + " | ".join(cells) + " |")


def main() -> int:
    nab = data_dir() / "nab"
    series = load_series(nab)
    n_rows = sum(len(s.values) for s in series)
    print(f"NAB: {len(series)} series, {n_rows:,} rows, {sum(len(s.windows) for s in series)} windows ({nab})")
    results: dict[str, dict[str, ns.SweepResult]] = {}
    for det in PUBLISHED:
        PUBLISHED_SCORES[det] = load_published(nab, det, series)
        results[det] = score_all(det, series, PUBLISHED_SCORES[det])
    reproduced = check_reproduction(nab, results, series)

    ours, seconds = run_ours(series, DetectorConfig())
    results[OURS] = score_all(OURS, series, ours)
    results["static threshold"] = score_all("static", series, [static_threshold(s.values) for s in series])
    results["rolling z-score"] = score_all("rolling", series, [rolling_zscore(s.values) for s in series])
    print(f"Our detector streamed {n_rows:,} rows in {seconds:.1f} s (DetectorBank over the {len(series)} series)\n")

    print(
        f"| {'detector':26s} | standard | reward_low_FP_rate | reward_low_FN_rate | std threshold | TP rows | FP rows |"
    )
    print(f"|{'-' * 28}|---------:|-------------------:|-------------------:|--------------:|--------:|--------:|")
    for det, res in sorted(results.items(), key=lambda kv: -kv[1]["standard"].normalised):
        std, lfp, lfn = (res[p.name] for p in ns.PROFILES)
        print(
            f"| {det:26s} | {std.normalised:8.2f} | {lfp.normalised:18.2f} | {lfn.normalised:18.2f} "
            f"| {std.threshold:13.6g} | {std.tp_rows:7d} | {std.fp_rows:7d} |"
        )
    print_categories(series, {OURS: ours, "ARTime": PUBLISHED_SCORES["ARTime"]}, results)
    best = max(results[d]["standard"].normalised for d in PUBLISHED)
    mine = results[OURS]["standard"].normalised
    verdict = "above" if mine > best else "below"
    print(f"\nOur standard score {mine:.2f} is {verdict} the best published detector here ({best:.2f}).")
    print(
        "This is a DEVELOPMENT figure: the detector's constants were chosen on these 43 series and every "
        "threshold is optimised on them. For held-out figures run bench/bench_detector_cv.py."
    )
    return 0 if reproduced else 1


if __name__ == "__main__":
    raise SystemExit(main())
