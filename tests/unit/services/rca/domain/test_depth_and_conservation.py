"""Depth cues (nested names, usual latency), excess-work conservation and count-aware scoring."""

from __future__ import annotations

import numpy as np
import pytest

from services.rca.domain import Case, MetricFrame, RcaConfig, rank_causes
from services.rca.domain.conservation import apply_covers
from services.rca.domain.depth import depth_order, nests_in
from services.rca.domain.entity_score import EntityScore
from services.rca.domain.impact import ExcessWork, WorkKind, comparable, excess_work, work_kind
from services.rca.domain.signals import MetricKind

T0 = 1_700_000_000.0
STEP = 60.0
HISTORY = 30
INCIDENT = 6
TS = T0 + STEP * np.arange(-HISTORY, INCIDENT)
DURING = TS >= T0


def steady(rng: np.random.Generator, level: float, rel_noise: float = 0.03) -> np.ndarray:
    return level * (1.0 + rel_noise * rng.standard_normal(TS.size))


def rising(rng: np.random.Generator, level: float, add: float, rel_noise: float = 0.03) -> np.ndarray:
    return steady(rng, level, rel_noise) + np.where(DURING, add, 0.0)


def case_of(columns: dict[str, np.ndarray]) -> Case:
    return Case(metrics=MetricFrame.build(TS, columns), anomaly_start=T0, window_end=float(TS[-1]))


def ranked(columns: dict[str, np.ndarray], **config: float) -> list[str]:
    return [c.entity for c in rank_causes(case_of(columns), config=RcaConfig(**config))]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("inner", "outer", "nested"),
    [
        ("fn_AWS::Lambda::Function", "fn_AWS::Lambda", True),
        ("cart-db", "cart", True),
        ("prod/api/pod-1", "prod/api", True),
        ("cart", "cart", False),
        ("cart2", "cart", False),  # a sibling, not a part
        ("cart", "cart-db", False),
        ("cartx-db", "cart", False),
    ],
)
def test_nested_names(inner: str, outer: str, nested: bool) -> None:
    assert nests_in(inner, outer) is nested


