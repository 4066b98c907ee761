from __future__ import annotations

from services.detector.domain.anomaly import Score, explain, format_value


def score(observed: float, expected: float, direction: str, **kw) -> Score:
    base = dict(
        ts=0.0,
        observed=observed,
        score=0.9 if direction != "none" else 0.0,
        direction=direction,
        expected=expected,
        lower=expected * 0.8,
        upper=expected * 1.2,
        warming_up=False,
    )
    base.update(kw)
    return Score(**base)


def test_ratio_sentence_for_this_hour():
    text = explain(score(840, 200, "up", seasonal=True), metric="p95 latency", unit="ms")
    assert text == "p95 latency 840 ms, 4.2× its usual 200 ms for this hour"


def test_drop_sentence():
    text = explain(score(20, 100, "down", feature="level"), metric="throughput", unit="req/s")
    assert text == "throughput 20 req/s, 80% below its usual 100 req/s; its level has shifted"


def test_small_difference_gives_band():
    text = explain(score(130, 100, "up"), metric="cpu", unit="%")
    assert text == "cpu 130%, 30% above its usual 100% (usual range 80%–120%)"


def test_normal_and_warming_up():
    assert "within its usual range" in explain(score(100, 100, "none"), metric="cpu")
    assert "still learning" in explain(score(100, 100, "none", warming_up=True), metric="cpu")


def test_format_value():
    assert format_value(1234567.0, "B") == "1,234,567 B"
    assert format_value(0.000123) == "0.000123"
    assert format_value(float("nan")) == "nan"


def test_shift_sentence():
    text = explain(score(130, 100, "up", feature="shift"), metric="cpu", unit="%")
    assert text.endswith("; it has stepped away from its recent baseline")
