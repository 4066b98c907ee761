from __future__ import annotations

import itertools
import math

import numpy as np

from services.rca.domain import (
    AnomalyHint,
    Case,
    LogLine,
    MetricFrame,
    RcaConfig,
    Topology,
    rank_causes,
)

T0 = 1_700_000_000.0
STEP = 10.0
HISTORY = 60  # rows before the anomaly start
INCIDENT = 30  # rows from the anomaly start on


def timeline(history: int = HISTORY, incident: int = INCIDENT, step: float = STEP) -> np.ndarray:
    return T0 + step * np.arange(-history, incident)


def noisy(rng: np.random.Generator, ts: np.ndarray, level: float, rel_noise: float = 0.05) -> np.ndarray:
    return level * (1.0 + rel_noise * rng.standard_normal(ts.size))


def shifted(series: np.ndarray, ts: np.ndarray, start: float, add: float) -> np.ndarray:
    out = series.copy()
    out[ts >= start] += add
    return out


def make_case(columns: dict[str, np.ndarray], ts: np.ndarray, **kwargs: object) -> Case:
    frame = MetricFrame.build(ts, columns)
    return Case(metrics=frame, anomaly_start=T0, window_end=float(ts[-1]), **kwargs)  # type: ignore[arg-type]


def top(case: Case, **kwargs: object) -> str:
    ranking = rank_causes(case, **kwargs)  # type: ignore[arg-type]
    return ranking[0].entity


def chain_columns(rng: np.random.Generator, ts: np.ndarray, start: float, delay: float) -> dict[str, np.ndarray]:
    """frontend -> api -> db; db gets `delay` seconds slower, callers inherit the same absolute rise."""
    db = shifted(noisy(rng, ts, 0.010), ts, start, delay)
    api = shifted(noisy(rng, ts, 0.050), ts, start + STEP, delay)
    front = shifted(noisy(rng, ts, 0.120), ts, start + STEP, delay)
    return {
        "frontend|latency_p95": front,
        "frontend|requests_count": noisy(rng, ts, 500.0),
        "api|latency_p95": api,
        "api|requests_count": noisy(rng, ts, 400.0),
        "db|latency_p95": db,
        "db|requests_count": noisy(rng, ts, 800.0),
        "cache|latency_p95": noisy(rng, ts, 0.002),
    }


def test_culprit_ranked_first_in_simple_case() -> None:
    rng = np.random.default_rng(1)
    ts = timeline()
    ranking = rank_causes(make_case(chain_columns(rng, ts, T0, 0.2), ts))
    assert ranking[0].entity == "db"
    assert ranking[0].signal == "latency_p95"
    assert "latency_p95 rose" in ranking[0].evidence
    assert len({c.entity for c in ranking}) == len(ranking)
    assert all(a.score >= b.score for a, b in itertools.pairwise(ranking))
    assert all(math.isfinite(c.score) for c in ranking)


def test_callee_wins_when_fault_shows_loudest_on_its_caller() -> None:
    rng = np.random.default_rng(2)
    ts = timeline()
    # The caller is very steady, so its (inherited) rise has the larger z-score; the callee is noisy.
    callee = shifted(noisy(rng, ts, 0.30, rel_noise=0.2), ts, T0, 0.3)
    caller = shifted(noisy(rng, ts, 0.60, rel_noise=0.01), ts, T0, 0.3)
    cols = {"checkout|latency_p95": caller, "payment|latency_p95": callee}
    topology = Topology(calls=frozenset({("checkout", "payment")}))
    ranking = rank_causes(make_case(cols, ts, topology=topology))
    assert ranking[0].entity == "payment"
    assert "explained by payment" in ranking[1].evidence


def test_network_delay_and_loss_on_one_service() -> None:
    rng = np.random.default_rng(3)
    ts = timeline()
    cols = chain_columns(rng, ts, T0 + 1000, 0.0)  # no chain fault
    cols["cart|latency_p50"] = shifted(noisy(rng, ts, 0.020), ts, T0, 0.100)
    cols["cart|error_rate"] = shifted(np.zeros(ts.size), ts, T0, 0.04)
    cols["frontend|latency_p95"] = shifted(cols["frontend|latency_p95"], ts, T0 + STEP, 0.03)
    cols["frontend|error_rate"] = shifted(np.zeros(ts.size), ts, T0 + STEP, 0.01)
    assert top(make_case(cols, ts)) == "cart"


def test_noisy_metrics_with_lone_spikes_do_not_beat_a_sustained_shift() -> None:
    rng = np.random.default_rng(4)
    ts = timeline()
    cols: dict[str, np.ndarray] = {}
    for i in range(20):
        series = noisy(rng, ts, 0.05, rel_noise=0.1)
        series[HISTORY + 3 + i % 10] *= 40.0  # one huge spike during the incident
        cols[f"svc{i}|latency_p99"] = series
    cols["orders|latency_p99"] = shifted(noisy(rng, ts, 0.05, rel_noise=0.1), ts, T0, 0.10)
    assert top(make_case(cols, ts)) == "orders"


