"""Declarative response policy: grouping, severity rules, inhibition, escalation (the manual's defaults)."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from shared.models import Impact, Severity, Team


class Rule(BaseModel):
    """Base of policy models: immutable, unknown keys rejected so typos in YAML are caught."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class GroupingPolicy(Rule):
    """How anomalies become incidents (Alertmanager's grouping ideas).

    ``group_by`` labels form the group key; ``group_wait_s`` holds the first page so a storm is
    gathered into it; ``group_interval_s`` is the least time between update notices of one incident;
    ``repeat_interval_s`` re-sends a page to the teams already paged while nobody acknowledges.
    ``raise_wait_s`` holds a rise to a higher severity caused by a target going down on an open
    incident, so that the moment down of a recovery action in flight (a restart) is not paged as a
    new outage; ``recovery_hold_s`` is the longest the rise waits for that recovery's verdict.
    ``split_by_problem``: a target has one open incident per problem class (`shared.problems`); an
    anomaly of a class an open incident explains (an error burst while the target is down) joins it.
    ``recovery_disruption_s``: an anomaly of a target that begins while a recovery step runs on it,
    or this long after the step completed, is marked as caused by the recovery (never a reason to
    raise severity or escalate).
    """

    group_by: tuple[str, ...] = ("service",)
    group_wait_s: float = Field(30.0, ge=0)
    group_interval_s: float = Field(300.0, ge=0)
    repeat_interval_s: float = Field(4 * 3600.0, gt=0)
    raise_wait_s: float = Field(30.0, ge=0)
    recovery_hold_s: float = Field(900.0, ge=0)
    split_by_problem: bool = True
    recovery_disruption_s: float = Field(30.0, ge=0)


class SeverityRule(Rule):
    """Anomalies with one of ``impacts`` (and all ``match`` labels) get ``severity``; first match wins."""

    name: str
    severity: Severity
    impacts: tuple[Impact, ...] = ()
    match: dict[str, str] = Field(default_factory=dict)
    reason: str = ""


class InhibitRule(Rule):
    """An open incident matching ``source`` suppresses new anomalies matching ``target``.

    Both sides are label matchers; ``equal`` names labels whose values must agree between the
    inhibiting incident and the suppressed anomaly (Alertmanager's ``equal``).
    """

    name: str
    source: dict[str, str]
    target: dict[str, str]
    equal: tuple[str, ...] = ()


class EscalationStep(Rule):
    """Page ``teams`` when the incident is still unacknowledged ``after_s`` seconds into its severity."""

    after_s: float = Field(ge=0)
    teams: tuple[Team, ...]


class EscalationPolicy(Rule):
    """Escalation steps and the response target (acknowledge within) of one severity."""

    response_target_s: float = Field(ge=0)
    steps: tuple[EscalationStep, ...]


MANUAL_SEVERITY_RULES: Final[tuple[SeverityRule, ...]] = (
    SeverityRule(
        name="service-down",
        severity=Severity.CRITICAL,
        impacts=(Impact.SERVICE_DOWN,),
        reason="service fully down",
    ),
    SeverityRule(
        name="data-leak",
        severity=Severity.CRITICAL,
        impacts=(Impact.DATA_LOSS,),
        match={"problem": "leak"},
        reason="data leak",
    ),
    SeverityRule(
        name="data-loss",
        severity=Severity.CRITICAL,
        impacts=(Impact.DATA_LOSS,),
        reason="data loss or leak",
    ),
    SeverityRule(
        name="security",
        severity=Severity.CRITICAL,
        impacts=(Impact.SECURITY,),
        reason="security incident",
    ),
    SeverityRule(
        name="major-function",
        severity=Severity.MAJOR,
        impacts=(Impact.MAJOR_FUNCTION,),
        reason="major function failing",
    ),
    SeverityRule(
        name="severe-degradation",
        severity=Severity.MAJOR,
        impacts=(Impact.SEVERE_DEGRADATION,),
        reason="severe performance degradation",
    ),
    SeverityRule(
        name="partial-outage",
        severity=Severity.MAJOR,
        impacts=(Impact.PARTIAL_OUTAGE,),
        reason="partial outage",
    ),
    SeverityRule(
        name="partial-function",
        severity=Severity.MINOR,
        impacts=(Impact.PARTIAL_FUNCTION,),
        reason="partial function failure",
    ),
    SeverityRule(
        name="slight-degradation",
        severity=Severity.MINOR,
        impacts=(Impact.SLIGHT_DEGRADATION, Impact.RESOURCE_PRESSURE),
        reason="slight degradation",
    ),
)

MANUAL_INHIBIT_RULES: Final[tuple[InhibitRule, ...]] = (
    InhibitRule(
        name="host-down-inhibits-its-services",
        source={"scope": "host", "impact": Impact.SERVICE_DOWN.value},
        target={"scope": "service"},
        equal=("host",),
    ),
    InhibitRule(
        name="critical-inhibits-minor-symptoms",
        source={"severity": Severity.CRITICAL.value},
        target={"severity": Severity.MINOR.value},
        equal=("service",),
    ),
)

_MIN: Final = 60.0
_HOUR: Final = 3600.0

MANUAL_ESCALATION: Final[dict[Severity, EscalationPolicy]] = {
    Severity.CRITICAL: EscalationPolicy(
        response_target_s=15 * _MIN,
        steps=(
            EscalationStep(after_s=0, teams=(Team.L1, Team.L2)),
            EscalationStep(after_s=15 * _MIN, teams=(Team.L3,)),
        ),
    ),
    Severity.MAJOR: EscalationPolicy(
        response_target_s=2 * _HOUR,
        steps=(
            EscalationStep(after_s=0, teams=(Team.L1,)),
            EscalationStep(after_s=2 * _HOUR, teams=(Team.L2,)),
            EscalationStep(after_s=4 * _HOUR, teams=(Team.L3,)),
        ),
    ),
    Severity.MINOR: EscalationPolicy(
        response_target_s=4 * _HOUR,
        steps=(
            EscalationStep(after_s=0, teams=(Team.L1,)),
            EscalationStep(after_s=4 * _HOUR, teams=(Team.L2,)),
        ),
    ),
}


class ResponsePolicy(Rule):
    """Everything the pure core decides with; built from settings, passed to every decision."""

    grouping: GroupingPolicy = GroupingPolicy()
    severity_rules: tuple[SeverityRule, ...] = MANUAL_SEVERITY_RULES
    default_severity: Severity = Severity.MINOR
    inhibit_rules: tuple[InhibitRule, ...] = MANUAL_INHIBIT_RULES
    escalation: dict[Severity, EscalationPolicy] = Field(default_factory=lambda: dict(MANUAL_ESCALATION))
    auto_resolve_after_s: float = Field(300.0, ge=0)
    evidence_limit: int = Field(10, ge=1)
