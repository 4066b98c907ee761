from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from incidentctl.rca_cmd import rank_case_dir
from services.rca.casefile import CaseFileError, load_case

HEADER = "timestamp,api|latency_p95,db|latency_p95,db|requests_Sum"


def write_case(folder: Path, metrics: str, incident: object, logs: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.csv").write_text(metrics, encoding="utf-8")
    (folder / "incident.json").write_text(
        incident if isinstance(incident, str) else json.dumps(incident), encoding="utf-8"
    )
    if logs is not None:
        (folder / "logs.csv").write_text(logs, encoding="utf-8")
    return folder


def good_metrics() -> str:
    rows = [HEADER]
    for i in range(40):
        ts = 1000 + 60 * i
        db = 0.01 + 0.001 * (i % 3) + (0.5 if i >= 30 else 0.0)
        api = 0.05 + 0.002 * (i % 4) + (0.5 if i >= 31 else 0.0)
        reqs = "" if i == 5 else str(100 + i % 5)
        rows.append(f"{ts},{api:.4f},{db:.4f},{reqs}")
    return "\n".join(rows) + "\n"


INCIDENT = {"anomaly_start": 1000 + 60 * 30, "window_end": 1000 + 60 * 39}


def test_load_case_reads_metrics_gaps_and_logs(tmp_path: Path) -> None:
    logs = 'timestamp,entity,message\n2700.5,db,"ERROR pool exhausted, 20 waiting"\n'
    case = load_case(write_case(tmp_path / "c", good_metrics(), INCIDENT, logs))
    assert case.anomaly_start == 2800.0
    assert set(case.metrics.columns) == {"api|latency_p95", "db|latency_p95", "db|requests_Sum"}
    assert math.isnan(case.metrics.columns["db|requests_Sum"][5])
    assert case.logs[0].message == "ERROR pool exhausted, 20 waiting"
    assert case.metrics.entities() == ["api", "db"]


def test_rank_case_dir_output_contract(tmp_path: Path) -> None:
    result = rank_case_dir(write_case(tmp_path / "c", good_metrics(), INCIDENT))
    ranking = result["ranking"]
    json.dumps(result)
    assert ranking[0]["entity"] == "db"
    entities = [item["entity"] for item in ranking]
    assert len(entities) == len(set(entities))
    scores = [float(item["score"]) for item in ranking]  # type: ignore[arg-type]
    assert all(math.isfinite(s) for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(item["evidence"], str) and item["evidence"] for item in ranking)


@pytest.mark.parametrize(
    ("metrics", "incident", "match"),
    [
        (good_metrics().replace("1120,", "1120,abc", 1), INCIDENT, r"metrics.csv: line 4: field 'api\|latency_p95'"),
        (good_metrics().replace("timestamp", "time", 1), INCIDENT, "line 1: first column must be 'timestamp'"),
        (HEADER + "\n1000,1,2\n", INCIDENT, "line 2: 3 fields, header has 4"),
        (HEADER + "\n2000,1,2,3\n1000,1,2,3\n", INCIDENT, "line 3: field 'timestamp' goes back in time"),
        (HEADER + "\n", INCIDENT, "no data rows"),
        (good_metrics(), {"anomaly_start": 5}, "field 'window_end' must be a finite number"),
        (good_metrics(), {"anomaly_start": "x", "window_end": 9}, "field 'anomaly_start'"),
        (good_metrics(), '{"anomaly_start": 1,\n', "incident.json: line 2: invalid JSON"),
        (good_metrics(), {"anomaly_start": 9, "window_end": 1}, "lies before"),
    ],
)
def test_malformed_case_gives_clear_error(tmp_path: Path, metrics: str, incident: object, match: str) -> None:
    folder = write_case(tmp_path / "bad", metrics, incident)
    with pytest.raises(CaseFileError, match=match):
        load_case(folder)


def test_missing_files_and_bad_logs(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="not a case folder"):
        load_case(tmp_path / "nope")
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(CaseFileError, match=r"incident\.json: missing"):
        load_case(folder)
    bad_logs = write_case(tmp_path / "logs", good_metrics(), INCIDENT, "ts,who,what\n1,a,b\n")
    with pytest.raises(CaseFileError, match=r"logs\.csv: line 1: header"):
        load_case(bad_logs)
    bad_ts = write_case(tmp_path / "logs2", good_metrics(), INCIDENT, "timestamp,entity,message\nsoon,a,b\n")
    with pytest.raises(CaseFileError, match=r"logs\.csv: line 2: field 'timestamp'"):
        load_case(bad_ts)


def test_raw_bytes_long_lines_infinities_and_bare_column_names(tmp_path: Path) -> None:
    metrics = good_metrics().replace(HEADER, HEADER + ",queue", 1)
    metrics = "\n".join(
        line if i == 0 else f"{line},{'inf' if i % 7 == 0 else i}" for i, line in enumerate(metrics.splitlines())
    )
    folder = write_case(tmp_path / "c", metrics + "\n", INCIDENT)
    long_line = "x" * 300_000
    (folder / "logs.csv").write_bytes(
        b'timestamp,entity,message\n2700.5,db,"ERROR \xff\xfe pool"\n2701,db,"' + long_line.encode() + b'"\n'
    )
    case = load_case(folder)
    assert case.logs[0].message == "ERROR \ufffd\ufffd pool"
    assert case.logs[1].message == long_line
    queue = case.metrics.columns["queue|value"]  # a bare name is the entity's "value" metric
    assert not np.isinf(queue).any() and np.isnan(queue[6])
    ranking = rank_case_dir(folder)["ranking"]
    assert ranking[0]["entity"] == "db"
    assert all(math.isfinite(float(item["score"])) for item in ranking)  # type: ignore[arg-type]


def test_load_case_reads_an_optional_call_graph(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "c", good_metrics(), INCIDENT)
    (folder / "graph.csv").write_text("caller,callee\napi,db\n\n", encoding="utf-8")
    case = load_case(folder)
    assert case.topology is not None
    assert case.topology.calls == frozenset({("api", "db")})


@pytest.mark.parametrize("graph", ["from,to\napi,db\n", "caller,callee\napi\n", "caller,callee\napi, \n"])
def test_malformed_call_graph_is_named(tmp_path: Path, graph: str) -> None:
    folder = write_case(tmp_path / "c", good_metrics(), INCIDENT)
    (folder / "graph.csv").write_text(graph, encoding="utf-8")
    with pytest.raises(CaseFileError, match=r"graph\.csv"):
        load_case(folder)
