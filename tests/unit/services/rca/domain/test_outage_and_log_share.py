from __future__ import annotations

import numpy as np

from services.rca.domain import Case, LogLine, MetricFrame, Topology, rank_causes
from services.rca.domain.log_evidence import find_log_evidence
from services.rca.domain.outage import find_outages

T0 = 1_700_000_000.0
STEP = 10.0


def timeline(history: int = 60, incident: int = 20) -> np.ndarray:
    return T0 + STEP * np.arange(-history, incident)


def noisy(rng: np.random.Generator, ts: np.ndarray, level: float) -> np.ndarray:
    return level * (1.0 + 0.05 * rng.standard_normal(ts.size))


def pod_failure(rng: np.random.Generator, ts: np.ndarray, *, zeros: bool) -> dict[str, np.ndarray]:
    """`cart` stops (series missing or at zero) while its callers `web` and `checkout` fail loudly."""
    down = (ts >= T0) & (ts < T0 + 120)
    cols: dict[str, np.ndarray] = {}
    for name in ("web", "checkout", "cart"):
        cols[f"{name}|cpu"] = noisy(rng, ts, 0.3)
        cols[f"{name}|mem"] = noisy(rng, ts, 400.0)
        cols[f"{name}|latency"] = noisy(rng, ts, 20.0)
        cols[f"{name}|errors"] = rng.poisson(1.0, ts.size).astype(float)
    for metric in ("cpu", "mem", "latency"):
        cols[f"cart|{metric}"][down] = 0.0 if zeros and metric != "latency" else np.nan
    cols["cart|errors"][down] = np.nan
    cols["web|errors"][ts >= T0] += 400.0
    cols["checkout|errors"][ts >= T0] += 250.0
    return cols


def test_an_entity_whose_series_stop_together_is_an_outage() -> None:
    rng = np.random.default_rng(1)
    ts = timeline()
    for zeros in (False, True):
        cols = {k: v for k, v in pod_failure(rng, ts, zeros=zeros).items()}
        found = find_outages(cols, ts, history_end=T0, scan_start=T0, window_end=float(ts[-1]))
        assert set(found) == {"cart"}
        assert found["cart"].share >= 0.5
        assert found["cart"].onset == T0


def test_many_entities_stopping_at_once_is_no_outage() -> None:
    rng = np.random.default_rng(2)
    ts = timeline()
    cols = {f"svc{i}|{m}": noisy(rng, ts, 5.0) for i in range(4) for m in ("a", "b")}
    for values in cols.values():
        values[ts >= T0] = np.nan
    assert find_outages(cols, ts, history_end=T0, scan_start=T0, window_end=float(ts[-1])) == {}


def test_a_stopped_pod_is_ranked_above_the_callers_it_fails() -> None:
    rng = np.random.default_rng(3)
    ts = timeline()
    case = Case(MetricFrame.build(ts, pod_failure(rng, ts, zeros=False)), T0, float(ts[-1]))
    ranking = rank_causes(case)
    assert ranking[0].entity == "cart"
    assert "stopped" in ranking[0].evidence
    assert "which stopped" in next(c.evidence for c in ranking if c.entity == "web")


def test_a_stop_after_an_earlier_failure_elsewhere_is_its_effect() -> None:
    rng = np.random.default_rng(4)
    ts = timeline(incident=60)
    cols = pod_failure(rng, ts, zeros=False)
    # `web` failed five minutes before `cart` went idle: `cart` stopped because nothing called it.
    idle = ts >= T0 + 300
    for metric, level in (("cpu", 0.3), ("mem", 400.0), ("latency", 20.0)):
        cols[f"cart|{metric}"] = np.where(idle, np.nan, noisy(rng, ts, level))
    cols["cart|errors"] = np.where(idle, np.nan, rng.poisson(1.0, ts.size).astype(float))
    # Milder failures than the pod failure's, so that only their timing keeps `cart` from the top.
    cols["web|errors"] = rng.poisson(1.0, ts.size) + np.where(ts >= T0, 12.0, 0.0)
    cols["checkout|errors"] = rng.poisson(1.0, ts.size) + np.where(ts >= T0, 8.0, 0.0)
    assert "cart" in find_outages(cols, ts, history_end=T0, scan_start=T0, window_end=float(ts[-1]))
    case = Case(MetricFrame.build(ts, cols), T0, float(ts[-1]))
    assert rank_causes(case)[0].entity != "cart"


