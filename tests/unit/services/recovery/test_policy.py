"""Recovery's rules with time passed in: opting out, rounds and the age limit, baselines, freshness."""

from __future__ import annotations

import pytest

from services.recovery.domain.confirm import LatestScrape
from services.recovery.domain.policy import (
    Skip,
    baseline_before,
    incident_age_s,
    is_manual,
    replaces_latest,
    round_to_run,
    scrape_health,
    verification_for,
)
from services.recovery.domain.rounds import TargetHealth
from services.recovery.domain.verify import HealthPolicy
from shared.models import Incident, IncidentStatus, RecoveryPlan, RecoveryStep, Severity
from tests.factories import T0, at

HEALTH = HealthPolicy(latency_factor=2.0, latency_floor_ms=100.0)
UP = {"process.up": 1.0, "http.up": 1.0}


def incident(*, opened: float = 0.0, labels: dict[str, str] | None = None, anomalies: tuple[str, ...] = ()) -> Incident:
    return Incident(
        incident_id="inc-demo", group_key="demo", target="demo", title="down", severity=Severity.MAJOR,
        severity_reason="r", status=IncidentStatus.TRIGGERED, opened_at=at(opened), labels=labels or {},
        anomaly_ids=anomalies, active_fingerprints=("demo/process.up",) if anomalies else (),
    )  # fmt: skip


def plan(*, round_: int = 0, covers: tuple[str, ...] = ()) -> RecoveryPlan:
    step = RecoveryStep(index=0, action="restart_process", target="demo")
    return RecoveryPlan(
        plan_id=f"rp-{round_}", incident_id="inc-demo", target="demo", steps=(step,), rationale="r", round=round_,
        covers=covers,
    )  # fmt: skip


def choose(inc: Incident, latest: RecoveryPlan | None = None, **overrides: object) -> int | Skip:
    args: dict[str, object] = {
        "closed": False,
        "concluded_at": None,
        "health": None,
        "now": at(10),
        "auto_recover": True,
        "max_incident_age_s": 60.0,
    }
    return round_to_run(inc, latest, **(args | overrides))  # type: ignore[arg-type]


def test_a_new_incident_gets_its_first_round() -> None:
    assert choose(incident()) == 0


def test_the_switch_the_manual_label_and_a_closed_incident_opt_out() -> None:
    assert choose(incident(), auto_recover=False) is Skip.DISABLED
    manual = incident(labels={"recovery": "manual"})
    assert is_manual(manual) and not is_manual(incident(labels={"recovery": "auto"}))
    assert choose(manual) is Skip.MANUAL
    assert choose(incident(), closed=True) is Skip.CLOSED


def test_the_age_limit_holds_back_a_first_round_even_one_already_planned() -> None:
    old = incident(opened=-100.0)
    assert incident_age_s(old, now=at(10)) == pytest.approx(110.0)
    assert choose(old) is Skip.TOO_OLD
    assert choose(old, plan()) is Skip.TOO_OLD
    assert choose(incident(opened=-50.0)) == 0  # 60 s old: at the limit, not over it


def test_a_concluded_round_is_followed_only_when_new_anomalies_meet_an_unhealthy_target() -> None:
    first = plan(covers=("a1",))
    grown = incident(opened=-3600.0, anomalies=("a1", "a2"))
    sick_after = TargetHealth(observed_at=at(5).timestamp(), healthy=False, reason="process.up=0")
    assert choose(grown, first, concluded_at=at(1).timestamp(), health=sick_after) == 1  # no age limit past round 0
    healthy = TargetHealth(observed_at=at(5).timestamp(), healthy=True, reason="healthy")
    assert choose(grown, first, concluded_at=at(1).timestamp(), health=healthy) is Skip.NO_ROUND
    assert choose(incident(anomalies=("a1",)), first, concluded_at=at(1).timestamp(), health=sick_after) is (
        Skip.NO_ROUND
    )


def test_the_latency_baseline_is_the_median_of_points_before_the_incident() -> None:
    history = [(1.0, 100.0), (2.0, 120.0), (3.0, 110.0), (10.0, 900.0)]
    assert baseline_before(history, before=10.0) == 110.0
    assert baseline_before(history) == 115.0
    assert baseline_before(history, before=1.0) is None
    assert baseline_before([]) is None


def test_a_scrape_is_judged_against_the_baseline_of_its_history() -> None:
    slow = UP | {"http.latency_p95_ms": 300.0}
    assert not scrape_health(slow, observed_at=5.0, history=[(1.0, 100.0)], policy=HEALTH).healthy
    verdict = scrape_health(slow, observed_at=5.0, history=[(1.0, 200.0)], policy=HEALTH)
    assert verdict == TargetHealth(5.0, True, "healthy")
    assert not scrape_health({}, observed_at=5.0, history=[], policy=HEALTH).healthy


def test_a_verification_counts_from_since_until_the_timeout_with_the_pre_incident_baseline() -> None:
    pending = verification_for(plan(), since=50.0, before=10.0, history=[(5.0, 80.0), (20.0, 900.0)], timeout_s=30.0)
    assert (pending.plan_id, pending.incident_id, pending.target) == ("rp-0", "inc-demo", "demo")
    assert (pending.since, pending.deadline, pending.baseline_p95_ms) == (50.0, 80.0, 80.0)
    assert pending.streak == 0


def test_the_newest_scrape_for_confirmations_is_never_future_dated_nor_older_than_the_known_one() -> None:
    now = T0.timestamp()
    known = LatestScrape(now - 5, UP)
    assert replaces_latest(None, now - 100, now=T0, max_age_s=30.0)
    assert replaces_latest(known, now - 5, now=T0, max_age_s=30.0)
    assert not replaces_latest(known, now - 6, now=T0, max_age_s=30.0)
    assert replaces_latest(known, now + 30, now=T0, max_age_s=30.0)
    assert not replaces_latest(None, now + 31, now=T0, max_age_s=30.0)
