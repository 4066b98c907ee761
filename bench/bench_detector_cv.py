"""Leave-one-group-out cross-validation of the anomaly detector: NAB categories and ASD server groups.

Usage: python bench/bench_detector_cv.py [DATA_DIR] [--worst]   (default $IR_DATA_DIR or ../shared/data)

``--worst`` chooses on the training folds by their worst fold instead of their mean.

Each fold (see cv_folds.py) is held out in turn. Everything chosen is chosen on the other folds
only: NAB's alert threshold (per profile, the one that maximises the mean normalised NAB score of
the training folds, ties to the higher threshold as NAB does) and, when CANDIDATES offers several
detector settings, which of them (picked jointly with the threshold). The held-out
fold is then scored at that threshold with NAB's rules, normalised by its own windows. The table
gives every held-out fold, the mean and the worst fold.

Side by side, on the five NAB folds, the published detectors (results shipped with NAB) get the
same treatment: their threshold chosen on the other NAB folds. Our detector is shown there with
its threshold chosen on the other NAB folds too (same training data as theirs).
The last line is a DEVELOPMENT figure: everything chosen on all the data, NAB's way.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv_folds as cf  # noqa: E402
import nab_score as ns  # noqa: E402
from bench_nab import load_published, load_series, rolling_zscore  # noqa: E402

from services.detector.domain.anomaly import DetectorBank, DetectorConfig, corroborate  # noqa: E402
from services.detector.domain.anomaly.config import DAY_S  # noqa: E402

PUBLISHED = ("ARTime", "numenta", "contextOSE", "knncad", "relativeEntropy", "twitterADVec", "windowedGaussian")
CANDIDATES: dict[str, dict[str, float | bool]] = {
    "corroborated, cap 2, share^0.5, recent jumps 3 d": {},
    "corroborated, cap 2, share^0.5, recent jumps 7 d": {"recent_half_life_s": 7 * DAY_S},
    "corroborated, cap 1.5, share^0.5, recent jumps 3 d": {"corroborate_cap": 1.5},
    "corroborated, cap 3, share^0.5, recent jumps 3 d": {"corroborate_cap": 3.0},
    "corroborated, cap 2, share^0.5, recent jumps 3 d, flagged jumps whole": {"recent_discount_flagged": False},
    "corroborated, cap 2, share^0, recent jumps 3 d": {"corroborate_share_power": 0.0},
    "corroborated, cap 2, share^1, recent jumps 3 d": {"corroborate_share_power": 1.0},
    "corroborated, cap 2, share^0.5": {"corroborate_recent": False},
    "alone": {"corroborate": False},
}
"""Detector settings the training folds choose between (DetectorConfig overrides); one = nothing to choose.

