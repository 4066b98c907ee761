"""What recovery remembers: plans and their progress, restarts per target, pending verifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.recovery.domain.catalog import RESTART_PROCESS
from services.recovery.domain.verify import Verification
from shared import events as ev
from shared.models import Incident, IncidentStatus, RecoveryPlan


@dataclass
class RecoveryState:
    """In-memory state, rebuilt from the recovery and incidents topics at start-up."""

    plans: dict[str, RecoveryPlan] = field(default_factory=dict)  # the latest round's plan per incident
    steps_done_at: dict[str, float] = field(default_factory=dict)
    concluded: dict[str, float] = field(default_factory=dict)  # plan id -> when it was verified or failed
    restarts: dict[str, list[float]] = field(default_factory=dict)
    actions: dict[str, list[float]] = field(default_factory=dict)  # target -> when each action started
    closed_incidents: set[str] = field(default_factory=set)
    pending: dict[str, Verification] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)  # the newest snapshot of each open incident

    def apply(self, event: ev.Envelope[Any]) -> None:
        """Fold one event of the recovery or incidents topic into the state."""
        data = event.data
        if isinstance(event, ev.RecoveryPlanned):
            latest = self.plans.get(data.incident_id)
            if latest is None or data.round >= latest.round:
                self.plans[data.incident_id] = data
        elif isinstance(event, ev.RecoveryStepStarted) and data.step is not None:
            self.actions.setdefault(data.target, []).append(event.time.timestamp())
            if data.step.action == RESTART_PROCESS:
                self.restarts.setdefault(data.target, []).append(event.time.timestamp())
        elif isinstance(event, ev.RecoveryStepCompleted):
            self.steps_done_at[data.plan_id] = event.time.timestamp()
        elif isinstance(event, ev.RecoveryVerified | ev.RecoveryFailed):
            self.concluded.setdefault(data.plan_id or f"no-plan:{data.incident_id}", event.time.timestamp())
            pending = self.pending.get(data.incident_id)
            if pending is not None and pending.plan_id == data.plan_id:
                del self.pending[data.incident_id]
        elif isinstance(event, ev.IncidentResolved | ev.IncidentAcknowledged) or _not_triggered(data):
            self.closed_incidents.add(data.incident.incident_id)
            self.incidents.pop(data.incident.incident_id, None)
        elif isinstance(event, ev.IncidentOpened | ev.IncidentUpdated):
            self.incidents[data.incident.incident_id] = data.incident

    def concluded_at(self, plan: RecoveryPlan | None) -> float | None:
        """When the plan's round was verified or failed (None while it runs or is verified)."""
        return None if plan is None else self.concluded.get(plan.plan_id)

    def verifying(self, target: str) -> str | None:
        """Return the incident whose recovery of ``target`` is being verified, if any."""
        return next((p.incident_id for p in self.pending.values() if p.target == target), None)

    def unfinished_plans(self) -> list[RecoveryPlan]:
        """Plans whose steps all ran but that were neither verified nor failed (resume verification)."""
        return [
            plan
            for plan in self.plans.values()
            if plan.plan_id not in self.concluded and plan.plan_id in self.steps_done_at
        ]


def _not_triggered(data: object) -> bool:
    incident = getattr(data, "incident", None)
    return incident is not None and incident.status is not IncidentStatus.TRIGGERED
