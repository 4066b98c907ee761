"""Headless fault scenarios: start the stack, inject a fault, follow the chain until the RCA is out."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from incidentctl import api_client, stack
from incidentctl.chaos import CRITICAL_FAULTS, SCENARIO_FAULTS, ChaosError
from incidentctl.chaos_publish import FAULT_TARGET, demo_status, inject_and_record
from incidentctl.demo_config import DEMO_TARGET, emergency_actions
from incidentctl.estate.backup_policy import BackupStatus
from incidentctl.estate.runner import EstateState
from incidentctl.exits import rjust, say
from incidentctl.fault_checks import FAULT_CHECKS
from shared import events as ev
from shared import topics
from shared.events import Event
from shared.metric_names import HTTP_UP
from shared.models import Incident, MetricsObserved
from shared.replay import follow

FAULTS: Final = SCENARIO_FAULTS
FAULT_PROBLEM: Final = {
    "crash": "down",
    "cpu-hog": "cpu",
    "error-burst": "errors",
    "slow": "latency",
    "data-loss": "data_loss",
    "primary-down": "down",
    "auth-attack": "security",
    "exfiltrate": "leak",
}
"""The problem class (`shared.problems`) of the incident each fault should open."""
CRITICAL_TEAMS: Final = ("L1", "L2")
"""Who a Critical incident pages at once (the manual: L1 and L2 together, L3 after the response target)."""
MILESTONES: Final = (
    "fault_injected",
    "first_anomaly",
    "incident_opened",
    "notification",
    "recovery_started",
    "recovery_verified",
    "rca_published",
)
EMERGENCY_MILESTONES: Final = ("approved", "fault_checked")
"""Besides `MILESTONES`, for a Critical fault: the emergency action approved, the fresh check passed."""
WARMUP_SCRAPES: Final = 10
"""Scrapes in which every probe of the demo was answered (the last one among them) before a fault goes in."""


@dataclass
class ScenarioResult:
    """What happened after one injected fault, as the JSON printed by ``scenario run``."""

    fault: str
    target: str = DEMO_TARGET
    incident_id: str | None = None
    severity: str | None = None
    timestamps: dict[str, str] = field(default_factory=dict)
    seconds_after_fault: dict[str, float] = field(default_factory=dict)
    incident_resolved: str | None = None
    rca_top_cause: dict[str, Any] | None = None
    report_path: str | None = None
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    severity_changes: list[str] = field(default_factory=list)
    paged_teams: list[str] = field(default_factory=list)
    actions_run: dict[str, int] = field(default_factory=dict)
    approvals: list[str] = field(default_factory=list)
    fault_check: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    incidents_seen: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the whole chain happened, as the fault's class requires."""
        return not self.missing and not self.problems

    def to_json(self) -> dict[str, Any]:
        """Render for ``--json``."""
        return {
            "ok": self.ok,
            "fault": self.fault,
            "target": self.target,
            "incident_id": self.incident_id,
            "severity": self.severity,
            "timestamps": self.timestamps,
            "seconds_after_fault": self.seconds_after_fault,
            "incident_resolved": self.incident_resolved,
            "rca_top_cause": self.rca_top_cause,
            "report_path": self.report_path,
            "anomalies": self.anomalies,
            "missing": self.missing,
            "severity_changes": self.severity_changes,
            "paged_teams": self.paged_teams,
            "actions_run": self.actions_run,
            "approvals": self.approvals,
            "fault_check": self.fault_check,
            "problems": self.problems,
            "incidents_seen": self.incidents_seen,
            "wall_seconds": round(self.wall_seconds, 1),
        }


def format_result(doc: Mapping[str, Any], lang: str | None = None) -> str:
    """The result (`ScenarioResult.to_json`) as ``label: value`` lines, labels right-aligned to 22 cells."""
    return "\n".join(f"{rjust(say(f'sc_{key}', lang), 22)}: {value}" for key, value in doc.items())


