"""Labelled series of the detector's cross-validation, grouped into folds that are left out whole.

Folds: the NAB categories (the two artificial ones together: one of them has no window, so it
cannot be scored alone) and the ASD servers in three groups of four (omi-1..4, 5..8, 9..12).

ASD series are scored on their test part only (labels exist there only): the file handed to
NAB's scorer starts 750 rows before the test part, so NAB's probation (min(15 %, 750) rows)
covers exactly those training rows. The detector itself streams the whole series from row 0.
A metric's windows are the segments its interpretation label names (``metric_segments``),
as labelled (not widened); touching segments are merged. Metrics named in no segment only
count false positives, as NAB's no-anomaly files do.

Each series names its host: an ASD series its server (19 metrics per host), a NAB series itself
(NAB's series come from unrelated sources, one each).
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_nab import load_series

ASD_T0 = 1_600_000_200.0
ASD_STEP = 300.0
ASD_GROUPS = {"asd omi-1..4": range(1, 5), "asd omi-5..8": range(5, 9), "asd omi-9..12": range(9, 13)}
NAB_FOLDS = {
    "artificialNoAnomaly": "nab artificial",
    "artificialWithAnomaly": "nab artificial",
    "realAdExchange": "nab realAdExchange",
    "realAWSCloudwatch": "nab realAWSCloudwatch",
    "realTraffic": "nab realTraffic",
    "realTweets": "nab realTweets",
}
PROBATION = 750


@dataclass(frozen=True)
class LabelledSeries:
    """One series: its whole stream, and the scored part given to NAB's scorer (rows ``scored_from:``)."""

    name: str
    fold: str
    epoch: np.ndarray
    values: np.ndarray
    scored_from: int
    windows: tuple[tuple[int, int], ...]  # rows of the scored part
    host: str = ""  # series of one host are judged together (see anomaly.corroborate); "" = the series alone


def nab_series(nab: Path) -> list[LabelledSeries]:
    """The 43 NAB development series, scored whole (NAB's own probation applies)."""
    return [
        LabelledSeries(s.name, NAB_FOLDS[s.name.split("/")[0]], s.epoch, s.values, 0, s.windows, s.name)
        for s in load_series(nab)
    ]


def _read_gz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = np.array([(float(t), float(v)) for t, v in reader])
    return rows[:, 0], rows[:, 1]


def _merge(rows: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(rows):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return tuple(merged)


def asd_series(asd: Path) -> list[LabelledSeries]:
    """The 228 ASD series (12 servers x 19 metrics) with their metrics' labelled segments as windows."""
    labels = json.loads((asd / "labels.json").read_text())["servers"]
    fold_of = {f"omi-{k}": fold for fold, ks in ASD_GROUPS.items() for k in ks}
    out = []
    for server in sorted(labels, key=lambda s: int(s.split("-")[1])):
        info = labels[server]
        scored_from = info["train_rows"] - PROBATION
        for metric, segments in sorted(info["metric_segments"].items()):
            epoch, values = _read_gz(asd / server / f"{metric}.csv.gz")
            rows = [(round((a - ASD_T0) / ASD_STEP), round((b - ASD_T0) / ASD_STEP)) for a, b in segments]
            windows = _merge([(a - scored_from, b - scored_from) for a, b in rows])
            name = f"{server}/{metric}"
            out.append(LabelledSeries(name, fold_of[server], epoch, values, scored_from, windows, server))
    return out
