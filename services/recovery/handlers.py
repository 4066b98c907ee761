"""Recovery handlers: plan on new incidents, record each action before it runs, verify from fresh metrics.

The adapter around the pure domain: it reads the clock once per event (and once more when a plan's
steps are done, the moment from which verification counts) and passes ``now`` to the rules in
`services.recovery.domain.policy`, the planner and the verifier.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, TypeAlias

from prometheus_client import Counter

from services.recovery.adapters.runner import ActionRunner
from services.recovery.domain.approval import ApprovalRule, ApprovalStatus
from services.recovery.domain.breaker import BreakerPolicy, breaker_state
from services.recovery.domain.catalog import Catalog
from services.recovery.domain.confirm import LatestScrape
from services.recovery.domain.planner import plan_recovery, problem_class
from services.recovery.domain.policy import (
    LatencyPoint,
    Skip,
    replaces_latest,
    round_to_run,
    scrape_health,
    verification_for,
)
from services.recovery.domain.rounds import TargetHealth
from services.recovery.domain.verify import HealthPolicy, Verdict, expire, observe, outbound
from services.recovery.gate import ApprovalGate
from services.recovery.settings import RecoverySettings
from services.recovery.state import RecoveryState
from shared import events as ev
from shared import metric_names as mn
from shared.bus import Delivery, EventBus
from shared.models import Incident, RecoveryPlan, RecoveryProgress, RecoveryStep, Severity
from shared.problems import CRITICAL_CLASSES

log = logging.getLogger(__name__)
BASELINE_POINTS: Final = 120
Progress: TypeAlias = ev.RecoveryStepStarted | ev.RecoveryStepCompleted


class RecoveryHandlers:
    """Thin handlers around the pure planner and verifier; side effects are recorded on Kafka first."""

    def __init__(
        self,
        settings: RecoverySettings,
        bus: EventBus,
        catalog: Catalog,
        runner: ActionRunner,
        state: RecoveryState,
        *,
        owns: Callable[[str], bool] = lambda _incident_id: True,
        actions: Counter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.bus, self.catalog, self.runner, self.state = settings, bus, catalog, runner, state
        self.owns = owns  # whether this instance holds the incident's partition of the incidents topic
        self.actions = actions
        self.clock = clock
        self.policy = HealthPolicy(**settings.verification.model_dump())
        self.latency: dict[str, deque[LatencyPoint]] = {}
        self.net_sent: dict[str, deque[LatencyPoint]] = {}
        self.health: dict[str, TargetHealth] = {}
        self.latest: dict[str, LatestScrape] = {}
        self.breaker = BreakerPolicy(**settings.breaker.model_dump())
        self.rollbacks = {t: dict(p.rollback) for t, p in settings.targets.items()}
        rules = {
            t: {
                name: ApprovalRule(a.timeout_s, a.default, None if a.severities is None else frozenset(a.severities))
                for name, a in p.approval.items()
            }
            for t, p in settings.targets.items()
        }
        self.gate = ApprovalGate(bus, state, rules, clock)
        self.caught_up = asyncio.Event()  # cleared while the state catches up after an assignment
        self.caught_up.set()

    async def on_incident(self, event: ev.IncidentEvent, delivery: Delivery | None = None) -> None:
        """Act on IncidentOpened/Updated; remember closed incidents."""
        await self.caught_up.wait()
        self.state.apply(event)
        if isinstance(event, ev.IncidentOpened | ev.IncidentUpdated):
            await self._handle_open(event, event.data.incident, now=self.clock())

    async def _handle_open(self, event: ev.Event, incident: Incident, *, now: datetime) -> None:
        latest = self.state.plans.get(incident.incident_id)
        round_ = round_to_run(
            incident,
            latest,
            closed=incident.incident_id in self.state.closed_incidents,
            concluded_at=self.state.concluded_at(latest),
            health=self.health.get(incident.target),
            now=now,
            auto_recover=self.settings.auto_recover,
            max_incident_age_s=self.settings.max_incident_age_s,
        )
        if isinstance(round_, Skip):
            if round_ is Skip.TOO_OLD:
                log.info("incident %s is too old to recover automatically", incident.incident_id)
            return
        plan = latest if latest is not None and latest.round == round_ else None
        if plan is None:
            plan = await self._plan(event, incident, round_, now)
            if plan is None:
                return
        await self._run_plan(plan, event, before=incident.opened_at.timestamp(), severity=incident.severity)

    async def _plan(self, event: ev.Event, incident: Incident, round_: int, now: datetime) -> RecoveryPlan | None:
        cooldown = self.settings.cooldown
        decision = plan_recovery(
            incident,
            self.catalog,
            restart_times=self.state.restarts.get(incident.target, []),
            now=now.timestamp(),
            max_restarts=cooldown.max_restarts,
            window_s=cooldown.window_s,
            min_severity=self.settings.min_severity,
            in_progress=self.state.verifying(incident.target, below=incident if _emergency(incident) else None),
            round=round_,
            action_times=self.state.actions.get(incident.target, []),
            max_actions=cooldown.max_actions,
            latest=self.latest.get(incident.target),
            confirm_max_age_s=self.settings.confirm_max_age_s,
            health=self.policy,
            breaker=breaker_state(
                self.state.failures.get(incident.target, []), self.state.verified.get(incident.target, []),
                self.state.actions.get(incident.target, []), now=now.timestamp(), policy=self.breaker,
            ),
        )  # fmt: skip
        if decision.plan is None:
            log.info("no recovery plan for %s: %s", incident.incident_id, decision.reason)
            if decision.escalate and self.settings.escalate_without_plan:
                progress = RecoveryProgress(
                    plan_id="", incident_id=incident.incident_id, target=incident.target, ok=False,
                    detail=decision.reason,
                )  # fmt: skip
                parts = (incident.incident_id, "no-plan") if round_ == 0 else (incident.incident_id, round_, "no-plan")
                await self._emit(ev.RecoveryFailed, progress, parts, event)
            return None
        planned = ev.RecoveryPlanned.create(
            decision.plan, source=self.bus.source, id_parts=(decision.plan.plan_id,),
            correlationid=incident.incident_id, causation=event, subject=decision.plan.target,
        )  # fmt: skip
        await self.bus.publish(planned, key=incident.incident_id)
        self.state.apply(planned)
        return decision.plan

    async def _run_plan(self, plan: RecoveryPlan, cause: ev.Event | None, *, before: float, severity: Severity) -> None:
        for step in plan.steps:
            started = self._progress_event(ev.RecoveryStepStarted, plan, step, cause, ok=True, detail="")
            if started.id in self.bus.published:
                continue  # recorded before: it ran (or was running when we stopped): never run it twice
            approval = await self.gate.check(plan, step, severity, cause)
            if approval is not None and not approval.run:
                if approval.status is not ApprovalStatus.PENDING:
                    detail = f"step {step.action} not run: {approval.detail}"
                    await self._conclude(plan, Verdict.FAILED, detail, cause)
                return  # pending: a decision (on_command) or the timeout (check_deadlines) resumes the plan
            await self.bus.publish(started, key=plan.incident_id)
            self.state.apply(started)
            action = self.catalog.resolve(step.action, plan.target)
            outcome = await self.runner.run(action, key=started.id)
            if self.actions is not None:
                self.actions.labels(step.action, "ok" if outcome.ok else "failed").inc()
            done = self._progress_event(
                ev.RecoveryStepCompleted, plan, step, started, ok=outcome.ok, detail=outcome.detail
            )
            await self.bus.publish(done, key=plan.incident_id)
            self.state.apply(done)
            if not outcome.ok:
                await self._conclude(plan, Verdict.FAILED, f"step {step.action} failed: {outcome.detail}", done)
                return
        self.start_verification(plan, since=self.clock().timestamp(), before=before)  # the steps are done now

    async def on_command(self, event: ev.CommandEvent, delivery: Delivery | None = None) -> None:
        """Apply a person's approval or denial of the incident's step awaiting approval, then resume its plan."""
        if not isinstance(event, ev.ApproveRequested | ev.DenyRequested):
            return
        await self.caught_up.wait()
        cmd = event.data
        if not self.owns(cmd.incident_id):
            return  # every instance sees every decision; the incident's owner applies it
        awaiting = self.state.awaiting(cmd.incident_id)
        if awaiting is None:
            log.info("%s for %s: no step awaits approval", event.type, cmd.incident_id)
            return
        request, at = awaiting
        if not self.gate.expired(request, at):  # after the timeout only the declared default applies
            approved = isinstance(event, ev.ApproveRequested)
            await self.gate.decide(request, approved=approved, actor=cmd.actor, reason=cmd.text, cause=event)
        await self._resume(cmd.incident_id, event)

    async def resume_approvals(self) -> None:
        """Resume the plans of this instance's incidents that wait for approval (a decision or the timeout)."""
        for plan in list(self.state.plans.values()):
            waits = any(k[0] == plan.plan_id for k in self.state.approvals)
            if waits and plan.plan_id not in self.state.concluded and self.owns(plan.incident_id):
                await self._resume(plan.incident_id, None)

    async def _resume(self, incident_id: str, cause: ev.Event | None) -> None:
        plan = self.state.plans.get(incident_id)
        requests = [r for (p, _), (r, _) in self.state.approvals.items() if plan is not None and p == plan.plan_id]
        if plan is None or not requests or plan.plan_id in self.state.concluded:
            return
        if incident_id in self.state.resolved_incidents:  # an approval that comes after the end runs nothing
            detail = f"steps awaiting approval not run: incident {incident_id} was resolved first"
            await self._conclude(plan, Verdict.FAILED, detail, cause)
            return
        incident = self.state.incidents.get(incident_id)
        before = incident.opened_at.timestamp() if incident is not None else self.clock().timestamp()
        await self._run_plan(plan, cause, before=before, severity=requests[0].severity)

    def start_verification(self, plan: RecoveryPlan, *, since: float, before: float) -> None:
        """Wait for fresh healthy scrapes of the target after ``since`` (latency baseline: before ``before``)."""
        if plan.plan_id in self.state.concluded or plan.incident_id in self.state.pending:
            return
        self.state.pending[plan.incident_id] = verification_for(
            plan,
            since=since,
            before=before,
            history=self.latency.get(plan.target, ()),
            timeout_s=self.settings.verification.timeout_s,
            net_sent=self.net_sent.get(plan.target, ()),
            problem=problem_class(incident) if (incident := self.state.incidents.get(plan.incident_id)) else "",
        )

    async def on_metrics(self, event: ev.MetricsObserved, delivery: Delivery | None = None) -> None:
        """Feed a scrape to the baseline and to any pending verification of its target."""
        await self.caught_up.wait()
        now = self.clock()
        data = event.data
        values = {s.name: s.value for s in data.samples}
        at = data.observed_at.timestamp()
        history = self.latency.setdefault(data.target, deque(maxlen=BASELINE_POINTS))
        health = self.health[data.target] = scrape_health(values, observed_at=at, history=history, policy=self.policy)
        if replaces_latest(self.latest.get(data.target), at, now=now, max_age_s=self.settings.confirm_max_age_s):
            self.latest[data.target] = LatestScrape(at, values)
        if mn.HTTP_LATENCY_P95 in values:
            history.append((at, values[mn.HTTP_LATENCY_P95]))
        if (sent := outbound(values)) is not None:
            self.net_sent.setdefault(data.target, deque(maxlen=BASELINE_POINTS)).append((at, sent[1]))
        for incident_id, pending in list(self.state.pending.items()):
            if pending.target != data.target:
                continue
            updated, verdict = observe(pending, values, observed_at=at, policy=self.policy)
            self.state.pending[incident_id] = updated
            if verdict is not None:
                plan = self.state.plans[incident_id]
                detail = f"{updated.streak} healthy scrapes; last: {updated.last_reason}"
                if verdict is Verdict.FAILED:
                    detail += await self._rollback(plan)
                await self._conclude(plan, verdict, detail, event)
        if not health.healthy:
            await self._recover_again(data.target, event, now=now)

    async def _recover_again(self, target: str, cause: ev.Event, *, now: datetime) -> None:
        """An unhealthy scrape may be what an open incident's new episode was waiting for (see ``next_round``)."""
        for incident in list(self.state.incidents.values()):
            latest = self.state.plans.get(incident.incident_id)
            concluded = latest is not None and self.state.concluded_at(latest) is not None
            if incident.target == target and concluded and self.owns(incident.incident_id):
                await self._handle_open(cause, incident, now=now)

    async def check_deadlines(self) -> None:
        """Fail verifications whose deadline passed; apply the declared default to approvals nobody gave in time."""
        now = self.clock().timestamp()
        for incident_id, pending in list(self.state.pending.items()):
            if expire(pending, now=now) is Verdict.FAILED:
                plan = self.state.plans[incident_id]
                detail = f"not healthy within {self.settings.verification.timeout_s:g}s: {pending.last_reason}"
                await self._conclude(plan, Verdict.FAILED, detail + await self._rollback(plan), None)
        for incident_id in list(self.state.plans):
            awaiting = self.state.awaiting(incident_id)
            if awaiting is not None and self.gate.expired(*awaiting) and self.owns(incident_id):
                await self._resume(incident_id, None)

    async def _rollback(self, plan: RecoveryPlan) -> str:
        """Run, once each, the declared rollbacks of the plan's steps (last step first); say what ran."""
        undo = self.rollbacks.get(plan.target, {})
        said = []
        for step in reversed(plan.steps):
            name = undo.get(step.action)
            if name is None:
                continue
            action = self.catalog.resolve(name, plan.target)
            back = RecoveryStep(index=len(plan.steps) + step.index, action=name, target=plan.target,
                                params=self.catalog.describe(action))  # fmt: skip
            started = self._progress_event(
                ev.RecoveryStepStarted, plan, back, None, ok=True, detail=f"rollback of {step.action}"
            )
            if started.id in self.bus.published:
                said.append(f"{name} (ran before)")
                continue
            await self.bus.publish(started, key=plan.incident_id)
            self.state.apply(started)
            outcome = await self.runner.run(action, key=started.id)
            done = self._progress_event(
                ev.RecoveryStepCompleted, plan, back, started, ok=outcome.ok, detail=outcome.detail
            )
            await self.bus.publish(done, key=plan.incident_id)
            self.state.apply(done)
            said.append(f"{name} {'ok' if outcome.ok else f'failed: {outcome.detail}'}")
        return f"; rolled back: {', '.join(said)}" if said else ""

    async def _conclude(self, plan: RecoveryPlan, verdict: Verdict, detail: str, cause: ev.Event | None) -> None:
        cls = ev.RecoveryVerified if verdict is Verdict.VERIFIED else ev.RecoveryFailed
        progress = RecoveryProgress(
            plan_id=plan.plan_id, incident_id=plan.incident_id, target=plan.target,
            ok=verdict is Verdict.VERIFIED, detail=detail,
        )  # fmt: skip
        concluded = await self._emit(cls, progress, (plan.plan_id, verdict.value), cause)
        await self._plan_waiting(plan.target, concluded)

    async def _plan_waiting(self, target: str, cause: ev.Event) -> None:
        """Plan for the open incidents of ``target`` that got no plan while another's recovery of it was verified.

        A target has one incident per problem class (a CPU hog after a cured crash is its own
        incident); one opened while the crash's restart was being verified waited ("already in
        progress"), and gets its own recovery now.
        """
        for incident in list(self.state.incidents.values()):
            waiting = incident.incident_id not in self.state.plans
            if incident.target == target and waiting and self.owns(incident.incident_id):
                await self._handle_open(cause, incident, now=self.clock())

    async def _emit(
        self,
        cls: type[ev.RecoveryVerified | ev.RecoveryFailed],
        data: RecoveryProgress,
        id_parts: tuple[object, ...],
        cause: ev.Event | None,
    ) -> ev.RecoveryVerified | ev.RecoveryFailed:
        event = cls.create(
            data, source=self.bus.source, id_parts=id_parts, correlationid=data.incident_id, causation=cause,
            subject=data.target,
        )  # fmt: skip
        await self.bus.publish(event, key=data.incident_id)
        self.state.apply(event)
        log.info("%s %s: %s", event.type, data.incident_id, data.detail)
        return event

    def _progress_event(
        self,
        cls: type[Progress],
        plan: RecoveryPlan,
        step: RecoveryStep,
        cause: ev.Event | None,
        *,
        ok: bool,
        detail: str,
    ) -> Progress:
        progress = RecoveryProgress(
            plan_id=plan.plan_id, incident_id=plan.incident_id, target=plan.target, step=step, ok=ok, detail=detail
        )
        return cls.create(
            progress, source=self.bus.source, id_parts=(plan.plan_id, step.index), correlationid=plan.incident_id,
            causation=cause, subject=plan.target,
        )  # fmt: skip


def _emergency(incident: Incident) -> bool:
    """A Critical class (security, leak, data loss) has emergency remedies of its own, which need not wait.

    Any other incident waits while another incident's recovery of the target is verified, whatever
    its severity: its remedy is the same kind of action (a second restart would be one too many).
    """
    return incident.problem in CRITICAL_CLASSES
