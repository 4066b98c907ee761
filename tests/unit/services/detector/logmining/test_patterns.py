from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.detector.domain.logmining import (
    FindingKind,
    LogFinding,
    NewTemplate,
    PatternAnalyzer,
    PatternConfig,
    RateSpike,
    TemplatedRecord,
    TemplateVanished,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CFG = PatternConfig(bucket_seconds=60, learning_seconds=600, new_template_seconds=300)


def rec(at: float, tid: str = "t1", level: str = "INFO", msg: str = "", service: str = "api") -> TemplatedRecord:
    return TemplatedRecord(T0 + timedelta(seconds=at), level, service, tid, f"template {tid}", msg or f"{tid} at {at}")


def feed(analyzer: PatternAnalyzer, records: list[TemplatedRecord]) -> list[LogFinding]:
    out: list[LogFinding] = []
    for r in records:
        out.extend(analyzer.tick(r.timestamp))
        out.extend(analyzer.observe(r))
    return out


def steady(minutes: int, tid: str = "t1", level: str = "ERROR", per_minute: int = 2) -> list[TemplatedRecord]:
    return [rec(m * 60 + k * 5, tid, level) for m in range(minutes) for k in range(per_minute)]


def latest(findings: list[LogFinding]) -> dict[str, LogFinding]:
    return {f.finding_id: f for f in findings}


def test_templates_seen_while_learning_are_not_new() -> None:
    found = feed(PatternAnalyzer(CFG), steady(5, "t1") + steady(5, "t2"))
    assert not [f for f in found if isinstance(f, NewTemplate)]


def test_new_template_after_learning_is_one_growing_finding() -> None:
    analyzer = PatternAnalyzer(CFG)
    records = steady(15, "base", "INFO") + [rec(900 + i, "fresh", "ERROR", f"boom {i}") for i in range(40)]
    found = feed(analyzer, sorted(records, key=lambda r: r.timestamp))
    new = [f for f in found if isinstance(f, NewTemplate)]
    assert {f.template_id for f in new} == {"fresh"}
    assert len({f.finding_id for f in new}) == 1
    assert len(new) <= 7  # opened, then re-emitted only when the count doubles
    assert new[-1].count == 32
    assert not any(isinstance(f, RateSpike) for f in found)  # the burst is reported once, as new

    closed = [f for f in analyzer.tick(T0 + timedelta(seconds=900 + 400)) if isinstance(f, NewTemplate)]
    assert [(f.finding_id, f.is_open, f.count) for f in closed] == [(new[0].finding_id, False, 40)]
    assert closed[0].samples == ("boom 0", "boom 1", "boom 2", "boom 3", "boom 4")
    assert closed[0].window_end == T0 + timedelta(seconds=939)


def test_error_burst_is_one_rate_spike_with_window_and_counts() -> None:
    analyzer = PatternAnalyzer(CFG)
    burst = [rec(1200 + i * 0.5, "t1", "ERROR", f"timeout {i}") for i in range(200)]
    records = sorted(
        steady(20) + burst + [rec(1500 + m * 60, "t1", "ERROR") for m in range(3)], key=lambda r: r.timestamp
    )
    found = feed(analyzer, records)
    spikes = [f for f in found if isinstance(f, RateSpike)]
    assert len({f.finding_id for f in spikes}) == 1
    assert len(spikes) <= 10
    final = spikes[-1]
    assert not final.is_open
    assert final.count >= 200
    assert final.baseline_per_bucket < 3
    assert final.peak_per_bucket >= 100
    assert final.window_start == T0 + timedelta(seconds=1200)
    assert final.window_end >= T0 + timedelta(seconds=1299)
    assert len(final.samples) == 5


def test_info_bursts_are_not_spikes() -> None:
    burst = [rec(1200 + i * 0.5, "t1", "INFO") for i in range(200)]
    found = feed(PatternAnalyzer(CFG), sorted(steady(20, level="INFO") + burst, key=lambda r: r.timestamp))
    assert not [f for f in found if f.kind is FindingKind.RATE_SPIKE]


def test_regular_template_that_stops_vanishes_once_and_closes_on_return() -> None:
    analyzer = PatternAnalyzer(CFG)
    found = feed(analyzer, sorted(steady(20, "t1", "INFO") + steady(50, "other", "INFO"), key=lambda r: r.timestamp))
    gone = [f for f in found if isinstance(f, TemplateVanished)]
    assert len(gone) == 1
    assert gone[0].template_id == "t1"
    assert gone[0].window_start == T0 + timedelta(seconds=19 * 60 + 5)
    assert gone[0].is_open

    back = analyzer.observe(rec(50 * 60, "t1", "INFO"))
    assert [(f.kind, f.is_open) for f in back] == [(FindingKind.TEMPLATE_VANISHED, False)]


def test_irregular_template_does_not_vanish() -> None:
    sparse = [rec(m * 60, "rare", "INFO") for m in range(0, 40, 7)]
    found = feed(PatternAnalyzer(CFG), sorted(sparse + steady(60, "other", "INFO"), key=lambda r: r.timestamp))
    assert not [f for f in found if f.kind is FindingKind.TEMPLATE_VANISHED and f.template_id == "rare"]


def test_findings_are_keyed_by_service() -> None:
    records = [*steady(15, "base", "INFO"), rec(900, "x", service="api"), rec(901, "x", service="db")]
    found = latest(feed(PatternAnalyzer(CFG), records))
    assert sorted(f.service for f in found.values() if f.kind is FindingKind.NEW_TEMPLATE) == ["api", "db"]
