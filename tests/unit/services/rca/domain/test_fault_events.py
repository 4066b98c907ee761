"""Fault-event counters point at their own entity; sparse columns are smoothed at their own rate."""

from __future__ import annotations

import numpy as np

from services.rca.domain import Case, MetricFrame, RcaConfig, rank_causes
from services.rca.domain.metric_score import score_column
from services.rca.domain.signals import MetricKind, is_fault_event

T0 = 1_700_000_000.0
STEP = 60.0
TS = T0 + STEP * np.arange(-30, 6)
DURING = TS >= T0


def _counts(rng: np.random.Generator, before: float, after: float) -> np.ndarray:
    return rng.poisson(np.where(DURING, after, before)).astype(float)


def test_fault_event_names() -> None:
    assert is_fault_event("tcp_retransmits")
    assert is_fault_event("container_network_receive_packets_dropped_total")
    assert not is_fault_event("errors_total")
    assert not is_fault_event("net_bytes_in")


def test_retransmitting_service_ranks_above_the_callers_it_fails() -> None:
    # Packet loss at `db`: only its retransmission counter moves; `api` and `web`, which call it,
    # see failed calls and waits that look far larger.
    rng = np.random.default_rng(7)
    columns = {
        "db|tcp_retransmits": _counts(rng, 2.0, 25.0),
        "db|requests_total": _counts(rng, 3000.0, 3000.0),
        "db|latency_mean": 0.01 * (1 + 0.03 * rng.standard_normal(TS.size)),
        "api|errors_total": _counts(rng, 3.0, 200.0),
        "api|requests_total": _counts(rng, 1000.0, 1000.0),
        "api|latency_mean": 0.05 * (1 + 0.03 * rng.standard_normal(TS.size)) + np.where(DURING, 0.03, 0.0),
        "web|errors_total": _counts(rng, 5.0, 150.0),
        "web|requests_total": _counts(rng, 2000.0, 2000.0),
    }
    case = Case(metrics=MetricFrame.build(TS, columns), anomaly_start=T0, window_end=float(TS[-1]))
    ranked = rank_causes(case, config=RcaConfig())
    assert ranked[0].entity == "db"
    assert "fault events" in next(c.evidence for c in ranked if c.entity == "api")


def test_lone_spike_of_a_sparsely_scraped_column_is_not_a_deviation() -> None:
    # Scraped every fourth row: each sample has gaps on both sides, so the row-grid median keeps it.
    values = np.where(np.arange(TS.size) % 4 == 0, 0.0, np.nan)
    values[32] = 40.0
    result = score_column(
        TS, values, MetricKind.SATURATION, history_end=T0, scan_start=T0, window_end=float(TS[-1]), config=RcaConfig()
    )
    assert result is not None
    assert result.z < RcaConfig().onset_z


def test_a_blip_of_a_fault_event_counter_does_not_claim_the_symptoms() -> None:
    # A defect in `api`; `cache` dropped a few packets in two samples only, which is no fault.
    rng = np.random.default_rng(3)
    dropped = np.zeros(TS.size)
    dropped[30:32] = 3.0
    columns = {
        "api|errors_total": _counts(rng, 3.0, 200.0),
        "api|requests_total": _counts(rng, 1000.0, 1000.0),
        "cache|packets_dropped_total": dropped,
        "cache|requests_total": _counts(rng, 500.0, 500.0),
    }
    case = Case(metrics=MetricFrame.build(TS, columns), anomaly_start=T0, window_end=float(TS[-1]))
    assert rank_causes(case, config=RcaConfig())[0].entity == "api"
