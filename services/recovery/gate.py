"""The approval gate of recovery steps: request, wait, decide, each recorded on the recovery topic first.

The rules are pure (`services.recovery.domain.approval`); this adapter publishes the request
before a waiting step, a person's decision (from the commands topic) or the declared default
at timeout. Event ids derive from the plan and step, so a replayed request or decision is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from services.recovery.domain.approval import ApprovalRule, ApprovalStatus, ApprovalVerdict, approval_rule
from services.recovery.domain.approval import approval_status as status_of
from services.recovery.state import RecoveryState
from shared import events as ev
from shared.bus import EventBus
from shared.models import RecoveryApproval, RecoveryPlan, RecoveryStep, Severity

log = logging.getLogger(__name__)


class ApprovalGate:
    """Holds steps that need a person's approval until one decides or the timeout's default applies."""

    def __init__(
        self,
        bus: EventBus,
        state: RecoveryState,
        rules: Mapping[str, Mapping[str, ApprovalRule]],
        clock: Callable[[], datetime],
    ) -> None:
        self.bus, self.state, self.rules, self.clock = bus, state, rules, clock

    async def check(
        self, plan: RecoveryPlan, step: RecoveryStep, severity: Severity, cause: ev.Event | None
    ) -> ApprovalVerdict | None:
        """None: the step needs no approval. Else its verdict (the request is published the first time)."""
        key = (plan.plan_id, step.index)
        if key not in self.state.approvals:
            rule = approval_rule(step.action, severity, self.rules.get(plan.target, {}))
            if rule is None:
                return None
            request = RecoveryApproval(
                plan_id=plan.plan_id, incident_id=plan.incident_id, target=plan.target, step=step,
                severity=severity, timeout_s=rule.timeout_s, default=rule.default,
            )  # fmt: skip
            await self._record(ev.RecoveryApprovalRequested, request, ("requested",), cause)
            log.info("step %s of %s awaits approval (%gs, default %s)", step.action, plan.incident_id,
                     rule.timeout_s, rule.default.value)  # fmt: skip
        request, at = self.state.approvals[key]
        verdict = status_of(
            at, now=self.clock().timestamp(), rule=_rule(request), decision=self.state.decisions.get(key)
        )
        if verdict.status is ApprovalStatus.TIMED_OUT and key not in self.state.decisions:
            await self.decide(request, approved=verdict.run, actor="timeout", reason=verdict.detail, cause=cause)
        return verdict

    async def decide(
        self, request: RecoveryApproval, *, approved: bool, actor: str, reason: str, cause: ev.Event | None
    ) -> None:
        """Record the first decision on ``request`` (later ones, and replays, change nothing)."""
        if (request.plan_id, request.step.index) in self.state.decisions:
            return
        decided = request.model_copy(update={"actor": actor, "reason": reason})
        await self._record(ev.RecoveryApproved if approved else ev.RecoveryDenied, decided, ("decided",), cause)

    def expired(self, request: RecoveryApproval, requested_at: float) -> bool:
        """Whether the request's timeout has passed (then only the declared default applies)."""
        return self.clock().timestamp() > requested_at + request.timeout_s

    async def _record(
        self,
        cls: type[ev.RecoveryApprovalRequested | ev.RecoveryApproved | ev.RecoveryDenied],
        data: RecoveryApproval,
        kind: tuple[str],
        cause: ev.Event | None,
    ) -> None:
        event = cls.create(
            data, source=self.bus.source, id_parts=(data.plan_id, data.step.index, *kind), time=self.clock(),
            correlationid=data.incident_id, causation=cause, subject=data.target,
        )  # fmt: skip
        await self.bus.publish(event, key=data.incident_id)
        self.state.apply(event)


def _rule(request: RecoveryApproval) -> ApprovalRule:
    return ApprovalRule(timeout_s=request.timeout_s, default=request.default)