"alone" judges every series by itself; "corroborated" lets a series outside its own envelopes take
the concurrent alerts of its host's other metrics, up to a cap of its own strength, and with "recent
jumps" also weighs a series' jump against the largest jumps of a recent horizon by the share of its
host's other metrics that set such a record in the same step (anomaly.corroborate); "flagged jumps
whole" lets a jump larger than any of the long horizon set the recent records in full (the default
takes it only in part: records set during an anomaly do not define normal); "share^p" weighs the
host's alerts by the share of its other metrics that leave their envelopes at that step, to the
power p (0: taken whole, as before). The training folds choose whether to corroborate, the cap,
the share's power, the horizon and the records' rule (the service's defaults, cap 2, power 0.5 and
3 days, are the middle ones)."""
BASELINE_COMMIT = "ca05814"
BASELINE: dict[str, tuple[float, float, float]] = {
    "nab artificial": (88.57, 83.53, 92.99),
    "nab realAWSCloudwatch": (77.34, 75.07, 79.72),
    "nab realAdExchange": (85.55, 72.84, 83.86),
    "nab realTraffic": (75.32, 72.19, 78.48),
    "nab realTweets": (72.87, 66.72, 76.86),
    "asd omi-1..4": (48.92, 48.90, 52.02),
    "asd omi-5..8": (52.17, 48.28, 55.71),
    "asd omi-9..12": (56.52, 51.95, 59.39),
}
"""Held-out figures of this bench at commit ca05814 (corroboration by the host's two strongest concurrent alerts,
capped, no recent jump view; standard / low FP / low FN; chosen by the training folds' mean, not ``--worst``),
measured 2026-12-06 on the same data and shown beside today's for comparison."""
OBJECTIVE = np.min if "--worst" in sys.argv else np.mean
FoldFiles = Mapping[str, Sequence[ns.ScoredFile]]


def data_dir() -> Path:
    given = [a for a in sys.argv[1:] if not a.startswith("--")]
    if given:
        return Path(given[0])
    return Path(os.environ.get("IR_DATA_DIR", REPO.parent / "shared" / "data"))


def host_groups(series: Sequence[cf.LabelledSeries]) -> np.ndarray:
    """One integer per series: equal for the series of one host."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(s.host or s.name, len(ids)) for s in series])


def stream_all(
    series: Sequence[cf.LabelledSeries], config: DetectorConfig
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Stream every series through one DetectorBank, row by row; return scores, severities and seconds taken.

    With ``config.corroborate`` the series of one host are judged together, as the service judges
    the metrics of one target.
    """
    n_rows = max(len(s.values) for s in series)
    ts = np.full((n_rows, len(series)), np.nan)
    xs = np.full((n_rows, len(series)), np.nan)
    for j, s in enumerate(series):
        ts[: len(s.values), j], xs[: len(s.values), j] = s.epoch, s.values
    bank = DetectorBank(len(series), config)
    groups = host_groups(series)
    scores, severities = np.zeros((n_rows, len(series))), np.zeros((n_rows, len(series)))
    start = time.perf_counter()
    for i in range(n_rows):
        result = bank.update(ts[i], xs[i])
        if config.corroborate:
            cap, power = config.corroborate_cap, config.corroborate_share_power
            result = corroborate(result, groups, cap, config.corroborate_recent, power)
        scores[i], severities[i] = result.score, result.severity
    seconds = time.perf_counter() - start
    cut = [slice(0, len(s.values)) for s in series]
    return [scores[c, j] for j, c in enumerate(cut)], [severities[c, j] for j, c in enumerate(cut)], seconds


def stream(series: Sequence[cf.LabelledSeries], config: DetectorConfig) -> tuple[list[np.ndarray], float]:
    """Scores of every series (`stream_all`) and the seconds taken."""
    scores, _, seconds = stream_all(series, config)
    return scores, seconds


def by_fold(series: Sequence[cf.LabelledSeries], scores: Sequence[np.ndarray]) -> dict[str, list[ns.ScoredFile]]:
    """Group the scored parts of the series by fold, as NAB ScoredFiles."""
    out: dict[str, list[ns.ScoredFile]] = {}
    for s, sc in zip(series, scores, strict=True):
        out.setdefault(s.fold, []).append(ns.ScoredFile(s.name, sc[s.scored_from :], s.windows))
    return out


def _curves(folds: FoldFiles, profile: ns.Profile) -> dict[str, tuple[tuple[np.ndarray, np.ndarray], int]]:
    return {f: (ns.raw_curve(files, profile), sum(len(x.windows) for x in files)) for f, files in folds.items()}


def _best(
    candidates: Mapping[str, Mapping[str, tuple[tuple[np.ndarray, np.ndarray], int]]],
    train: Sequence[str],
    profile: ns.Profile,
) -> tuple[str, float]:
    """The (candidate, threshold) maximising the mean (or worst) normalised score of the training folds."""
    best = (-np.inf, "", ns.NO_DETECTION_THRESHOLD)
    for label, curves in candidates.items():
        levels = np.unique(np.concatenate([curves[f][0][0] for f in train]))[::-1]
        grid = np.concatenate(([ns.NO_DETECTION_THRESHOLD], levels))
        per_fold = np.array(
            [ns.normalise(ns.raw_at(curves[f][0], curves[f][1], profile, grid), curves[f][1], profile) for f in train]
        )
        mean = OBJECTIVE(per_fold, axis=0)
        k = int(np.argmax(mean))
        if mean[k] > best[0] + 1e-12:
            best = (float(mean[k]), label, float(grid[k]))
    return best[1], best[2]


Picks = dict[str, dict[str, tuple[float, str, float]]]


def cross_validate(candidates: Mapping[str, FoldFiles], folds: Sequence[str]) -> Picks:
    """Per profile and held-out fold: (normalised score, chosen candidate, chosen threshold)."""
    out: Picks = {}
    for profile in ns.PROFILES:
        curves = {label: _curves({f: c[f] for f in folds}, profile) for label, c in candidates.items()}
        out[profile.name] = {}
        for held in folds:
            label, theta = _best(curves, [f for f in folds if f != held], profile)
            curve, n_windows = curves[label][held]
            raw = float(ns.raw_at(curve, n_windows, profile, np.array([theta]))[0])
            out[profile.name][held] = (float(ns.normalise(raw, n_windows, profile)), label, theta)
    return out


def development(candidates: Mapping[str, FoldFiles], folds: Sequence[str]) -> dict[str, float]:
    """DEVELOPMENT figure: candidate and threshold chosen on all folds, mean normalised score over them."""
    out = {}
    for profile in ns.PROFILES:
        curves = {label: _curves({f: c[f] for f in folds}, profile) for label, c in candidates.items()}
        label, theta = _best(curves, folds, profile)
        out[profile.name] = float(
            np.mean(
                [
                    ns.normalise(
                        ns.raw_at(curves[label][f][0], curves[label][f][1], profile, np.array([theta]))[0],
                        curves[label][f][1],
                        profile,
                    )
                    for f in folds
                ]
            )
        )
    return out


def baseline_picks() -> Picks:
    """The BASELINE figures in the shape `cross_validate` returns (nothing chosen here)."""
    return {
        p.name: {fold: (row[k], "", float("nan")) for fold, row in BASELINE.items()} for k, p in enumerate(ns.PROFILES)
    }


def print_cv(title: str, rows: Mapping[str, Picks], folds: Sequence[str]) -> None:
    """One line per fold, then mean and worst, for each detector: standard / low FP / low FN."""
    names = list(rows)
    print(f"\n{title}")
    print("| held-out fold | " + " | ".join(f"{n} (std / lowFP / lowFN)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))

    def cell(name: str, fold: str) -> str:
        return " / ".join(f"{rows[name][p.name][fold][0]:6.2f}" for p in ns.PROFILES)

    for fold in folds:
        print(f"| {fold} | " + " | ".join(cell(n, fold) for n in names) + " |")
    for label, agg in (("mean", np.mean), ("worst fold", np.min)):
        cells = [" / ".join(f"{agg([rows[n][p.name][f][0] for f in folds]):6.2f}" for p in ns.PROFILES) for n in names]
        print(f"| **{label}** | " + " | ".join(cells) + " |")


def main() -> int:
    root = data_dir()
    nab_s, asd_s = cf.nab_series(root / "nab"), cf.asd_series(root / "asd")
    series = nab_s + asd_s
    folds = list(dict.fromkeys(s.fold for s in series))
    nab_folds = [f for f in folds if f.startswith("nab")]
    n_rows = sum(len(s.values) for s in series)
    print(f"{len(series)} series, {n_rows:,} rows, {len(folds)} folds: " + ", ".join(folds))

    ours: dict[str, FoldFiles] = {}
    for label, overrides in CANDIDATES.items():
        scores, seconds = stream(series, replace(DetectorConfig(), **overrides))
        ours[label] = by_fold(series, scores)
        print(f"ours, {label}: streamed {n_rows:,} rows in {seconds:.1f} s")
    rolling = {"rolling": by_fold(series, [rolling_zscore(s.values) for s in series])}

    full = {
        "ours": cross_validate(ours, folds),
        f"baseline {BASELINE_COMMIT}": baseline_picks(),
        "rolling z-score": cross_validate(rolling, folds),
    }
    title = "HELD-OUT: leave-one-group-out CV, all folds (threshold and candidate chosen on the other 7 folds):"
    print_cv(title, full, folds)
    for held in folds:
        theta = full["ours"]["standard"][held][2]
        picked = ", ".join(f"{p.name} {full['ours'][p.name][held][1]}" for p in ns.PROFILES)
        print(f"  held out {held}: chose {picked}; standard threshold {theta:.6g}")

    nab = {"ours": cross_validate({k: {f: v[f] for f in nab_folds} for k, v in ours.items()}, nab_folds)}
    nab_list = load_series(root / "nab")
    for det in PUBLISHED:
        files = by_fold(nab_s, load_published(root / "nab", det, nab_list))
        nab[det] = cross_validate({det: files}, nab_folds)
    print_cv("HELD-OUT, NAB folds only, every detector's threshold chosen on the other 4 NAB folds:", nab, nab_folds)

    dev = development(ours, folds)
    print(
        "\nDEVELOPMENT figure (threshold (and candidate) chosen on all 8 folds, mean over them; not a "
        "held-out score): " + " / ".join(f"{dev[p.name]:.2f}" for p in ns.PROFILES)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
