"""Decide from fresh scrapes whether a recovered target is healthy again, or recovery failed.

Only scrapes taken after the last step count. The target must look healthy in ``healthy_scrapes``
consecutive scrapes (up, no errors, CPU below the limit, p95 latency below twice its pre-incident
baseline or a floor, whichever is larger); one unhealthy scrape resets the streak. When the deadline
passes first, recovery failed and the incident must be escalated.

A contained Critical incident is verified by a fresh signal of its own class, not by the mere
absence of events: a security incident needs scrapes that carry ``auth.failures_per_s`` and show it
below a small rate; a leak needs the target's outbound traffic (``net.sent_bytes_per_s``, else
``host.net_sent_bytes_per_s``) back near its pre-incident level (`CONTAINMENT_SIGNALS`). A scrape
without the class's signal does not count.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from shared import metric_names as mn

OUTBOUND: Final = (mn.NET_SENT, mn.HOST_NET_SENT)
"""A target's outbound traffic: its own egress where it reports one, else its host's."""
CONTAINMENT_SIGNALS: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "security": ((mn.AUTH_FAILURES,),),
    "leak": (OUTBOUND,),
}
"""The fresh signals a verification of each Critical class needs in every scrape it counts (one of each group)."""


def outbound(scrape: Mapping[str, float]) -> tuple[str, float] | None:
    """The scrape's outbound-traffic signal and value (`OUTBOUND`, first present), or None."""
    return next(((name, scrape[name]) for name in OUTBOUND if name in scrape), None)


class Verdict(StrEnum):
    """Outcome of a verification."""

    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True)
class HealthPolicy:
    """Limits a healthy scrape stays within."""

    healthy_scrapes: int = 3
    timeout_s: float = 120.0
    error_rate_max: float = 0.01
    cpu_percent_max: float = 90.0
    latency_factor: float = 2.0
    latency_floor_ms: float = 500.0
    auth_failures_max_per_s: float = 0.5
    net_sent_factor: float = 2.0
    net_sent_floor_bytes_per_s: float = 2.0**20


@dataclass(frozen=True)
class Verification:
    """A pending verification of one plan: since when scrapes count, until when, and the streak."""

    plan_id: str
    incident_id: str
    target: str
    since: float
    deadline: float
    baseline_p95_ms: float | None = None
    streak: int = 0
    last_reason: str = "no fresh scrape yet"
    baseline_net_sent: float | None = None
    """Pre-incident outbound traffic (bytes/s): a leak is contained when it is back near this."""
    required: tuple[tuple[str, ...], ...] = ()
    """Signals every counted scrape must carry, one of each group (`CONTAINMENT_SIGNALS` of the incident's class)."""


def containment_signals(problem: str) -> tuple[tuple[str, ...], ...]:
    """The fresh signals that show an incident of class ``problem`` contained (none for other classes)."""
    return CONTAINMENT_SIGNALS.get(problem, ())


def net_sent_limit(baseline: float, policy: HealthPolicy) -> float:
    """Outbound traffic at or above this is not back near ``baseline``."""
    return max(policy.net_sent_factor * baseline, baseline + policy.net_sent_floor_bytes_per_s)


def baseline_latency(values: Sequence[float]) -> float | None:
    """Return the pre-incident p95 latency baseline (median of recent p95 values), or None."""
    finite = [v for v in values if v == v and v >= 0]
    return statistics.median(finite) if finite else None


def assess(
    scrape: Mapping[str, float],
    policy: HealthPolicy,
    baseline_p95_ms: float | None,
    *,
    baseline_net_sent: float | None = None,
    required: Sequence[Sequence[str]] = (),
) -> tuple[bool, str]:
    """Return (healthy, reason) for one scrape; a scrape with no health signal at all is not healthy.

    One signal of each ``required`` group must be in the scrape; failed logins at ``auth_failures_max_per_s`` or more,
    or outbound traffic far above ``baseline_net_sent`` (`net_sent_limit`), are not healthy.
    """
    missing = [" or ".join(group) for group in required if not any(name in scrape for name in group)]
    if missing:
        return False, f"no fresh {'; '.join(missing)} in scrape"
    checks = 0
    for name in (mn.PROCESS_UP, mn.HTTP_UP):
        if name in scrape:
            checks += 1
            if scrape[name] < 1:
                return False, f"{name}={scrape[name]:g}"
    if checks == 0:
        return False, "no process.up/http.up in scrape"
    if mn.HTTP_ERROR_RATE in scrape and scrape[mn.HTTP_ERROR_RATE] >= policy.error_rate_max:
        return False, f"{mn.HTTP_ERROR_RATE}={scrape[mn.HTTP_ERROR_RATE]:.3g}"
    if mn.PROCESS_CPU in scrape and scrape[mn.PROCESS_CPU] >= policy.cpu_percent_max:
        return False, f"{mn.PROCESS_CPU}={scrape[mn.PROCESS_CPU]:.3g}"
    if mn.HTTP_LATENCY_P95 in scrape:
        limit = max(policy.latency_factor * (baseline_p95_ms or 0.0), policy.latency_floor_ms)
        if scrape[mn.HTTP_LATENCY_P95] >= limit:
            return False, f"{mn.HTTP_LATENCY_P95}={scrape[mn.HTTP_LATENCY_P95]:.4g} >= {limit:.4g}"
    if mn.AUTH_FAILURES in scrape and scrape[mn.AUTH_FAILURES] >= policy.auth_failures_max_per_s:
        return False, f"{mn.AUTH_FAILURES}={scrape[mn.AUTH_FAILURES]:.3g}"
    sent = outbound(scrape)
    if sent is not None and baseline_net_sent is not None:
        limit = net_sent_limit(baseline_net_sent, policy)
        if sent[1] >= limit:
            return False, f"{sent[0]}={sent[1]:.4g} >= {limit:.4g}"
    return True, "healthy"


def observe(
    pending: Verification, scrape: Mapping[str, float], *, observed_at: float, policy: HealthPolicy
) -> tuple[Verification, Verdict | None]:
    """Feed one scrape of the target; return the new state and a verdict once there is one."""
    if observed_at <= pending.since:
        return pending, None
    if observed_at > pending.deadline:
        return pending, Verdict.FAILED
    healthy, reason = assess(
        scrape, policy, pending.baseline_p95_ms, baseline_net_sent=pending.baseline_net_sent, required=pending.required
    )
    streak = pending.streak + 1 if healthy else 0
    updated = replace(pending, streak=streak, last_reason=reason)
    if streak >= policy.healthy_scrapes:
        return updated, Verdict.VERIFIED
    return updated, None


def expire(pending: Verification, *, now: float) -> Verdict | None:
    """Return FAILED when the deadline passed without a verdict."""
    return Verdict.FAILED if now > pending.deadline else None
