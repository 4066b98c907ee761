"""Recovery rounds: one incident may need recovering more than once (a second crash while it is open).

The first plan of an incident is round 0. Once a round has concluded, the incident calls for the
next round only when anomalies the last round did not cover have joined it AND the target's own
signals, in a scrape taken after that round concluded, show it unhealthy again: a late symptom
of the problem already cured never restarts a healthy target.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.models import Incident, RecoveryPlan


@dataclass(frozen=True)
class TargetHealth:
    """The newest verdict on a target from its own scrape."""

    observed_at: float
    healthy: bool
    reason: str


def next_round(
    incident: Incident,
    latest: RecoveryPlan | None,
    *,
    concluded_at: float | None,
    health: TargetHealth | None,
) -> int | None:
    """The round the incident calls for now (the latest round again: resume it), or None."""
    if latest is None:
        return 0
    if concluded_at is None:
        return latest.round
    uncovered = set(incident.anomaly_ids) - set(latest.covers)
    if not uncovered or not incident.active_fingerprints:
        return None
    if health is None or health.healthy or health.observed_at <= concluded_at:
        return None
    return latest.round + 1


def actions_in_window(times: list[float], *, now: float, window_s: float) -> list[float]:
    """The action times of a target within ``window_s`` before ``now`` (oldest first)."""
    return sorted(t for t in times if now - window_s <= t <= now)