class ChainTracker:
    """Folds the events seen after a fault into the scenario's milestones (pure, no I/O).

    Topics are read side by side, so an incident's recovery or notification events may arrive
    before its ``incident.opened``: events seen before the incident is known are kept and folded
    again once it is.
    """

    def __init__(self, result: ScenarioResult, injected_at: datetime) -> None:
        self.result = result
        self.injected_at = injected_at
        self.times: dict[str, datetime] = {"fault_injected": injected_at}
        self.seen: list[Event] = []
        self.followed_problem: str | None = None
        self.milestones = MILESTONES + (EMERGENCY_MILESTONES if result.fault in CRITICAL_FAULTS else ())
        self.awaiting: dict[tuple[str, int], str] = {}
        """Steps of the followed incident awaiting approval: (plan id, step index) -> action."""
        self._counted: set[str] = set()

    def _mark(self, milestone: str, at: datetime) -> None:
        self.times[milestone] = min(at, self.times.get(milestone, at))

    def observe(self, event: Event) -> None:
        """Update milestones with one event from any topic."""
        known = self.result.incident_id
        if not isinstance(event, ev.MetricsObserved):
            self.seen.append(event)
        self._fold(event)
        if self.result.incident_id != known:  # events of the incident may have come before its opening
            for earlier in self.seen[:-1]:
                self._fold(earlier)

    def _fold(self, event: Event) -> None:
        r, inc = self.result, self.result.incident_id
        match event:
            case ev.AnomalyDetected() if event.data.target == r.target:
                if event.time >= self.injected_at:
                    self._mark("first_anomaly", event.time)
                    a = event.data
                    if any(seen["id"] == a.anomaly_id for seen in r.anomalies):
                        return
                    r.anomalies.append(
                        {
                            "id": a.anomaly_id,
                            "at": event.time.isoformat(),
                            "signal": a.signal,
                            "kind": a.kind.value,
                            "sources": a.labels.get("sources", a.kind.value).split(","),
                            "impact": a.impact.value,
                            "summary": a.summary,
                            "samples": list(a.samples[:2]),
                        }
                    )
            case ev.IncidentOpened() if event.data.incident.target == r.target:
                opened = event.data.incident
                seen = f"{opened.incident_id} {opened.problem} {opened.severity.value}: {opened.title[:80]}"
                if event.time >= self.injected_at and seen not in r.incidents_seen:
                    r.incidents_seen.append(seen)
                if event.time >= self.injected_at and (inc is None or self._better(opened)):
                    self._follow(event)
            case _ if inc is None:
                return
            case ev.IncidentUpdated() | ev.IncidentEscalated() if event.data.incident.incident_id == inc:
                severity = event.data.incident.severity.value
                if severity != r.severity:
                    change = f"{r.severity} -> {severity}: {event.data.reason}"
                    r.severity_changes.append(f"{event.time.isoformat()} {change}")
                r.severity, self.followed_problem = severity, event.data.incident.problem
            case ev.NotificationDelivered() if event.data.incident_id == inc:
                self._mark("notification", event.time)
                if event.data.team not in r.paged_teams:
                    r.paged_teams.append(event.data.team)
            case ev.RecoveryApprovalRequested() if event.data.incident_id == inc:
                self.awaiting[(event.data.plan_id, event.data.step.index)] = event.data.step.action
            case ev.RecoveryApproved() | ev.RecoveryDenied() if event.data.incident_id == inc:
                self.awaiting.pop((event.data.plan_id, event.data.step.index), None)
                verdict = "approved" if isinstance(event, ev.RecoveryApproved) else "denied"
                entry = f"{event.data.step.action} {verdict} by {event.data.actor or '?'}"
                if entry not in r.approvals:
                    r.approvals.append(entry)
                if verdict == "approved":
                    self._mark("approved", event.time)
            case ev.RecoveryStepStarted() if event.data.incident_id == inc:
                self._mark("recovery_started", event.time)
                if event.data.step is not None and event.id not in self._counted:
                    self._counted.add(event.id)
                    r.actions_run[event.data.step.action] = r.actions_run.get(event.data.step.action, 0) + 1
            case ev.RecoveryVerified() if event.data.incident_id == inc:
                self._mark("recovery_verified", event.time)
            case ev.IncidentResolved() if event.data.incident.incident_id == inc:
                r.incident_resolved = event.time.isoformat()
            case ev.RootCauseIdentified() if event.data.incident_id == inc:
                self._mark("rca_published", event.time)
                if self.times["rca_published"] < event.time:
                    return  # a later analysis (e.g. at resolution) does not replace the first
                top = event.data.ranking[0] if event.data.ranking else None
                r.rca_top_cause = top.model_dump() if top is not None else None
                r.report_path = event.data.report_path

    def _better(self, opened: Incident) -> bool:
        """Tell whether a later incident on the target is the fault's own, the one followed so far not.

        A fault can open several incidents, one per problem class (a crash's log line may open an
        errors incident a moment before the outage opens its own): the one of the fault's class wins.
        """
        wanted = FAULT_PROBLEM.get(self.result.fault)
        return wanted is not None and opened.problem == wanted and self.followed_problem != wanted

    def _follow(self, event: ev.IncidentOpened) -> None:
        """Follow ``event``'s incident from now on; milestones of an incident followed before are dropped."""
        r, incident = self.result, event.data.incident
        for milestone in ("incident_opened", "notification", "recovery_started", "recovery_verified", "rca_published"):
            self.times.pop(milestone, None)
        r.incident_id, r.severity, self.followed_problem = (
            incident.incident_id,
            incident.severity.value,
            incident.problem,
        )
        r.incident_resolved = r.report_path = None
        r.rca_top_cause = None
        r.severity_changes, r.paged_teams, r.actions_run, r.approvals = [], [], {}, []
        self.times.pop("approved", None)
        self.awaiting.clear()
        self._counted.clear()
        self._mark("incident_opened", event.time)

    def mark_checked(self, at: datetime) -> None:
        """The fault's own fresh check passed at ``at``."""
        self._mark("fault_checked", at)

    @property
    def complete(self) -> bool:
        """True once every milestone was seen."""
        return all(m in self.times for m in self.milestones)

    def finish(self) -> ScenarioResult:
        """Write timestamps, what is missing and what went otherwise than the fault's class requires."""
        r, milestones = self.result, self.milestones
        r.timestamps = {m: self.times[m].isoformat() for m in milestones if m in self.times}
        r.seconds_after_fault = {
            m: round((self.times[m] - self.injected_at).total_seconds(), 2) for m in milestones if m in self.times
        }
        r.missing = [m for m in milestones if m not in self.times]
        r.problems = emergency_problems(r) if r.fault in CRITICAL_FAULTS else []
        return r


