"""What the RCA knows of each incident's recovery: when it began and whether it verified (the cure is no cause)."""

from __future__ import annotations

from typing import Any, Final

from shared import events as ev

MAX_OPEN_PLANS: Final = 1_000
"""Plans remembered until their first step starts or they end (the oldest go first)."""


class Recoveries:
    """Fold recovery events; tell when an incident's recovery began and whether one verified.

    A recovery begins when it is planned, unless the plan waits for a person's approval, in which
    case it begins when it acts. A scrape is stamped when it begins, so one that began between
    the plan and the first action can see the action (a restart's moment down) under a time
    before the step's: a window that ended at the step would take that moment for a cause.
    """

    def __init__(self) -> None:
        self.began_by_incident: dict[str, float] = {}
        self.verified_incidents: set[str] = set()
        self.planned: dict[str, float] = {}  # plan id -> when it was planned, until its first step starts
        self.gated: dict[str, None] = {}  # plans that asked for a person's approval (ordered: the oldest go first)

    def add(self, event: ev.RecoveryEvent) -> None:
        """Fold one recovery event."""
        plan_id = event.data.plan_id
        match event:
            case ev.RecoveryPlanned():
                self.planned[plan_id] = event.time.timestamp()
                _bound(self.planned)
            case ev.RecoveryApprovalRequested():
                self.gated[plan_id] = None
                _bound(self.gated)
            case ev.RecoveryStepStarted():
                at = event.time.timestamp()
                planned = self.planned.pop(plan_id, None)
                if planned is not None and plan_id not in self.gated:
                    at = min(at, planned)
                incident_id = event.data.incident_id
                self.began_by_incident[incident_id] = min(at, self.began_by_incident.get(incident_id, at))
            case ev.RecoveryVerified() | ev.RecoveryFailed() | ev.RecoveryDenied():
                self.planned.pop(plan_id, None)  # over, or refused
                self.gated.pop(plan_id, None)
                if isinstance(event, ev.RecoveryVerified):
                    self.verified_incidents.add(event.data.incident_id)

    def began(self, incident_id: str) -> float | None:
        """When the incident's first recovery began (epoch seconds), or None if none acted."""
        return self.began_by_incident.get(incident_id)

    def verified(self, incident_id: str) -> bool:
        """Tell whether a recovery of the incident was verified (the target healthy after it)."""
        return incident_id in self.verified_incidents


def _bound(plans: dict[str, Any]) -> None:
    while len(plans) > MAX_OPEN_PLANS:
        del plans[next(iter(plans))]
