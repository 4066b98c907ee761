from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from incidentctl.detect_cmd import DetectCsvError, detect_csv, parse_timestamp
from services.detector.domain.anomaly import SeriesDetector


def write_series(path, values) -> list[str]:
    start = datetime(2015, 2, 26, 21, 42, 53)
    stamps = [(start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(values))]
    with path.open("w") as fh:
        fh.write("timestamp,value\n")
        for t, v in zip(stamps, values, strict=True):
            fh.write(f"{t},{v}\n")
    return stamps


def test_streams_rows_in_order_with_scores_of_the_detector(tmp_path):
    values = list(np.round(100 + np.random.default_rng(0).normal(0, 1, 400), 3))
    values[350] = 160.0
    stamps = write_series(tmp_path / "in.csv", values)
    rows_written = detect_csv(tmp_path / "in.csv", tmp_path / "out.csv")
    assert rows_written == 400
    with (tmp_path / "out.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["timestamp", "value", "anomaly_score"]
    assert [r[0] for r in rows[1:]] == stamps
    detector = SeriesDetector()
    expected = [detector.update(parse_timestamp(t), v).score for t, v in zip(stamps, values, strict=True)]
    assert [float(r[2]) for r in rows[1:]] == pytest.approx(expected, abs=1e-9)
    assert float(rows[351][2]) > 0.9


def test_missing_value_is_scored_zero(tmp_path):
    (tmp_path / "in.csv").write_text("timestamp,value\n2015-01-01 00:00:00,1\n2015-01-01 00:05:00,\n")
    assert detect_csv(tmp_path / "in.csv", tmp_path / "out.csv") == 2
    assert (tmp_path / "out.csv").read_text().splitlines()[2] == "2015-01-01 00:05:00,,0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("timestamp,value\n2015-01-01 00:00:00,1\n2015-01-01 00:05:00,abc\n", r"in\.csv:3: bad value"),
        ("timestamp,value\n2015-01-01 00:00:00,1\nyesterday,2\n", r"in\.csv:3: bad timestamp"),
        ("timestamp,value\n2015-01-01 00:00:00,1,7\n", r"in\.csv:2: expected 2 columns"),
        ("time,val\n2015-01-01 00:00:00,1\n", r"in\.csv:1: header"),
    ],
)
def test_malformed_input_names_the_line(tmp_path, body, message):
    (tmp_path / "in.csv").write_text(body)
    with pytest.raises(DetectCsvError, match=message):
        detect_csv(tmp_path / "in.csv", tmp_path / "out.csv")


def test_parse_timestamp_forms():
    naive = parse_timestamp("2015-01-01 00:00:00")
    assert naive == datetime(2015, 1, 1, tzinfo=UTC).timestamp()
    assert parse_timestamp("2015-01-01T01:00:00+01:00") == naive
    assert parse_timestamp("2015-01-01T00:00:00Z") == naive
    assert parse_timestamp("1420070400") == naive
