"""Threshold rules: sustain, hysteresis, target down, missing samples, impact steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.detector.domain.rules import DEFAULT_RULES, DEMO_RULES, ImpactStep, Op, RuleState, ThresholdRule, evaluate
from shared.models import AnomalyKind, Impact

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GAP = timedelta(seconds=15)
CPU = ThresholdRule(
    name="cpu", metric="host.cpu_percent", value=90, clear_value=80, sustain_s=10, clear_s=10,
    sustain_samples=2, impact=Impact.RESOURCE_PRESSURE,
)  # fmt: skip


def run(rule: ThresholdRule, series: list[tuple[float, float | None]], state: RuleState | None = None) -> list[bool]:
    """Feed (seconds, value) samples; return whether the rule is active after each."""
    state = state or RuleState()
    out = []
    for t, value in series:
        state = evaluate(rule, state, value, now=T0 + timedelta(seconds=t), max_gap=GAP)
        out.append(state.active)
    return out


def test_fires_only_after_the_sustain_duration() -> None:
    assert run(CPU, [(0, 95), (5, 96), (10, 97), (15, 97)]) == [False, False, True, True]


def test_a_dip_restarts_the_sustain() -> None:
    assert run(CPU, [(0, 95), (5, 50), (10, 95), (15, 95), (20, 95)]) == [False, False, False, False, True]


def test_hysteresis_keeps_it_active_inside_the_band_and_clears_after_clear_duration() -> None:
    series = [(0, 95), (10, 95), (15, 85), (20, 85), (25, 70), (30, 70), (35, 70)]
    assert run(CPU, series) == [False, True, True, True, True, True, False]


def test_a_relapse_during_clearing_restarts_the_clear_duration() -> None:
    series = [(0, 95), (10, 95), (15, 70), (20, 95), (25, 70), (30, 70), (35, 70)]
    assert run(CPU, series) == [False, True, True, True, True, True, False]


def test_missing_samples_neither_fire_nor_clear() -> None:
    assert run(CPU, [(0, 95), (5, None), (10, 95), (15, None), (20, None)]) == [False, False, True, True, True]


def test_a_gap_longer_than_max_gap_restarts_a_pending_sustain() -> None:
    assert run(CPU, [(0, 95), (30, 95), (35, 95), (40, 95)]) == [False, False, False, True]


def test_sustain_samples_is_required_even_with_zero_duration() -> None:
    rule = CPU.model_copy(update={"sustain_s": 0.0, "sustain_samples": 3})
    assert run(rule, [(0, 95), (1, 95), (2, 95)]) == [False, False, True]


def test_active_since_is_the_start_of_the_breach_and_peak_is_tracked() -> None:
    state = RuleState()
    for t, v in [(0, 91), (5, 99), (10, 93)]:
        state = evaluate(CPU, state, v, now=T0 + timedelta(seconds=t), max_gap=GAP)
    assert state.active and state.active_since == T0 and state.peak == 99


@pytest.mark.parametrize("metric", ["process.up", "http.up"])
def test_target_down_rules_fire_immediately_with_service_down(metric: str) -> None:
    rule = next(r for r in DEFAULT_RULES if r.metric == metric)
    assert rule.kind is AnomalyKind.TARGET_DOWN and rule.impact is Impact.SERVICE_DOWN
    assert run(rule, [(0, 1), (5, 0), (10, 1)]) == [False, True, False]


def test_error_rate_escalates_to_major_function_at_half_the_requests_failing() -> None:
    rule = next(r for r in DEFAULT_RULES if r.metric == "http.error_rate")
    assert rule.impact_of(0.02) is Impact.PARTIAL_OUTAGE
    assert rule.impact_of(0.6) is Impact.MAJOR_FUNCTION


def test_low_side_rules_compare_the_other_way() -> None:
    rule = ThresholdRule(
        name="rps", metric="http.requests_per_s", op=Op.LE, value=1, clear_value=2, impact=Impact.PARTIAL_FUNCTION,
        steps=(ImpactStep(at=0, impact=Impact.MAJOR_FUNCTION),),
    )  # fmt: skip
    assert run(rule, [(0, 5), (1, 0.5), (2, 1.5), (3, 3)]) == [False, True, True, False]
    assert rule.impact_of(0) is Impact.MAJOR_FUNCTION and rule.impact_of(0.5) is Impact.PARTIAL_FUNCTION


def test_defaults_follow_the_manual() -> None:
    limits = {r.metric: r.value for r in DEFAULT_RULES}
    assert limits["host.cpu_percent"] == limits["host.memory_percent"] == limits["host.disk_percent"] == 90
    assert limits["process.cpu_percent"] == 90 and limits["http.error_rate"] == 0.01
    assert {r.name for r in DEMO_RULES} == {r.name for r in DEFAULT_RULES}
    assert all(d.sustain_s <= p.sustain_s for d, p in zip(DEMO_RULES, DEFAULT_RULES, strict=True))


def test_target_glob_selects_targets() -> None:
    rule = CPU.model_copy(update={"targets": "host:*"})
    assert rule.applies_to("host:web-1") and not rule.applies_to("demo")
