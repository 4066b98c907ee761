from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[4] / "bench" / "nab_score.py"
_spec = importlib.util.spec_from_file_location("nab_score", _PATH)
assert _spec and _spec.loader
ns = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("nab_score", ns)
_spec.loader.exec_module(ns)

STANDARD = ns.PROFILES[0]


def sig(x: float) -> float:
    return -1.0 if x > 3 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def test_scaled_sigmoid_reference_points():
    assert float(ns.scaled_sigmoid(np.array(-1.0))) == pytest.approx(0.98661, abs=1e-5)
    assert float(ns.scaled_sigmoid(np.array(0.0))) == 0.0
    assert float(ns.scaled_sigmoid(np.array(3.5))) == -1.0


def test_probation_rows():
    assert ns.probation_rows(100) == 15
    assert ns.probation_rows(10_000) == 750


def test_row_weights_by_hand():
    # 40 rows, probation 6; window rows 20..24 (w = 5)
    weights, window_of = ns.row_weights(40, [(20, 24)], STANDARD)
    assert weights[10] == pytest.approx(-0.11)
    assert weights[20] == pytest.approx(1.0)
    assert weights[22] == pytest.approx(sig(-3 / 5) / sig(-1))
    assert weights[24] == pytest.approx(sig(-1 / 5) / sig(-1))
    assert weights[26] == pytest.approx(0.11 * sig(2 / 4))
    assert weights[39] == pytest.approx(-0.11)  # y = 15/4 > 3
    assert list(window_of[19:26]) == [-1, 0, 0, 0, 0, 0, -1]


def build(scores: dict[int, float], n: int = 40) -> list:
    s = np.zeros(n)
    for i, v in scores.items():
        s[i] = v
    return [ns.ScoredFile("f.csv", s, ((20, 24),))]


def test_optimiser_takes_earliest_detection_and_counts_fp_rows():
    files = build({22: 0.9, 23: 0.95, 30: 0.5, 3: 0.99})  # row 3 is in probation: ignored
    result = ns.optimise_threshold(files, STANDARD)
    assert result.threshold == 0.9
    assert result.raw == pytest.approx(sig(-3 / 5) / sig(-1))
    assert (result.tp_rows, result.fp_rows) == (2, 0)
    assert result.normalised == pytest.approx(100 * (result.raw + 1) / 2)


def test_optimiser_prefers_no_detection_when_everything_costs():
    files = [ns.ScoredFile("quiet.csv", np.full(40, 0.5), ())]
    result = ns.optimise_threshold(files, STANDARD)
    assert result.threshold == 1.1
    assert result.raw == 0.0


def test_optimiser_keeps_higher_threshold_on_ties():
    # lowering to 0.7 adds a later row of the same window: same raw score, so 0.8 is kept
    files = build({21: 0.8, 22: 0.7})
    result = ns.optimise_threshold(files, STANDARD)
    assert result.threshold == 0.8
    assert result.tp_rows == 1


def test_fp_row_lowers_score_and_file_score_agrees():
    files = build({20: 0.9, 35: 0.95})
    best = ns.optimise_threshold(files, STANDARD)
    assert best.threshold == 0.9
    expected = 1.0 + 0.11 * sig((35 - 24) / 4)
    assert best.raw == pytest.approx(expected)
    assert ns.file_score(files[0], 0.9, STANDARD) == pytest.approx(expected)
    assert ns.file_score(files[0], 0.99, STANDARD) == pytest.approx(-1.0)


def test_window_rows_match_timestamps(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("timestamp,value\n2014-04-10 07:10:00,1\n2014-04-10 07:15:00,2\n2014-04-10 07:20:00,3\n")
    ts, values = ns.read_series(path)
    labels = tmp_path / "w.json"
    labels.write_text('{"s.csv": [["2014-04-10 07:15:00.000000", "2014-04-10 07:20:00.000000"]]}')
    windows = ns.load_windows(labels)
    assert ns.window_rows(ts, windows["s.csv"]) == ((1, 2),)
    assert list(values) == [1.0, 2.0, 3.0]


def test_raw_curve_matches_the_per_file_score_at_any_threshold():
    rng = np.random.default_rng(4)
    files = [
        ns.ScoredFile("a", rng.random(400).round(2), ((300, 319),)),
        ns.ScoredFile("b", rng.random(300).round(2), ((100, 109), (200, 214))),
        ns.ScoredFile("c", rng.random(200).round(2), ()),
    ]
    curve = ns.raw_curve(files, STANDARD)
    n_windows = 3
    for theta in (1.1, 0.995, 0.9, 0.5, 0.31, 0.0):
        expected = sum(ns.file_score(f, theta, STANDARD) for f in files)
        got = float(ns.raw_at(curve, n_windows, STANDARD, np.array([theta]))[0])
        assert got == pytest.approx(expected, abs=1e-9)
    best = ns.optimise_threshold(files, STANDARD)
    assert float(ns.raw_at(curve, n_windows, STANDARD, np.array([best.threshold]))[0]) == pytest.approx(best.raw)
    assert ns.normalise(best.raw, n_windows, STANDARD) == pytest.approx(best.normalised)