def _latency_columns(p50: dict[str, float], mean: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    cols = {f"{e}|latency_p50": np.full(TS.size, v) for e, v in p50.items()}
    cols.update({f"{e}|latency_mean": np.full(TS.size, v) for e, v in (mean or {}).items()})
    return cols


@pytest.mark.parametrize(
    ("p50", "mean", "inner", "outer", "deeper"),
    [
        # A caller waits for its callees: the lower usual latency is the deeper entity.
        ({"api": 0.05, "db": 0.01}, None, "db", "api", True),
        ({"api": 0.05, "db": 0.01}, None, "api", "db", False),
        # A nested part is deeper than its container even when it reports a higher latency ...
        (
            {"fn_AWS::Lambda": 0.05, "fn_AWS::Lambda::Function": 0.08},
            None,
            "fn_AWS::Lambda::Function",
            "fn_AWS::Lambda",
            True,
        ),
        # ... and takes its container's floor against other entities.
        (
            {"gw": 0.06, "fn_AWS::Lambda": 0.05, "fn_AWS::Lambda::Function": 0.08},
            None,
            "fn_AWS::Lambda::Function",
            "gw",
            True,
        ),
        # The median decides over a mean that a slow minority of calls inflates.
        ({"search": 0.004, "table": 0.003}, {"search": 0.006, "table": 0.013}, "table", "search", True),
        # Without a shared latency nothing is known.
        ({"api": 0.05}, None, "worker", "api", False),
        ({"api": 0.05}, None, "api", "worker", False),
    ],
)
def test_depth_order(
    p50: dict[str, float], mean: dict[str, float] | None, inner: str, outer: str, deeper: bool
) -> None:
    cols = _latency_columns(p50, mean)
    cols["worker|cpu_usage"] = np.full(TS.size, 10.0)
    assert depth_order(cols, ~DURING).deeper(inner, outer) is deeper


def _views_of_one_fault(rng: np.random.Generator, *, errors: bool) -> dict[str, np.ndarray]:
    """gateway -> fn_AWS::Lambda -> fn_AWS::Lambda::Function: the same requests seen at three levels.

    As in AWS X-Ray data, the function reports a higher usual latency than the Lambda service node
    in front of it; the fault (a sleep or failures in the function's code) shows identically on all
    three, and relatively most on the Lambda node, whose latency is the lowest.
    """
    requests = rng.poisson(100, TS.size).astype(float)
    cols: dict[str, np.ndarray] = {}
    for name, usual in (("gateway", 0.062), ("fn_AWS::Lambda", 0.050), ("fn_AWS::Lambda::Function", 0.076)):
        cols[f"{name}|requests_Sum"] = requests
        cols[f"{name}|latency_p50"] = rising(rng, usual, 0.0 if errors else 0.3, 0.02)
        cols[f"{name}|latency_Average"] = cols[f"{name}|latency_p50"] * 1.05
        share = np.where(DURING, 75.0, 100.0) if errors else np.full(TS.size, 100.0)
        cols[f"{name}|availability_Average"] = share
    cols["web|latency_p50"] = rising(rng, 0.2, 0.02)
    cols["web|requests_Sum"] = rng.poisson(500, TS.size).astype(float)
    return cols


@pytest.mark.parametrize("errors", [False, True])
def test_the_innermost_view_of_one_fault_is_named(errors: bool) -> None:
    cols = _views_of_one_fault(np.random.default_rng(1 + errors), errors=errors)
    names = ranked(cols)
    assert names[0] == "fn_AWS::Lambda::Function"
    assert set(names[1:3]) == {"fn_AWS::Lambda", "gateway"}
    evidence = rank_causes(case_of(cols))[1].evidence
    assert "a symptom of" in evidence
    # Without the conservation step the relative size decides, and an outer view wins.
    assert ranked(cols, cover_share=1e9, time_cover_share=1e9)[0] != "fn_AWS::Lambda::Function"


def test_a_diluted_caller_does_not_cover_its_callee() -> None:
    # The entry point serves five times the requests, most of them fast and untouched by the fault,
    # so its median is lower than the backend's and its total excess about the same -- but per
    # request it rose five times less: it cannot be what slowed the backend.
    rng = np.random.default_rng(3)
    cols = {
        "entry|latency_p50": steady(rng, 0.05),
        "entry|latency_Average": rising(rng, 0.09, 0.09),
        "entry|requests_Sum": rng.poisson(500, TS.size).astype(float),
        "backend|latency_p50": rising(rng, 0.2, 0.45),
        "backend|latency_Average": rising(rng, 0.21, 0.45),
        "backend|requests_Sum": rng.poisson(100, TS.size).astype(float),
    }
    ranking = rank_causes(case_of(cols))
    assert ranking[0].entity == "backend"
    assert all("a symptom of" not in c.evidence for c in ranking)


def _entity(name: str, score: float) -> EntityScore:
    return EntityScore(name, score, None, ())


@pytest.mark.parametrize(
    ("scores", "covers", "order"),
    [
        # The cover takes the best score of its group; the covered follow right behind it.
        ({"a": 9.0, "b": 5.0, "x": 7.0}, {"a": "b"}, ["b", "a", "x"]),
        # A covered entity that ranked below its cover is never raised past others.
        ({"a": 3.0, "b": 9.0, "x": 7.0}, {"a": "b"}, ["b", "x", "a"]),
        # Chains collapse onto the deepest entity.
        ({"a": 9.0, "b": 8.0, "c": 2.0, "x": 5.0}, {"a": "b", "b": "c"}, ["c", "a", "b", "x"]),
        ({"a": 9.0, "x": 5.0}, {}, ["a", "x"]),
    ],
)
def test_apply_covers(scores: dict[str, float], covers: dict[str, str], order: list[str]) -> None:
    out = apply_covers([_entity(n, s) for n, s in scores.items()], covers)
    assert [e.entity for e in sorted(out, key=lambda e: -e.score)] == order


def test_excess_work_is_net_of_noise_and_knows_its_statistic() -> None:
    wiggle = np.where(np.arange(TS.size) % 2 == 0, 0.11, 0.09)
    cols = {
        "calm|latency_mean": wiggle,
        "calm|requests_total": np.full(TS.size, 100.0),
        "slow|latency_p50": np.where(DURING, 0.3, 0.1),
        "slow|workload": np.full(TS.size, 100.0),
        "net|tcp_retransmits": np.where(DURING, 40.0, 1.0),
        "net|requests_total": np.full(TS.size, 100.0),
        "net|latency_mean": np.full(TS.size, 0.01),
    }
    works = excess_work(cols, TS, history_end=T0, scan_start=T0, window_end=float(TS[-1]))
    assert works["calm"].of(WorkKind.TIME) == pytest.approx(0.0, abs=1.0)
    assert works["slow"].times == {"latency_p50": pytest.approx(0.2 * 100 * INCIDENT)}
    assert works["slow"].requests == pytest.approx(100 * INCIDENT)
    # Retransmitted packets are not failed requests.
    assert works["net"].failures is None
    assert work_kind(MetricKind.ERRORS, "tcp_retransmits") is None
    assert work_kind(MetricKind.ERRORS, "errors_total") == WorkKind.FAILURES
    # Waiting time measured with a mean is not compared with one measured with a median.
    assert comparable(works["calm"], works["slow"], WorkKind.TIME) is None
    both = ExcessWork(None, {"latency_mean": 2.0, "latency_p50": 1.0})
    assert comparable(both, works["slow"], WorkKind.TIME) == (1.0, pytest.approx(120.0))


@pytest.mark.parametrize(
    ("column", "first", "z_shown"),
    [
        # A count of events: a first one after a quiet history is about sqrt(history rows) sigma.
        ("quiet|tcp_retransmits", "api", "robust z 5.4"),
        # A rate that goes from 0 to 1 is every request failing.
        ("quiet|error_rate", "quiet", "robust z > 1000"),
    ],
)
def test_a_first_rare_event_count_does_not_outrank_a_clear_shift(column: str, first: str, z_shown: str) -> None:
    rng = np.random.default_rng(5)
    events = np.zeros(TS.size)
    events[HISTORY + 1 : HISTORY + 4] = 1.0  # three samples in a row
    cols = {
        column: events,
        "api|latency_p95": rising(rng, 0.1, 0.05),
        "api|requests_total": rng.poisson(200, TS.size).astype(float),
    }
    ranking = rank_causes(case_of(cols))
    assert ranking[0].entity == first
    quiet = next(c for c in ranking if c.entity == "quiet")
    assert z_shown in quiet.evidence
