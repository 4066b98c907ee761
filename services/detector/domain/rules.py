"""Declarative threshold rules with a sustain duration and hysteresis (the manual's fixed limits).

A rule fires once its condition has held, without a gap in the data, for ``sustain_s`` seconds and
``sustain_samples`` consecutive samples; it clears only when the value is back on the good side of
``clear_value`` (hysteresis: lower than the firing value for a ">=" rule) for ``clear_s`` seconds.
A value inside the band between the two keeps the rule as it is. Missing samples neither fire nor
clear a rule: a silent collector must not resolve an outage. A gap longer than the caller's
``max_gap`` restarts a pending sustain, since the condition was not observed to hold throughout.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Final, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from shared import metric_names as mn
from shared.models import AnomalyKind, Impact


class Op(StrEnum):
    """Comparison of a rule: ``value <op> threshold`` is the bad condition."""

    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"
    EQ = "=="


_COMPARE: Final[dict[Op, Callable[[float, float], bool]]] = {
    Op.GE: operator.ge,
    Op.GT: operator.gt,
    Op.LE: operator.le,
    Op.LT: operator.lt,
    Op.EQ: operator.eq,
}
_CLEARS_BY: Final = {Op.GE: Op.LT, Op.GT: Op.LE, Op.LE: Op.GT, Op.LT: Op.GE}
"""The strict opposite of each ordering: how a value is back on the good side of a limit."""


class ImpactStep(BaseModel):
    """A stronger impact once the value reaches ``at`` (in the rule's bad direction)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: float
    impact: Impact


class ThresholdRule(BaseModel):
    """One fixed limit on one metric, as written in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    metric: str
    op: Op = Op.GE
    value: float
    clear_value: float | None = Field(None, description="hysteresis: clears beyond this value (default: value)")
    sustain_s: float = Field(0.0, ge=0)
    sustain_samples: int = Field(1, ge=1)
    clear_s: float = Field(0.0, ge=0)
    impact: Impact
    steps: tuple[ImpactStep, ...] = ()
    kind: AnomalyKind = AnomalyKind.THRESHOLD
    unit: str = ""
    targets: str = Field("*", description="glob on the target name")
    reason: str = Field("", description="what a breach means, said in the anomaly (problem_reason)")

    def applies_to(self, target: str) -> bool:
        """Return whether this rule watches ``target``."""
        return fnmatchcase(target, self.targets)

    def breached(self, value: float) -> bool:
        """Return whether ``value`` is on the bad side of the firing threshold."""
        return _COMPARE[self.op](value, self.value)

    def cleared(self, value: float) -> bool:
        """Return whether ``value`` is back on the good side of the clearing threshold."""
        limit = self.value if self.clear_value is None else self.clear_value
        if self.op is Op.EQ:
            return value != limit
        return _COMPARE[_CLEARS_BY[self.op]](value, limit)

    def impact_of(self, value: float) -> Impact:
        """Return the impact for ``value``: the last step it reaches, else the base impact."""
        impact = self.impact
        worse = operator.le if self.op in (Op.LE, Op.LT) else operator.ge
        for step in self.steps:
            if worse(value, step.at):
                impact = step.impact
        return impact


class RuleState(NamedTuple):
    """Where one rule stands on one target (a named tuple: one is built per rule and scrape)."""

    active: bool = False
    breach_since: datetime | None = None
    breach_samples: int = 0
    active_since: datetime | None = None
    clear_since: datetime | None = None
    last_seen: datetime | None = None
    last_value: float | None = None
    peak: float | None = None


FRESH: Final = RuleState()
"""The state of a rule that has seen nothing yet."""


def is_quiet(state: RuleState) -> bool:
    """Tell whether a rule is neither active nor pending: its next sample decides as for ``FRESH``."""
    return not state.active and state.breach_since is None


def evaluate(
    rule: ThresholdRule, state: RuleState, value: float | None, *, now: datetime, max_gap: timedelta
) -> RuleState:
    """Advance ``state`` with one sample (``None`` = the metric was missing from this scrape)."""
    if value is None:
        return state
    breached = _COMPARE[rule.op](value, rule.value)  # ``rule.breached(value)``
    if not state.active and not breached:  # the common case: quiet, nothing pending
        return quiet(state, value, now)
    gap = state.last_seen is not None and now - state.last_seen > max_gap
    active, active_since, clear_since = state.active, state.active_since, state.clear_since
    if breached:
        since = state.breach_since if state.breach_since is not None and not gap else now
        same = since == state.breach_since
        samples = state.breach_samples + 1 if same else 1
        peak: float | None = _worse(rule, state.peak if same or active else None, value)
        clear_since = None
    else:
        since, samples, peak = None, 0, _worse(rule, state.peak, value) if active else None
    if not active:
        held = since is not None and now - since >= _span(rule.sustain_s)
        if held and samples >= rule.sustain_samples:
            active, active_since, clear_since = True, since, None
    elif not rule.cleared(value):
        clear_since = None
    else:
        clear_since = clear_since if clear_since is not None and not gap else now
        if now - clear_since >= _span(rule.clear_s):
            return RuleState(last_seen=now, last_value=value)
    return RuleState(active, since, samples, active_since, clear_since, now, value, peak)


@functools.lru_cache(maxsize=256)
def _span(seconds: float) -> timedelta:
    """``timedelta(seconds=seconds)``, remembered (a rule's sustain and clear times, for every sample)."""
    return timedelta(seconds=seconds)


def quiet(state: RuleState, value: float, now: datetime) -> RuleState:
    """What ``evaluate`` gives for a rule that is not active and a value on its good side (nothing pending)."""
    return _new_state(RuleState, (False, None, 0, state.active_since, state.clear_since, now, value, None))


_new_state: Final = tuple.__new__
"""``RuleState``'s constructor without its keyword-handling wrapper (for the hot ``quiet``)."""


def breach_test(rule: ThresholdRule) -> tuple[Callable[[float, float], bool], float]:
    """The comparison and limit of ``rule.breached``: ``compare(value, limit)`` is True on the bad side."""
    return _COMPARE[rule.op], rule.value


def _worse(rule: ThresholdRule, peak: float | None, value: float) -> float:
    if peak is None:
        return value
    return min(peak, value) if rule.op in (Op.LE, Op.LT) else max(peak, value)


def _resource(name: str, metric: str, limit: float, *, sustain_s: float, clear_s: float) -> ThresholdRule:
    return ThresholdRule(
        name=name,
        metric=metric,
        value=limit,
        clear_value=limit - 10.0,
        sustain_s=sustain_s,
        sustain_samples=2,
        clear_s=clear_s,
        impact=Impact.RESOURCE_PRESSURE,
        unit="%",
    )


def _rules(*, sustain_s: float, clear_s: float, error_sustain_s: float) -> tuple[ThresholdRule, ...]:
    down = {"op": Op.EQ, "value": 0.0, "impact": Impact.SERVICE_DOWN, "kind": AnomalyKind.TARGET_DOWN}
    return (
        _resource("host-cpu", mn.HOST_CPU, 90.0, sustain_s=sustain_s, clear_s=clear_s),
        _resource("host-memory", mn.HOST_MEMORY, 90.0, sustain_s=sustain_s, clear_s=clear_s),
        _resource("host-disk", mn.HOST_DISK, 90.0, sustain_s=sustain_s, clear_s=clear_s),
        _resource("process-cpu", mn.PROCESS_CPU, 90.0, sustain_s=sustain_s, clear_s=clear_s),
        ThresholdRule(
            name="http-error-rate",
            metric=mn.HTTP_ERROR_RATE,
            value=0.01,
            clear_value=0.005,
            sustain_s=error_sustain_s,
            sustain_samples=2,
            clear_s=clear_s,
            impact=Impact.PARTIAL_OUTAGE,
            steps=(ImpactStep(at=0.5, impact=Impact.MAJOR_FUNCTION),),
        ),
        ThresholdRule(name="process-down", metric=mn.PROCESS_UP, **down),
        ThresholdRule(name="http-down", metric=mn.HTTP_UP, **down),
        ThresholdRule(
            name="backup-failed",
            metric=mn.BACKUP_LAST_OK,
            op=Op.EQ,
            value=0.0,
            impact=Impact.DATA_LOSS,
            reason="the last backup failed",
        ),
        ThresholdRule(
            name="backup-too-old",
            metric=mn.BACKUP_AGE,
            op=Op.GT,
            value=mn.BACKUP_MAX_AGE_S,
            impact=Impact.DATA_LOSS,
            unit="s",
            reason=f"the last good backup is older than its policy ({mn.BACKUP_MAX_AGE_S / 3600:g} h)",
        ),
    )


DEFAULT_RULES: Final = _rules(sustain_s=300.0, clear_s=300.0, error_sustain_s=120.0)
"""The manual's limits on a production time scale: resources >= 90 % for 5 min, errors >= 1 % for 2 min."""

DEMO_RULES: Final = _rules(sustain_s=6.0, clear_s=4.0, error_sustain_s=3.0)
"""The same limits on the demo's seconds time scale."""
