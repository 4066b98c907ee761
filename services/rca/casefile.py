"""Load an RCA case folder (metrics.csv, incident.json, optional logs.csv and graph.csv) into the domain `Case`."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Final

from services.rca.domain.model import Case, LogLine, MetricFrame, RcaError, Topology

METRICS_FILE: Final = "metrics.csv"
INCIDENT_FILE: Final = "incident.json"
LOGS_FILE: Final = "logs.csv"
GRAPH_FILE: Final = "graph.csv"
MAX_FIELD_CHARS: Final = 1 << 30


class CaseFileError(RcaError):
    """A case folder is missing a file or holds malformed content."""


def load_case(path: Path) -> Case:
    """Read a case folder; raise `CaseFileError` naming file, line and field on malformed input."""
    if not path.is_dir():
        raise CaseFileError(f"{path}: not a case folder")
    anomaly_start, window_end = _read_incident(path / INCIDENT_FILE)
    metrics = _read_metrics(path / METRICS_FILE)
    logs_path = path / LOGS_FILE
    logs = _read_logs(logs_path) if logs_path.exists() else ()
    graph_path = path / GRAPH_FILE
    topology = read_graph(graph_path) if graph_path.exists() else None
    return Case(metrics=metrics, anomaly_start=anomaly_start, window_end=window_end, logs=logs, topology=topology)


def read_graph(path: Path) -> Topology:
    """Read a call graph file: header `caller,callee`, one call edge per row (entity names as in metrics.csv)."""
    calls: set[tuple[str, str]] = set()
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = [cell.strip() for cell in next(reader, [])]
        if header[:2] != ["caller", "callee"]:
            raise CaseFileError(f"{path}: line 1: header must be 'caller,callee'")
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise CaseFileError(f"{path}: line {reader.line_num}: expected 'caller,callee'")
            calls.add((row[0].strip(), row[1].strip()))
    return Topology(calls=frozenset(calls))


def _read_incident(path: Path) -> tuple[float, float]:
    if not path.is_file():
        raise CaseFileError(f"{path}: missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CaseFileError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise CaseFileError(f"{path}: expected a JSON object")
    values: list[float] = []
    for key in ("anomaly_start", "window_end"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise CaseFileError(f"{path}: field {key!r} must be a finite number, got {value!r}")
        values.append(float(value))
    if values[1] < values[0]:
        raise CaseFileError(f"{path}: 'window_end' lies before 'anomaly_start'")
    return values[0], values[1]


def _parse_float(text: str, path: Path, line: int, field: str) -> float:
    text = text.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise CaseFileError(f"{path}: line {line}: field {field!r}: not a number: {text!r}") from None


def _read_metrics(path: Path) -> MetricFrame:
    if not path.is_file():
        raise CaseFileError(f"{path}: missing")
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or header[0].strip() != "timestamp":
            raise CaseFileError(f"{path}: line 1: first column must be 'timestamp'")
        names = [name.strip() for name in header[1:]]
        if len(set(names)) != len(names):
            raise CaseFileError(f"{path}: line 1: duplicate column names")
        timestamps: list[float] = []
        values: list[list[float]] = [[] for _ in names]
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise CaseFileError(f"{path}: line {line}: {len(row)} fields, header has {len(header)}")
            ts = _parse_float(row[0], path, line, "timestamp")
            if math.isnan(ts) or math.isinf(ts):
                raise CaseFileError(f"{path}: line {line}: field 'timestamp' is empty")
            if timestamps and ts < timestamps[-1]:
                raise CaseFileError(f"{path}: line {line}: field 'timestamp' goes back in time")
            timestamps.append(ts)
            for i, cell in enumerate(row[1:]):
                values[i].append(_parse_float(cell, path, line, names[i]))
    if not timestamps:
        raise CaseFileError(f"{path}: no data rows")
    return MetricFrame.build(timestamps, dict(zip(names, values, strict=True)))


def _read_logs(path: Path) -> tuple[LogLine, ...]:
    """Read logs.csv; bytes that are not UTF-8 become U+FFFD, a line may be as long as it likes."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    lines: list[LogLine] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = [cell.strip() for cell in next(reader, [])]
        if header[:3] != ["timestamp", "entity", "message"]:
            raise CaseFileError(f"{path}: line 1: header must be 'timestamp,entity,message'")
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) < 3:
                raise CaseFileError(f"{path}: line {line}: expected 3 fields, got {len(row)}")
            ts = _parse_float(row[0], path, line, "timestamp")
            if not math.isfinite(ts):
                raise CaseFileError(f"{path}: line {line}: field 'timestamp' is empty")
            lines.append(LogLine(ts=ts, entity=row[1].strip(), message=",".join(row[2:])))
    return tuple(lines)
