"""What recovery remembers: plans and their progress, restarts per target, pending verifications."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.recovery.domain.approval import Decision
from services.recovery.domain.catalog import RESTART_PROCESS
from services.recovery.domain.verify import Verification
from shared import events as ev
from shared.models import SEVERITY_RANK, Incident, IncidentStatus, RecoveryApproval, RecoveryPlan

StepKey = tuple[str, int]  # (plan id, step index)


def _rank(incident: Incident) -> int:
    return SEVERITY_RANK[incident.severity]


@dataclass
class RecoveryState:
    """In-memory state, rebuilt from the recovery and incidents topics at start-up."""

    plans: dict[str, RecoveryPlan] = field(default_factory=dict)  # the latest round's plan per incident
    steps_done_at: dict[str, float] = field(default_factory=dict)
    concluded: dict[str, float] = field(default_factory=dict)  # plan id -> when it was verified or failed
    restarts: dict[str, list[float]] = field(default_factory=dict)
    actions: dict[str, list[float]] = field(default_factory=dict)  # target -> when each action started
    closed_incidents: set[str] = field(default_factory=set)
    resolved_incidents: set[str] = field(default_factory=set)  # a step awaiting approval never runs after this
    pending: dict[str, Verification] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)  # the newest snapshot of each open incident
    approvals: dict[StepKey, tuple[RecoveryApproval, float]] = field(default_factory=dict)  # requested, when
    decisions: dict[StepKey, Decision] = field(default_factory=dict)  # the first decision on each request
    acted: set[str] = field(default_factory=set)  # plans of which a step started
    failures: dict[str, list[float]] = field(default_factory=dict)  # target -> when its recoveries failed
    verified: dict[str, list[float]] = field(default_factory=dict)  # target -> when its recoveries were verified

    def apply(self, event: ev.RecoveryEvent | ev.IncidentEvent) -> None:
        """Fold one event of the recovery or incidents topic into the state."""
        if isinstance(event, ev.IncidentEvent):
            self._apply_incident(event)
            return
        at = event.time.timestamp()
        match event:
            case ev.RecoveryPlanned():
                plan = event.data
                latest = self.plans.get(plan.incident_id)
                if latest is None or plan.round >= latest.round:
                    self.plans[plan.incident_id] = plan
            case ev.RecoveryStepStarted() if event.data.step is not None:
                progress, step = event.data, event.data.step
                self.actions.setdefault(progress.target, []).append(at)
                self.acted.add(progress.plan_id)
                if step.action == RESTART_PROCESS:
                    self.restarts.setdefault(progress.target, []).append(at)
            case ev.RecoveryStepCompleted():
                self.steps_done_at[event.data.plan_id] = at
            case ev.RecoveryApprovalRequested():
                self.approvals.setdefault((event.data.plan_id, event.data.step.index), (event.data, at))
            case ev.RecoveryApproved() | ev.RecoveryDenied():
                a = event.data
                approved = isinstance(event, ev.RecoveryApproved)
                self.decisions.setdefault((a.plan_id, a.step.index), Decision(approved, a.actor, a.reason, at))
            case ev.RecoveryVerified() | ev.RecoveryFailed():
                progress = event.data
                if progress.plan_id in self.acted and progress.plan_id not in self.concluded:
                    outcomes = self.verified if isinstance(event, ev.RecoveryVerified) else self.failures
                    outcomes.setdefault(progress.target, []).append(at)
                self.concluded.setdefault(progress.plan_id or f"no-plan:{progress.incident_id}", at)
                pending = self.pending.get(progress.incident_id)
                if pending is not None and pending.plan_id == progress.plan_id:
                    del self.pending[progress.incident_id]

    def _apply_incident(self, event: ev.IncidentEvent) -> None:
        incident = event.data.incident
        if isinstance(event, ev.IncidentResolved | ev.IncidentAcknowledged) or (
            incident.status is not IncidentStatus.TRIGGERED
        ):
            self.closed_incidents.add(incident.incident_id)
            self.incidents.pop(incident.incident_id, None)
            if isinstance(event, ev.IncidentResolved) or incident.status is IncidentStatus.RESOLVED:
                self.resolved_incidents.add(incident.incident_id)
        elif isinstance(event, ev.IncidentOpened | ev.IncidentUpdated):
            self.incidents[incident.incident_id] = incident

    def concluded_at(self, plan: RecoveryPlan | None) -> float | None:
        """When the plan's round was verified or failed (None while it runs or is verified)."""
        return None if plan is None else self.concluded.get(plan.plan_id)

    def verifying(self, target: str, *, below: Incident | None = None) -> str | None:
        """Return the incident whose recovery of ``target`` is being verified, if any.

        With ``below``, a verification of a less severe incident does not count: a Critical incident's
        emergency action must not wait a minute for a restart answering a Major symptom to be judged
        (the handlers pass it for the Critical classes only, whose remedies differ from a restart).
        """
        for pending in self.pending.values():
            if pending.target != target:
                continue
            other = self.incidents.get(pending.incident_id)
            if (
                below is not None
                and other is not None
                and SEVERITY_RANK[other.severity] < SEVERITY_RANK[below.severity]
            ):
                continue
            return pending.incident_id
        return None

    def awaiting(self, incident_id: str) -> tuple[RecoveryApproval, float] | None:
        """The undecided approval request of the incident's latest plan (with when it was made), if any."""
        plan = self.plans.get(incident_id)
        if plan is None or plan.plan_id in self.concluded:
            return None
        found = [(k, v) for k, v in self.approvals.items() if k[0] == plan.plan_id and k not in self.decisions]
        return max(found, key=lambda kv: kv[0][1])[1] if found else None

    def unfinished_plans(self) -> list[RecoveryPlan]:
        """Plans whose steps all ran but that were neither verified nor failed (resume verification)."""
        return [
            plan
            for plan in self.plans.values()
            if plan.plan_id not in self.concluded and plan.plan_id in self.steps_done_at
        ]
