from __future__ import annotations

import math
from pathlib import Path

import pytest

from services.rca.analyze import analyse, incident_anomaly_since
from services.rca.casefile import read_graph
from services.rca.gather import build_case, grid_step, incident_window, log_lines_of, to_frame
from services.rca.store import PRUNE_EVERY_SHARE, WindowStore, entity_of
from shared import models as m
from tests.unit.services.rca.scenario import FAULT_AT, T0, anomaly_event, at, incident, metric_events


def loaded(fault: str, *extra: object) -> WindowStore:
    store = WindowStore(retention_s=3600.0, max_points=1000)
    for e in [*metric_events(fault), *extra]:
        store.add(e)  # type: ignore[arg-type]
    return store


def test_entity_naming() -> None:
    assert entity_of("demo", "host-1", "process.cpu_percent") == "demo"
    assert entity_of("demo", "host-1", "http.error_rate") == "demo"
    assert entity_of("host:host-1", "host-1", "host.cpu_percent") == "host-1"
    assert entity_of("host:host-1", "", "host.cpu_percent") == "host-1"


def test_store_is_bounded_and_ordered() -> None:
    store = WindowStore(retention_s=100.0, max_points=30)
    events = metric_events(until=400.0)
    for e in events + events[:10]:  # a replay overlapping live data
        store.add(e)
    points = store.series[("demo", "process.cpu_percent")]
    assert len(points) <= 30
    ts = [t for t, _ in points]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    assert ts[0] >= store.latest - 100.0 * (1 + PRUNE_EVERY_SHARE)


def test_window_names_columns_by_entity_and_metric() -> None:
    window = loaded("cpu-hog").window(T0.timestamp(), T0.timestamp() + 400)
    assert "demo|process.cpu_percent" in window and "host-1|host.cpu_percent" in window


def test_grid_puts_offset_scrapes_on_one_axis() -> None:
    series = {"a|x": [(0.0, 1.0), (2.0, 2.0), (4.0, 3.0)], "b|y": [(0.7, 5.0), (2.7, 6.0), (4.7, 7.0)]}
    assert grid_step(series) == 2.0
    frame = to_frame(series, 0.0, 5.0)
    assert list(frame.columns["a|x"]) == [1.0, 2.0, 3.0]
    assert list(frame.columns["b|y"]) == [5.0, 6.0, 7.0]
    gappy = to_frame({"a|x": [(0.0, 1.0), (2.0, 2.0), (4.0, 3.0), (8.0, 5.0)]}, 0.0, 9.0)
    assert math.isnan(gappy.columns["a|x"][3]) and gappy.columns["a|x"][4] == 5.0


def test_window_uses_lookback_before_the_earliest_anomaly() -> None:
    w = incident_window(opened_at=1000.0, anomaly_since=[990.0, 1200.0], end=1500.0, lookback_s=60.0)
    assert (w.start, w.anomaly_start, w.end) == (930.0, 990.0, 1500.0)


def test_case_has_hints_and_log_lines_from_log_pattern_anomalies() -> None:
    log_anomaly = anomaly_event(
        "log:tpl-7", kind=m.AnomalyKind.LOG_PATTERN,
        samples=("ERROR Traceback: ValueError boom in handler 42", "ERROR Traceback: ValueError boom in handler 43"),
    )  # fmt: skip
    store = loaded("error-burst", log_anomaly)
    window = incident_window(opened_at=at(FAULT_AT + 6).timestamp(), anomaly_since=[], end=at(400).timestamp(),
                             lookback_s=300.0)  # fmt: skip
    case = build_case(store, window)
    assert [h.signal for h in case.hints] == ["log:tpl-7"]
    assert {line.entity for line in case.logs} == {"demo"} and len(case.logs) == 2


@pytest.mark.parametrize(
    ("fault", "anomalies", "entity", "signal"),
    [
        ("cpu-hog", ("process.cpu_percent",), "demo", "process.cpu_percent"),
        ("slow", ("http.latency_p95_ms",), "demo", "http.latency_p95_ms"),
        ("crash", ("process.up",), "demo", "process.up"),
    ],
)
def test_ranking_names_the_faulty_service_and_signal(
    fault: str, anomalies: tuple[str, ...], entity: str, signal: str
) -> None:
    events = [anomaly_event(s) for s in anomalies]
    store = loaded(fault, *events)
    inc = incident(tuple(e.data.anomaly_id for e in events))
    result = analyse(store, inc, end=at(400).timestamp(), lookback_s=300.0, top=5,
                     anomaly_since=incident_anomaly_since(store, inc))  # fmt: skip
    assert result.ranking, "no candidates"
    assert (result.ranking[0].entity, result.ranking[0].signal) == (entity, signal)
    assert len(result.ranking) <= 5


def test_error_burst_names_the_error_log_template() -> None:
    samples = tuple(f"ERROR Unhandled exception in GET /api/items id={i}: RuntimeError injected" for i in range(5))
    log_anomaly = anomaly_event("log:tpl-9", kind=m.AnomalyKind.LOG_PATTERN, samples=samples)
    store = loaded("error-burst", log_anomaly, anomaly_event("http.error_rate"))
    inc = incident(("an-demo-log:tpl-9", "an-demo-http.error_rate"))
    result = analyse(store, inc, end=at(400).timestamp(), lookback_s=300.0, top=5,
                     anomaly_since=incident_anomaly_since(store, inc))  # fmt: skip
    top = result.ranking[0]
    assert top.entity == "demo"
    assert "Unhandled exception" in top.signal or "Unhandled exception" in top.evidence


def test_log_pattern_template_label_stands_for_its_lines() -> None:
    a = anomaly_event("log:tpl-3", kind=m.AnomalyKind.LOG_PATTERN, samples=("ERROR boom\nTraceback ...",))
    data = a.data.model_copy(update={"labels": {"template": "ERROR boom <*>", "count": "500"}})
    store = WindowStore()
    store.add_anomaly(data)
    lines = log_lines_of(store.anomalies.values())
    assert len(lines) == 50 and {line.message for line in lines} == {"ERROR boom <*>"}
    assert lines[0].ts == data.since.timestamp() and lines[-1].ts < data.last_seen.timestamp()


def test_binning_keeps_a_one_scrape_dip() -> None:
    points = [(float(t), 1.0) for t in range(0, 20, 2)] + [(20.0, 1.0), (21.0, 0.0), (22.0, 1.0), (23.0, 1.0)]
    frame = to_frame({"demo|process.up": points, "h|x": [(float(t), 5.0) for t in range(0, 24, 2)]}, 0.0, 23.0)
    assert 0.0 in list(frame.columns["demo|process.up"])


def test_a_configured_call_graph_reaches_the_engine(tmp_path: Path) -> None:
    (tmp_path / "graph.csv").write_text("caller,callee\ngateway,demo\n", encoding="utf-8")
    topology = read_graph(tmp_path / "graph.csv")
    store = loaded("slow")
    window = incident_window(opened_at=at(FAULT_AT + 6).timestamp(), anomaly_since=[], end=at(400).timestamp(),
                             lookback_s=300.0)  # fmt: skip
    case = build_case(store, window, topology=topology)
    assert case.topology is not None and ("gateway", "demo") in case.topology.calls
    assert build_case(store, window).topology is None