def test_anomaly_start_given_a_minute_late() -> None:
    rng = np.random.default_rng(5)
    ts = timeline()
    cols = chain_columns(rng, ts, T0 - 60.0, 0.2)
    case = make_case(cols, ts)
    ranking = rank_causes(case)
    assert ranking[0].entity == "db"
    assert ranking[0].first_deviation is not None
    assert ranking[0].first_deviation <= T0 - 50.0


def test_missing_metrics_and_gaps() -> None:
    rng = np.random.default_rng(6)
    ts = timeline()
    cols = chain_columns(rng, ts, T0, 0.2)
    for name in list(cols):
        holes = rng.random(ts.size) < 0.2
        cols[name] = np.where(holes, np.nan, cols[name])
    cols["ghost|latency_p95"] = np.full(ts.size, np.nan)
    cols["late|latency_p95"] = np.where(ts < T0, noisy(rng, ts, 0.1), np.nan)
    ranking = rank_causes(make_case(cols, ts))
    assert ranking[0].entity == "db"
    assert all(math.isfinite(c.score) for c in ranking)


def test_hundreds_of_series() -> None:
    rng = np.random.default_rng(7)
    ts = timeline(history=300, incident=150, step=1.0)
    base = rng.uniform(0.01, 1.0, size=(300, 1))
    noise = 1.0 + 0.05 * rng.standard_normal((300, ts.size))
    values = base * noise
    cols: dict[str, np.ndarray] = {}
    for i in range(300):
        cols[f"pod-{i}|cpu_usage"] = values[i]
        cols[f"pod-{i}|latency_p90"] = values[(i + 1) % 300] * 0.1
        cols[f"pod-{i}|requests_total"] = values[(i + 2) % 300] * 100
    cols["pod-137|cpu_usage"] = shifted(cols["pod-137|cpu_usage"], ts, T0, 5.0 * float(base[137, 0]))
    ranking = rank_causes(make_case(cols, ts), config=RcaConfig(max_candidates=10))
    assert len(ranking) == 10
    assert ranking[0].entity == "pod-137"


def test_log_evidence_breaks_a_metric_tie() -> None:
    rng = np.random.default_rng(8)
    ts = timeline()
    same = shifted(noisy(rng, ts, 0.1), ts, T0, 0.2)
    cols = {"alpha|latency_p95": same.copy(), "beta|latency_p95": same.copy()}
    logs = [LogLine(T0 - 300 + i, "beta", f"GET /items/{i} 200 in {i % 7} ms") for i in range(50)]
    logs += [LogLine(T0 - 300 + i, "alpha", f"GET /items/{i} 200 in {i % 7} ms") for i in range(50)]
    logs += [LogLine(T0 + 5 + i, "beta", f"ERROR DB pool exhausted after {100 + i} ms") for i in range(12)]
    ranking = rank_causes(make_case(cols, ts, logs=tuple(logs)))
    assert ranking[0].entity == "beta"
    assert "DB pool exhausted" in ranking[0].evidence


def test_a_new_error_template_names_the_signal_over_the_error_rate_it_explains() -> None:
    ts = timeline()
    cols = {"api|http.error_rate": np.where(ts >= T0, 1.0, 0.0), "api|latency_p95": np.full(ts.size, 0.05)}
    logs = tuple(LogLine(T0 + i, "api", f"ERROR payment backend unavailable for order {i}") for i in range(3))
    best = rank_causes(make_case(cols, ts, logs=logs))[0]
    assert best.entity == "api" and best.signal.startswith("log:") and "payment backend" in best.signal
    assert "http.error_rate" in best.evidence
    without_logs = rank_causes(make_case(cols, ts))[0]
    assert without_logs.signal == "http.error_rate"


def test_log_only_entity_and_detector_hint_are_ranked() -> None:
    rng = np.random.default_rng(9)
    ts = timeline()
    cols = {"web|latency_p95": noisy(rng, ts, 0.1)}
    logs = (LogLine(T0 + 3, "worker", "FATAL out of memory: killed process 4242"),)
    hints = (AnomalyHint(T0 + 20, "queue", "depth", 50.0),)
    names = [c.entity for c in rank_causes(make_case(cols, ts, logs=logs, hints=hints))]
    assert "worker" in names
    assert "queue" in names


def test_availability_drop_points_at_the_failing_service() -> None:
    rng = np.random.default_rng(10)
    ts = timeline()
    cols = {
        "site|availability": np.where(ts >= T0, 97.0, 100.0),
        "site|latency_p50": noisy(rng, ts, 0.1),
        "pay|availability": np.where(ts >= T0, 85.0, 100.0),
        "pay|latency_p50": noisy(rng, ts, 0.2),
        "search|latency_p99": noisy(rng, ts, 0.05, rel_noise=0.3),
    }
    ranking = rank_causes(make_case(cols, ts))
    assert ranking[0].entity == "pay"
    assert "availability fell" in ranking[0].evidence


