"""Where the detector loses points in cross-validation: misses, late hits, false positives, threshold transfer.

Usage: python bench/cv_diagnose.py [DATA_DIR] [--alone]   (default $IR_DATA_DIR or ../shared/data)

``--alone`` judges every series by itself (no corroboration across a host's series);
``--share-power=P`` weighs the host's alerts by the share of its series that depart, to the power P
(default: the service's, `DetectorConfig.corroborate_share_power`; 0: the evidence taken whole).

Streams every series once (as bench_detector_cv.py does), takes each held-out fold's standard-profile
threshold as cross-validation chooses it (on the other folds only), and per fold prints:

- windows, and how many a row at or above that threshold hits (first hit: median position in the
  window, 0 = its first row; NAB rewards early hits);
- the misses split by why: *quiet* (every view stayed inside its record envelope: severity 0 all
  window long), *suppressed* (a view left its envelope, but the after-alert suppression held the
  score at 0) or *below* (the score rose, but not to the threshold);
- false-positive rows on series with windows and on series without any, and all of them split by
  what put the row over the threshold: the series' own score, the capped raise by its host's
  concurrent alerts, or the host's joint recent jump (`anomaly.corroborate`);
- the fold's score at the CV threshold and at its own best threshold. The latter is a DIAGNOSTIC
  only (chosen on the held-out fold itself, never a result): the gap between the two is what the
  threshold loses in transfer, the rest is what the scores' ranking loses;
- for ASD folds, how many missed windows were hit on another metric of the same server in the same
  labelled segment (a server-level view would have had them).

Nothing here chooses a constant; it only reads the scores.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_detector_cv as cv
import cv_folds as cf
import nab_score as ns

from services.detector.domain.anomaly import DetectorBank, DetectorConfig
from services.detector.domain.anomaly.corroborate import raise_scores

STANDARD = ns.PROFILES[0]


@dataclass(frozen=True)
class Streamed:
    """Score (suppressed) and severity (unsuppressed) of every row of one series, and where the score came from.

    ``own``: the series' score alone; ``capped``: with the capped raise by its host's concurrent
    alerts but without the joint recent jump. ``score`` is the full corroborated score.
    """

    score: np.ndarray
    severity: np.ndarray
    own: np.ndarray
    capped: np.ndarray


def stream(series: Sequence[cf.LabelledSeries], config: DetectorConfig) -> list[Streamed]:
    """Score and severity of every series, as bench_detector_cv.py streams them (`stream_all`), with their sources."""
    n_rows = max(len(s.values) for s in series)
    ts, xs = np.full((n_rows, len(series)), np.nan), np.full((n_rows, len(series)), np.nan)
    for j, s in enumerate(series):
        ts[: len(s.values), j], xs[: len(s.values), j] = s.epoch, s.values
    bank, groups = DetectorBank(len(series), config), cv.host_groups(series)
    rows = {name: np.zeros((n_rows, len(series))) for name in ("score", "severity", "own", "capped")}
    for i in range(n_rows):
        result = bank.update(ts[i], xs[i])
        rows["own"][i] = rows["capped"][i] = rows["score"][i] = result.score
        rows["severity"][i] = result.severity
        if config.corroborate:
            usable = result.valid & ~result.warming
            cap, power = config.corroborate_cap, config.corroborate_share_power
            rows["capped"][i], _ = raise_scores(result.score, result.severity, usable, groups, cap, None, power)
            recent = result.recent if config.corroborate_recent else None
            rows["score"][i], _ = raise_scores(result.score, result.severity, usable, groups, cap, recent, power)
    return [Streamed(*(rows[k][: len(s.values), j] for k in rows)) for j, s in enumerate(series)]


@dataclass
class FoldReport:
    """Counts of one held-out fold at its cross-validated threshold."""

    windows: int = 0
    hit: int = 0
    quiet: int = 0
    suppressed: int = 0
    below: int = 0
    fp_windowed: int = 0
    fp_windowless: int = 0
    fp_own: int = 0  # false-positive rows whose own score was over the threshold
    fp_capped: int = 0  # ... lifted over it by the capped raise (host's concurrent alerts)
    fp_joint: int = 0  # ... lifted over it by the host's joint recent jump only
    server_hit: int = 0  # missed, but hit on another metric of the same server in the same segment
    positions: list[float] | None = None


def _segment_key(s: cf.LabelledSeries, a: int, b: int) -> tuple[str, int, int]:
    return (s.name.split("/")[0], a, b)


def diagnose(series: Sequence[cf.LabelledSeries], out: Sequence[Streamed], fold: str, theta: float) -> FoldReport:
    """Count hits, misses by cause and false positives of one fold at threshold ``theta``."""
    rep = FoldReport(positions=[])
    hit_segments: set[tuple[str, int, int]] = set()
    missed: list[tuple[str, int, int]] = []
    for s, o in zip(series, out, strict=True):
        if s.fold != fold:
            continue
        score, severity = o.score[s.scored_from :], o.severity[s.scored_from :]
        start = ns.probation_rows(len(score))
        fires = np.zeros(len(score), dtype=bool)
        fires[start:] = score[start:] >= theta
        inside = np.zeros(len(score), dtype=bool)
        for a, b in s.windows:
            inside[a : b + 1] = True
            rep.windows += 1
            rows = np.flatnonzero(fires[a : b + 1])
            if rows.size:
                rep.hit += 1
                rep.positions.append(rows[0] / (b - a + 1))
                hit_segments.add(_segment_key(s, a, b))
                continue
            missed.append(_segment_key(s, a, b))
            if not np.any(severity[a : b + 1] > 0):
                rep.quiet += 1
            elif not np.any(score[a : b + 1] > 0):
                rep.suppressed += 1
            else:
                rep.below += 1
        false = fires & ~inside
        n_fp = int(np.count_nonzero(false))
        own, capped = o.own[s.scored_from :] >= theta, o.capped[s.scored_from :] >= theta
        rep.fp_own += int(np.count_nonzero(false & own))
        rep.fp_capped += int(np.count_nonzero(false & ~own & capped))
        rep.fp_joint += int(np.count_nonzero(false & ~capped))
        if s.windows:
            rep.fp_windowed += n_fp
        else:
            rep.fp_windowless += n_fp
    rep.server_hit = sum(key in hit_segments for key in missed) if fold.startswith("asd") else 0
    return rep


def main() -> int:
    root = cv.data_dir()
    series = cf.nab_series(root / "nab") + cf.asd_series(root / "asd")
    folds = list(dict.fromkeys(s.fold for s in series))
    start = time.perf_counter()
    config = DetectorConfig(corroborate="--alone" not in sys.argv)
    for arg in sys.argv[1:]:
        if arg.startswith("--share-power="):
            config = replace(config, corroborate_share_power=float(arg.split("=", 1)[1]))
    out = stream(series, config)
    how = "corroborated across each host's series" if config.corroborate else "each series alone"
    print(f"{len(series)} series streamed in {time.perf_counter() - start:.1f} s ({how})")
    files = cv.by_fold(series, [o.score for o in out])
    picks = cv.cross_validate({"defaults": files}, folds)["standard"]
    print(
        "\n| held-out fold | CV threshold | windows | hit | median first-hit position | missed: quiet / "
        "suppressed / below | missed but hit on same server | FP rows (series with / without windows) "
        "| FP rows by source (own / capped raise / joint jump) | CV score | own-threshold score (diagnostic) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fold in folds:
        score_cv, _, theta = picks[fold]
        rep = diagnose(series, out, fold, theta)
        own = ns.optimise_threshold(files[fold], STANDARD)
        position = f"{np.median(rep.positions):.2f}" if rep.positions else "-"
        server = str(rep.server_hit) if fold.startswith("asd") else "-"
        print(
            f"| {fold} | {theta:.3f} | {rep.windows} | {rep.hit} | {position} | "
            f"{rep.quiet} / {rep.suppressed} / {rep.below} | {server} | {rep.fp_windowed} / {rep.fp_windowless} "
            f"| {rep.fp_own} / {rep.fp_capped} / {rep.fp_joint} | {score_cv:.2f} "
            f"| {own.normalised:.2f} (at {own.threshold:.3f}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
