"""Recovery's rules around the planner and the verifier (pure: ``now`` is an argument).

* Opting out: with ``auto_recover`` off, or on an incident labelled ``recovery=manual``, nothing runs.
* An incident acknowledged or resolved (or otherwise no longer triggered) is left to humans.
* Rounds: the round an incident calls for comes from `rounds.next_round`; a first round is not
  started for an incident older than ``max_incident_age_s`` (history replayed long after the fact).
* Latency baselines: the median of a target's p95 latency points, only those observed before the
  incident when verifying its recovery.
* Confirmation freshness: the newest scrape of a target is kept to confirm external alerts, never
  one dated further ahead of ``now`` than the confirmation window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

from services.recovery.domain.confirm import LatestScrape
from services.recovery.domain.rounds import TargetHealth, next_round
from services.recovery.domain.verify import HealthPolicy, Verification, assess, baseline_latency, containment_signals
from shared.models import Incident, RecoveryPlan

RECOVERY_LABEL: Final = "recovery"
MANUAL: Final = "manual"

LatencyPoint = tuple[float, float]  # (observed at, Unix seconds; p95 latency in ms)


class Skip(StrEnum):
    """Why no recovery round runs for an incident now."""

    DISABLED = "automatic recovery is off"
    MANUAL = "the incident is labelled recovery=manual"
    CLOSED = "the incident is no longer triggered"
    NO_ROUND = "no recovery round is due"
    TOO_OLD = "the incident is too old to recover automatically"


def is_manual(incident: Incident) -> bool:
    """Whether the incident is labelled for manual recovery only."""
    return incident.labels.get(RECOVERY_LABEL) == MANUAL


def incident_age_s(incident: Incident, *, now: datetime) -> float:
    """Seconds since the incident opened."""
    return (now - incident.opened_at).total_seconds()


def round_to_run(
    incident: Incident,
    latest: RecoveryPlan | None,
    *,
    closed: bool,
    concluded_at: float | None,
    health: TargetHealth | None,
    now: datetime,
    auto_recover: bool,
    max_incident_age_s: float,
) -> int | Skip:
    """Return the recovery round to run (or resume) for ``incident`` now, or why none runs.

    ``latest`` is the incident's latest plan, ``concluded_at`` when its round was verified or failed,
    ``health`` the newest verdict on the target from its own scrape, ``closed`` whether the incident
    was acknowledged, resolved or is otherwise no longer triggered.
    """
    if not auto_recover:
        return Skip.DISABLED
    if is_manual(incident):
        return Skip.MANUAL
    if closed:
        return Skip.CLOSED
    round_ = next_round(incident, latest, concluded_at=concluded_at, health=health)
    if round_ is None:
        return Skip.NO_ROUND
    if round_ == 0 and incident_age_s(incident, now=now) > max_incident_age_s:
        return Skip.TOO_OLD
    return round_


def baseline_before(history: Iterable[LatencyPoint], *, before: float | None = None) -> float | None:
    """Return the p95 latency baseline of a target: the median of its points, only those before ``before``."""
    return baseline_latency([value for at, value in history if before is None or at < before])


def scrape_health(
    values: Mapping[str, float], *, observed_at: float, history: Iterable[LatencyPoint], policy: HealthPolicy
) -> TargetHealth:
    """Assess one scrape of a target against ``policy`` and its latency baseline from ``history``."""
    healthy, reason = assess(values, policy, baseline_before(history))
    return TargetHealth(observed_at, healthy, reason)


def verification_for(
    plan: RecoveryPlan,
    *,
    since: float,
    before: float,
    history: Iterable[LatencyPoint],
    timeout_s: float,
    net_sent: Iterable[LatencyPoint] = (),
    problem: str = "",
) -> Verification:
    """Return the pending verification of ``plan``: scrapes after ``since`` count, until ``timeout_s`` later.

    The latency and outbound-traffic baselines are taken from the points observed before ``before``
    (the incident's start); the incident's ``problem`` class names the fresh signals it needs.
    """
    return Verification(
        baseline_net_sent=baseline_before(net_sent, before=before),
        required=containment_signals(problem),
        plan_id=plan.plan_id,
        incident_id=plan.incident_id,
        target=plan.target,
        since=since,
        deadline=since + timeout_s,
        baseline_p95_ms=baseline_before(history, before=before),
    )


def replaces_latest(known: LatestScrape | None, observed_at: float, *, now: datetime, max_age_s: float) -> bool:
    """Whether a scrape observed at ``observed_at`` becomes the target's newest scrape for confirmations.

    It must be no older than the one ``known`` and never future-dated: not more than ``max_age_s``
    ahead of ``now``.
    """
    plausible = observed_at <= now.timestamp() + max_age_s
    return plausible and (known is None or known.at <= observed_at)
