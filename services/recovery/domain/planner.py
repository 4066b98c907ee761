"""Choose recovery steps for an incident from the catalog: problem class first, then declared remedies.

The incident's signals and impacts are mapped to a problem class (``down``, ``cpu``, ``errors``,
``latency``, ``memory`` or ``other``). A target's configured remedies for that class win; without
them a target with a managed process gets ``restart_process``, which clears every fault a process
restart can clear. A target with nothing declared gets no plan, so the incident is escalated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.recovery.domain.breaker import BreakerState, BreakerVerdict
from services.recovery.domain.catalog import RESTART_PROCESS, ActionNotDeclared, Catalog
from services.recovery.domain.confirm import LatestScrape, external_action_allowed
from services.recovery.domain.verify import HealthPolicy
from shared.ids import short_id
from shared.models import SEVERITY_RANK, Impact, Incident, RecoveryPlan, RecoveryStep, Severity
from shared.problems import CRITICAL_BY_IMPACT, CRITICAL_CLASSES

_CLASS_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("down", ("exit", "down", "crash", "unreachable")),
    ("errors", ("error", "5xx", "fail", "exception")),
    ("latency", ("latency", "duration", "slow")),
    ("cpu", ("cpu", "load")),
    ("memory", ("memory", "rss", "oom")),
)


DEFAULT_HEALTH = HealthPolicy()


@dataclass(frozen=True)
class PlanDecision:
    """A plan, or the reason there is none (then ``escalate`` tells whether humans must act)."""

    plan: RecoveryPlan | None
    reason: str
    escalate: bool = False


def problem_class(incident: Incident) -> str:
    """Return the incident's problem class: the responder's (``Incident.problem``), else from impacts and signals.

    The responder's class follows the incident's current problem and ignores what a recovery
    action itself caused (the restart's moment down joins a CPU incident, which stays ``cpu``).
    """
    if incident.problem:
        return incident.problem
    if Impact.SERVICE_DOWN in incident.impacts:
        return "down"
    for impact, name in CRITICAL_BY_IMPACT.items():
        if impact in incident.impacts:
            return name
    signals = [s.lower() for s in incident.signals]
    if any(s.rsplit(".", 1)[-1] == "up" for s in signals):
        return "down"
    for name, cues in _CLASS_CUES:
        if any(cue in s for s in signals for cue in cues):
            return name
    if any(s.startswith("log:") for s in signals):
        return "errors"
    return "other"


def restarts_in_window(restart_times: Sequence[float], *, now: float, window_s: float) -> int:
    """Count restarts of a target that happened within ``window_s`` before ``now``."""
    return sum(1 for t in restart_times if now - window_s <= t <= now)


def plan_recovery(
    incident: Incident,
    catalog: Catalog,
    *,
    restart_times: Sequence[float] = (),
    now: float,
    max_restarts: int,
    window_s: float,
    min_severity: Severity = Severity.MINOR,
    in_progress: str | None = None,
    round: int = 0,
    action_times: Sequence[float] = (),
    max_actions: int | None = None,
    latest: LatestScrape | None = None,
    confirm_max_age_s: float = 30.0,
    health: HealthPolicy = DEFAULT_HEALTH,
    breaker: BreakerVerdict | None = None,
) -> PlanDecision:
    """Return the recovery plan for ``incident`` (pure: time and restart history are arguments).

    ``in_progress`` names another incident whose recovery of the same target is still being
    verified; no second plan is made for the target meanwhile. ``round`` numbers the plans of one
    incident; ``action_times`` (every action run on the target) trips the breaker at ``max_actions``
    within ``window_s``. An incident made only of external alerts gets a plan only if ``latest``
    (the target's newest scrape) confirms its problem class or its alert rules are allow-listed
    (`services.recovery.domain.confirm`); else no action and no escalation from here (the
    responder has opened and paged it). ``breaker`` is the target's circuit breaker
    (`services.recovery.domain.breaker`): open, no plan and escalate; half-open, said in the rationale.
    """
    if SEVERITY_RANK[incident.severity] < SEVERITY_RANK[min_severity]:
        return PlanDecision(None, f"severity {incident.severity} below {min_severity}: no automatic recovery")
    if in_progress is not None:
        return PlanDecision(None, f"recovery of {incident.target!r} already in progress for {in_progress}")
    target = incident.target
    declared = catalog.declared(target)
    if not declared:
        return PlanDecision(None, f"no recovery action declared for target {target!r}", escalate=True)
    if breaker is not None and breaker.state is BreakerState.OPEN:
        return PlanDecision(None, breaker.reason, escalate=True)
    problem = problem_class(incident)
    allowed, why = external_action_allowed(
        incident, problem, latest, allowed_rules=catalog.external_rules.get(target, frozenset()), now=now,
        max_age_s=confirm_max_age_s, policy=health,
    )  # fmt: skip
    if not allowed:
        return PlanDecision(None, why)
    chosen = _remedy(catalog, target, problem)
    if not chosen:
        return PlanDecision(None, f"no declared remedy for {problem!r} on {target!r}", escalate=True)
    if max_actions is not None:
        recent = sorted(t for t in action_times if now - window_s <= t <= now)
        if len(recent) + len(chosen) > max_actions:
            history = ", ".join(f"{now - t:.0f}s ago" for t in recent[-5:])
            reason = (
                f"circuit breaker: {len(recent)} automatic actions on {target!r} within {window_s:g}s "
                f"(max {max_actions}; last {history}); a person must look"
            )
            return PlanDecision(None, reason, escalate=True)
    if RESTART_PROCESS in chosen:
        count = restarts_in_window(restart_times, now=now, window_s=window_s)
        if count >= max_restarts:
            reason = f"flapping guard: {target!r} restarted {count}x within {window_s:g}s (max {max_restarts})"
            return PlanDecision(None, reason, escalate=True)
    steps = []
    for index, name in enumerate(chosen):
        try:
            action = catalog.resolve(name, target)
        except ActionNotDeclared as exc:
            return PlanDecision(None, f"remedy refers to an undeclared action: {exc}", escalate=True)
        steps.append(RecoveryStep(index=index, action=name, target=target, params=catalog.describe(action)))
    plan = RecoveryPlan(
        plan_id=short_id("plan", incident.incident_id) if round == 0 else short_id("plan", incident.incident_id, round),
        incident_id=incident.incident_id,
        target=target,
        steps=tuple(steps),
        rationale=f"{'' if round == 0 else f'round {round + 1}: '}problem {problem!r} on {target!r} "
        f"(signals: {', '.join(incident.signals) or 'none'}): {' -> '.join(chosen)}"
        f"{f'; {breaker.reason}' if breaker is not None and breaker.state is BreakerState.HALF_OPEN else ''}",
        round=round,
        covers=incident.anomaly_ids,
    )
    return PlanDecision(plan, plan.rationale)


def _remedy(catalog: Catalog, target: str, problem: str) -> tuple[str, ...]:
    remedies = catalog.remedies.get(target, {})
    if problem in remedies:
        return tuple(remedies[problem])
    if problem in CRITICAL_CLASSES:
        return ()  # a security, leak or data-loss incident gets only what is declared for it, never a default restart
    if "default" in remedies:
        return tuple(remedies["default"])
    return (RESTART_PROCESS,) if RESTART_PROCESS in catalog.declared(target) else ()