def emergency_problems(result: ScenarioResult) -> list[str]:
    """What a Critical fault's chain lacks besides milestones (an empty list when nothing).

    Critical severity, L1 and L2 paged, the RCA naming the struck target, each emergency action run once.
    """
    problems = []
    if result.severity != "critical":
        problems.append(f"severity {result.severity}, not critical")
    problems += [f"{team} not paged" for team in CRITICAL_TEAMS if team not in result.paged_teams]
    cause = (result.rca_top_cause or {}).get("entity")
    if cause != result.target:
        problems.append(f"RCA names {cause}, not {result.target}")
    expected = emergency_actions(result.target, FAULT_PROBLEM[result.fault])
    for action in expected:
        runs = result.actions_run.get(action, 0)
        if runs != 1:
            problems.append(f"{action} ran {runs} times, not once")
    return problems


async def _wait_for_warmup(state: stack.StackState, *, timeout_s: float) -> None:
    """Wait until the demo has answered every probe of `WARMUP_SCRAPES` scrapes, the latest one included.

    A fault goes into a live service: a demo still starting (or restarting) would refuse the fault.
    """
    answered = 0
    async with asyncio.timeout(timeout_s):
        async for _, event in follow(state.settings(), [topics.METRICS.name]):
            scrape = event.data if isinstance(event, ev.MetricsObserved) else None
            if scrape is not None and scrape.target == DEMO_TARGET and all_probes_up(scrape):
                answered += 1
                if answered >= WARMUP_SCRAPES:
                    return


def all_probes_up(scrape: MetricsObserved) -> bool:
    """Whether every HTTP probe of ``scrape`` was answered (False for a scrape without probes)."""
    ups = [sample.value for sample in scrape.samples if sample.name == HTTP_UP]
    return bool(ups) and min(ups) >= 1.0


