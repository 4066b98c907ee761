"""`incidentctl detect`: stream a `timestamp,value` CSV (NAB format) through the anomaly detector."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

from services.detector.domain.anomaly import DetectorConfig, SeriesDetector
from shared.errors import DataError

OUTPUT_HEADER = ("timestamp", "value", "anomaly_score")


class DetectCsvError(DataError, ValueError):
    """The input CSV is malformed; the message names the file and line."""


def parse_timestamp(text: str) -> float:
    """Return epoch seconds of an ISO-8601 date-time (naive = UTC) or of a plain epoch number."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def detect_csv(input_path: Path, output_path: Path, *, config: DetectorConfig | None = None) -> int:
    """Score every row of `input_path` in order and write timestamp,value,anomaly_score; return rows written.

    Empty, NaN or infinite values count as missing samples (score 0, the detector's state is untouched).

    Raises:
        DetectCsvError: on a missing header column or a row whose timestamp or value does not parse.

    """
    detector = SeriesDetector(config)
    written = 0
    with input_path.open(newline="") as src, output_path.open("w", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst, lineterminator="\n")
        header = [h.strip().lower() for h in next(reader, [])]
        if "timestamp" not in header or "value" not in header:
            raise DetectCsvError(f"{input_path}:1: header must name the columns timestamp and value")
        i_ts, i_val = header.index("timestamp"), header.index("value")
        writer.writerow(OUTPUT_HEADER)
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise DetectCsvError(f"{input_path}:{line}: expected {len(header)} columns, got {len(row)}")
            try:
                ts = parse_timestamp(row[i_ts])
            except ValueError:
                raise DetectCsvError(f"{input_path}:{line}: bad timestamp {row[i_ts]!r}") from None
            raw = row[i_val].strip()
            try:
                value = float(raw) if raw else math.nan
            except ValueError:
                raise DetectCsvError(f"{input_path}:{line}: bad value {row[i_val]!r}") from None
            score = detector.update(ts, value).score
            writer.writerow((row[i_ts], row[i_val], format(score, ".10g")))
            written += 1
    return written
