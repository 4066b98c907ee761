"""A contained security or leak incident is verified by a fresh signal of its class (issue 17, item 5)."""

from __future__ import annotations

import pytest

from services.recovery.domain.policy import verification_for
from services.recovery.domain.verify import (
    HealthPolicy,
    Verdict,
    Verification,
    assess,
    containment_signals,
    net_sent_limit,
    observe,
)
from shared import metric_names as mn
from shared.models import RecoveryPlan, RecoveryStep

POLICY = HealthPolicy(healthy_scrapes=2)
UP = {mn.PROCESS_UP: 1.0, mn.HTTP_UP: 1.0}
KIB, MIB = 1024.0, 2.0**20


@pytest.mark.parametrize(
    ("problem", "signals"),
    [("security", ((mn.AUTH_FAILURES,),)), ("leak", ((mn.NET_SENT, mn.HOST_NET_SENT),)), ("cpu", ()), ("", ())],
)
def test_each_critical_class_names_the_signal_that_shows_it_contained(
    problem: str, signals: tuple[tuple[str, ...], ...]
) -> None:
    assert containment_signals(problem) == signals


@pytest.mark.parametrize(
    ("extra", "required", "healthy", "reason"),
    [
        ({mn.AUTH_FAILURES: 0.0}, ((mn.AUTH_FAILURES,),), True, "healthy"),
        ({mn.AUTH_FAILURES: 0.4}, ((mn.AUTH_FAILURES,),), True, "healthy"),
        ({mn.AUTH_FAILURES: 19.5}, ((mn.AUTH_FAILURES,),), False, "auth.failures_per_s=19.5"),
        ({mn.AUTH_FAILURES: 19.5}, (), False, "auth.failures_per_s=19.5"),  # an attack is unhealthy anyway
        ({}, ((mn.AUTH_FAILURES,),), False, "no fresh auth.failures_per_s in scrape"),  # absence proves nothing
        ({}, (), True, "healthy"),
        (
            {},
            ((mn.NET_SENT, mn.HOST_NET_SENT),),
            False,
            "no fresh net.sent_bytes_per_s or host.net_sent_bytes_per_s in scrape",
        ),
        ({mn.HOST_NET_SENT: 1.0}, ((mn.NET_SENT, mn.HOST_NET_SENT),), True, "healthy"),  # one of the group
    ],
)
def test_security_is_contained_when_failed_logins_stop_in_a_fresh_scrape(
    extra: dict[str, float], required: tuple[tuple[str, ...], ...], healthy: bool, reason: str
) -> None:
    assert assess(UP | extra, POLICY, None, required=required) == (healthy, reason)


@pytest.mark.parametrize(
    ("sent", "baseline", "healthy"),
    [
        (16 * KIB, 16 * KIB, True),
        (0.0, 16 * KIB, True),  # the egress cut: below the usual is contained
        (16 * MIB, 16 * KIB, False),  # the exfiltration goes on
        (0.9 * MIB, 16 * KIB, True),  # within the floor above a small baseline
        (50 * MIB, 20 * MIB, False),  # a busy host: twice its usual is still a leak
        (30 * MIB, 20 * MIB, True),
        (16 * MIB, None, True),  # no baseline: nothing to compare with (the scrape's other signals decide)
    ],
)
def test_a_leak_is_contained_when_outbound_traffic_is_back_near_its_baseline(
    sent: float, baseline: float | None, healthy: bool
) -> None:
    ok, reason = assess(UP | {mn.HOST_NET_SENT: sent}, POLICY, None, baseline_net_sent=baseline)
    assert ok is healthy, reason
    assert reason == "healthy" if healthy else reason.startswith(f"{mn.HOST_NET_SENT}=")


def test_the_target_s_own_outbound_traffic_is_judged_before_its_host_s() -> None:
    scrape = UP | {mn.NET_SENT: 16 * MIB, mn.HOST_NET_SENT: 16 * KIB}
    assert assess(scrape, POLICY, None, baseline_net_sent=16 * KIB)[1].startswith(f"{mn.NET_SENT}=")


def test_the_limit_is_twice_the_baseline_or_the_baseline_plus_the_floor() -> None:
    assert net_sent_limit(16 * KIB, POLICY) == 16 * KIB + MIB
    assert net_sent_limit(20 * MIB, POLICY) == 40 * MIB


def _plan() -> RecoveryPlan:
    step = RecoveryStep(index=0, action="isolate:demo-egress", target="demo", params={})
    return RecoveryPlan(plan_id="p1", incident_id="i1", target="demo", steps=(step,), rationale="leak")


def test_a_leak_verification_takes_its_baseline_from_before_the_incident_and_needs_the_signal() -> None:
    before = [(t, 16 * KIB) for t in range(0, 100, 2)] + [(t, 16 * MIB) for t in range(100, 130, 2)]
    pending = verification_for(_plan(), since=130.0, before=100.0, history=(), timeout_s=60, net_sent=before,
                               problem="leak")  # fmt: skip
    assert pending.baseline_net_sent == 16 * KIB and pending.required == ((mn.NET_SENT, mn.HOST_NET_SENT),)

    still, verdict = observe(pending, UP | {mn.HOST_NET_SENT: 16 * MIB}, observed_at=131.0, policy=POLICY)
    assert verdict is None and still.streak == 0 and mn.HOST_NET_SENT in still.last_reason
    blind, verdict = observe(still, UP, observed_at=132.0, policy=POLICY)
    assert verdict is None and blind.streak == 0 and blind.last_reason.startswith("no fresh")
    state: Verification = blind
    for at in (133.0, 134.0):
        state, verdict = observe(state, UP | {mn.HOST_NET_SENT: 0.0}, observed_at=at, policy=POLICY)
    assert verdict is Verdict.VERIFIED


def test_a_security_verification_fails_while_the_attack_still_reaches_the_target() -> None:
    pending = verification_for(_plan(), since=10.0, before=5.0, history=(), timeout_s=5, problem="security")
    assert pending.required == ((mn.AUTH_FAILURES,),)
    state, verdict = observe(pending, UP | {mn.AUTH_FAILURES: 20.0}, observed_at=12.0, policy=POLICY)
    assert verdict is None and state.last_reason == "auth.failures_per_s=20"
    _, verdict = observe(state, UP | {mn.AUTH_FAILURES: 20.0}, observed_at=16.0, policy=POLICY)
    assert verdict is Verdict.FAILED