async def _wait_for_fresh_backup(state: stack.StackState, *, timeout_s: float) -> None:
    """Wait for a good backup taken from now on (the first one, at start, holds no orders yet)."""
    estate = EstateState.load(state.path)
    if estate is None:
        return
    since = time.time()
    async with asyncio.timeout(timeout_s):
        while True:
            with contextlib.suppress(OSError, ValueError, TypeError):
                status = BackupStatus.from_json(estate.status_file.read_text())
                if status.last_ok_at is not None and status.last_ok_at >= since:
                    return
            await asyncio.sleep(0.5)


class Operator:
    """The person a scenario stands in for: approves each emergency step of the followed incident, once."""

    def __init__(self, state: stack.StackState) -> None:
        self.state = state
        self.sent: set[tuple[str, int]] = set()

    async def approve(self, tracker: ChainTracker) -> None:
        """Approve what awaits approval through the API (retried while the responder has not seen the request)."""
        incident = tracker.result.incident_id
        for key, action in list(tracker.awaiting.items()):
            if incident is None or key in self.sent:
                continue
            self.sent.add(key)
            text = f"scenario {tracker.result.fault}: approve {action}"
            for _ in range(20):
                try:
                    await asyncio.to_thread(
                        api_client.decide, self.state.api_url, incident, "approve",
                        token=self.state.api_token, actor="scenario-operator", text=text,
                    )  # fmt: skip
                    break
                except api_client.ApiError as exc:
                    if exc.status not in NOT_SEEN_YET:
                        raise
                    await asyncio.sleep(0.5)


NOT_SEEN_YET: Final = (404, 409)
"""The API's answers while its read model lags the topics: the incident (404) or the request (409) is not in it yet."""


class FaultCheck:
    """The fault's fresh check (`incidentctl.fault_checks`), run once recovery was verified, at most once a second."""

    def __init__(self, state: stack.StackState, fault: str) -> None:
        self.check, self.estate = FAULT_CHECKS.get(fault), EstateState.load(state.path)
        self.last = 0.0

    async def run(self, tracker: ChainTracker) -> None:
        """Check when due; mark the milestone when it passes."""
        if self.check is None or self.estate is None or "fault_checked" in tracker.times:
            return
        if "recovery_verified" not in tracker.times or time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        passed, detail = await asyncio.to_thread(self.check, self.estate)
        tracker.result.fault_check = {"passed": passed, **detail}
        if passed:
            tracker.mark_checked(datetime.now(UTC))


async def _drive(
    state: stack.StackState, result: ScenarioResult, *, timeout_s: float, log: Callable[[str], None]
) -> None:
    warmup_s = min(60.0, timeout_s / 2)
    try:
        await _wait_for_warmup(state, timeout_s=warmup_s)
    except TimeoutError:
        raise ChaosError(
            f"the demo answered fewer than {WARMUP_SCRAPES} scrapes in {warmup_s:g} s; {demo_status(state)}"
        ) from None
    if result.fault == "data-loss":
        await _wait_for_fresh_backup(state, timeout_s=90.0)
    log(say("sc_injecting", fault=result.fault, target=result.target))
    injected_at = await inject_and_record(state, result.fault)
    tracker, operator, check = ChainTracker(result, injected_at), Operator(state), FaultCheck(state, result.fault)
    names = [t.name for t in topics.ALL_TOPICS if t.events]
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            async for _, event in follow(state.settings(), names):
                tracker.observe(event)
                await operator.approve(tracker)
                await check.run(tracker)
                if tracker.complete:
                    break
    tracker.finish()


def run(
    fault: str,
    *,
    root: Path,
    timeout_s: float = 170.0,
    log: Callable[[str], None] = print,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScenarioResult:
    """Run one fault scenario on a fresh embedded stack under ``root`` and stop it afterwards."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")
    started = time.monotonic()
    result = ScenarioResult(fault=fault, target=FAULT_TARGET.get(fault, DEMO_TARGET))
    state = stack.start(root, log=log, overrides=overrides, estate=fault in CRITICAL_FAULTS)
    try:
        asyncio.run(_drive(state, result, timeout_s=timeout_s, log=log))
    finally:
        stack.stop(state, log=log)
        result.wall_seconds = time.monotonic() - started
    return result