def lines(entity: str, template: str, start: float, count: int, span: float) -> list[LogLine]:
    return [LogLine(start + span * i / count, entity, template.format(i)) for i in range(count)]


def test_a_chatty_service_does_not_win_by_volume() -> None:
    logs = lines("chatty", "served request {} ok", T0 - 600, 6000, 600) + lines("quiet", "tick {}", T0 - 600, 60, 600)
    logs += lines("chatty", "served request {} ok", T0, 2000, 200) + lines("quiet", "tick {}", T0, 20, 200)
    logs += lines("chatty", "ERROR cache miss storm for key {}", T0, 40, 200)
    logs += lines("quiet", "ERROR pool exhausted after {} ms", T0, 15, 200)
    found = find_log_evidence(logs, incident_start=T0, window_end=T0 + 200)
    assert found["chatty"].count > found["quiet"].count
    assert found["quiet"].score > found["chatty"].score
    assert 0.0 < found["chatty"].share < found["quiet"].share <= 1.0


def test_a_template_that_changed_on_many_entities_weighs_less_than_a_specific_one() -> None:
    logs: list[LogLine] = []
    for name in ("a", "b", "c", "root"):
        logs += lines(name, "handled {}", T0 - 600, 60, 600) + lines(name, "handled {}", T0, 20, 200)
    for name in ("a", "b", "c"):
        logs += lines(name, "ERROR upstream request {} failed", T0, 10, 200)
    logs += lines("root", "ERROR NullPointerException in handler {}", T0, 10, 200)
    found = find_log_evidence(logs, incident_start=T0, window_end=T0 + 200)
    assert all(found["root"].score > found[n].score for n in ("a", "b", "c"))


def test_a_steady_logger_that_goes_quiet_is_found_and_a_caller_naming_its_callee_points_at_it() -> None:
    logs = lines("db", "query {} done", T0 - 600, 120, 600) + lines("db", "query {} done", T0, 2, 200)
    logs += lines("api", "GET /x {}", T0 - 600, 60, 600) + lines("api", "GET /x {}", T0, 20, 200)
    logs += lines("api", "ERROR call to db failed after {} ms", T0 + 5, 12, 150)
    found = find_log_evidence(logs, incident_start=T0, window_end=T0 + 200, entities=("api", "db"))
    assert found["db"].quiet and found["db"].share > 0.9
    assert found["api"].mentions == ("db",)
    rng = np.random.default_rng(5)
    ts = timeline()
    cols = {"api|errors": np.where(ts >= T0, 30.0, 0.0) + rng.poisson(0.5, ts.size), "db|cpu": noisy(rng, ts, 0.2)}
    case = Case(MetricFrame.build(ts, cols), T0, float(ts[-1]), logs=tuple(logs))
    ranking = rank_causes(case)
    assert ranking[0].entity == "db"
    assert "names db" in ranking[1].evidence


def test_a_given_call_graph_lets_the_callee_explain_its_callers() -> None:
    rng = np.random.default_rng(6)
    ts = timeline()
    slow = np.where(ts >= T0, 0.5, 0.0)
    cols = {
        "front|latency": noisy(rng, ts, 0.05) + slow * 1.2,
        "back|latency": noisy(rng, ts, 0.05) + slow,
    }
    plain = Case(MetricFrame.build(ts, cols), T0, float(ts[-1]))
    graph = Case(plain.metrics, T0, float(ts[-1]), topology=Topology(calls=frozenset({("front", "back")})))
    assert rank_causes(graph)[0].entity == "back"
    explained = next(c for c in rank_causes(graph) if c.entity == "front")
    assert "explained by back" in explained.evidence
    assert "explained by" not in next(c for c in rank_causes(plain) if c.entity == "front").evidence


def test_many_entities_going_quiet_at_once_is_the_collection_stopping() -> None:
    logs: list[LogLine] = []
    for name in ("a", "b", "c", "d"):
        logs += lines(name, "step {} done", T0 - 600, 120, 600) + lines(name, "step {} done", T0, 1, 200)
    found = find_log_evidence(logs, incident_start=T0, window_end=T0 + 200)
    assert not any(f.quiet for f in found.values())
    alone = find_log_evidence([x for x in logs if x.entity in ("a", "b")], incident_start=T0, window_end=T0 + 200)
    assert all(f.quiet for f in alone.values())