def test_clear_lead_is_reported_and_rewarded() -> None:
    rng = np.random.default_rng(11)
    ts = timeline()
    cols = {
        "auth|latency_p95": shifted(noisy(rng, ts, 0.05), ts, T0 - 40.0, 0.2),
        "gateway|latency_p95": shifted(noisy(rng, ts, 0.05), ts, T0 + 40.0, 0.21),
    }
    ranking = rank_causes(make_case(cols, ts))
    assert ranking[0].entity == "auth"
    assert "80 s before any other entity" in ranking[0].evidence
    # The slightly larger but later rise would win on magnitude alone (the depth cover, which also
    # puts the later rise behind the earlier one here, off).
    without = rank_causes(make_case(cols, ts), config=RcaConfig(earliness_weight=0.0, rise_cover_share=0.0))
    assert without[0].entity == "gateway"


def test_bursty_history_is_not_mistaken_for_a_fault() -> None:
    # gc pauses burst for 3 samples every 50 in the history; one more burst during the incident is
    # business as usual, while a modest sustained cpu step on api is new.
    rng = np.random.default_rng(12)
    ts = timeline(history=400, incident=100, step=1.0)
    pauses = noisy(rng, ts, 0.01, rel_noise=0.1)
    for start in range(20, ts.size, 50):
        pauses[start : start + 3] += 0.02
    cols = {
        "jvm|gc_pause_time": pauses,
        "api|cpu_usage": shifted(noisy(rng, ts, 0.3, rel_noise=0.05), ts, T0, 0.06),
    }
    assert top(make_case(cols, ts)) == "api"
    assert top(make_case(cols, ts), config=RcaConfig(excursion_sigmas=1e9)) == "jvm"


def test_symptom_predicted_by_another_entity_ranks_below_the_cause() -> None:
    # Linear chain cause -> symptom learnt from a long history: during the incident the cause gets an
    # extra shift and the symptom follows it exactly as before (a larger, but explained, deviation).
    rng = np.random.default_rng(13)
    ts = timeline(history=2000, incident=500, step=1.0)
    cause = rng.standard_normal(ts.size)
    cause[ts >= T0] += 6.0
    symptom = 3.0 * cause + 0.5 * rng.standard_normal(ts.size)
    other = rng.standard_normal(ts.size)
    cols = {"upstream|value": symptom, "root|value": cause, "bystander|value": other}
    ranking = rank_causes(make_case(cols, ts))
    assert ranking[0].entity == "root"
    plain = rank_causes(make_case(cols, ts), config=RcaConfig(explained_floor=1.0))
    assert plain[0].entity == "upstream"


def test_error_counts_rank_by_size_not_just_by_novelty() -> None:
    rng = np.random.default_rng(14)
    ts = timeline()
    cols = {
        "frontend|errors_total": np.where(ts >= T0, rng.poisson(20, ts.size), 0).astype(float),
        "orders|errors_total": np.where(ts >= T0, rng.poisson(300, ts.size), 0).astype(float),
        "frontend|latency_p95": noisy(rng, ts, 0.1),
        "orders|latency_p95": noisy(rng, ts, 0.05),
    }
    ranking = rank_causes(make_case(cols, ts))
    assert [c.entity for c in ranking[:2]] == ["orders", "frontend"]
    assert ranking[0].score > ranking[1].score + 1.0


def test_a_process_that_exits_in_the_last_sample_is_named() -> None:
    """Recovery starts right after a crash, so the window holds one 'down' sample: it must count."""
    rng = np.random.default_rng(7)
    ts = timeline(history=120, incident=2, step=2.0)
    up = np.ones(ts.size)
    up[-1] = 0.0
    cpu = noisy(rng, ts, 2.0, 0.3)
    cpu[-1] = np.nan  # a dead process reports no CPU
    columns = {
        "host|net_sent_bytes_per_s": shifted(noisy(rng, ts, 1.2e5, 0.05), ts, T0, 4e4),
        "host|cpu_percent": noisy(rng, ts, 20.0, 0.1),
        "demo|process.up": up,
        "demo|process.cpu_percent": cpu,
    }
    best = rank_causes(make_case(columns, ts))[0]
    assert (best.entity, best.signal) == ("demo", "process.up"), best


def test_a_lone_failed_reading_of_a_measured_share_is_still_smoothed() -> None:
    """Only two-valued indicators skip smoothing; one dip of an availability percentage is noise."""
    rng = np.random.default_rng(8)
    ts = timeline()
    availability = np.clip(noisy(rng, ts, 99.5, 0.001), 0, 100)
    availability[HISTORY + 5] = 60.0
    columns = {"web|availability": availability, "db|latency_p95": shifted(noisy(rng, ts, 0.01), ts, T0, 0.05)}
    assert top(make_case(columns, ts)) == "db"
