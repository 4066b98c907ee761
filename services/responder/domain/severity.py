"""Severity by the manual: declarative rules from an anomaly's impact to a severity, with a reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from services.responder.domain.grouping import matches
from services.responder.domain.policy import SeverityRule
from shared.models import SEVERITY_RANK, Severity

PROBLEM_REASON: Final = "problem_reason"
"""The anomaly label that explains its Critical class (set by the detector)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A severity and why: the rule that matched and what it means."""

    severity: Severity
    rule: str
    reason: str


def classify(
    labels: Mapping[str, str], rules: Sequence[SeverityRule], *, default: Severity = Severity.MINOR
) -> Verdict:
    """Return the severity of the first rule whose impacts and matchers fit ``labels``.

    The anomaly's own explanation (its ``problem_reason`` label: which words of a log template, how
    far above its usual level the outbound traffic is) follows the rule's reason.
    """
    impact = labels.get("impact", "")
    for rule in rules:
        if rule.impacts and impact not in rule.impacts:  # ``Impact`` is a StrEnum: equal to its value
            continue
        if not matches(labels, rule.match):
            continue
        why = rule.reason or rule.name
        reason = f"{rule.severity.value}: {why} ({impact or 'no impact'}, rule {rule.name})"
        if labels.get(PROBLEM_REASON):
            reason = f"{reason}: {labels[PROBLEM_REASON]}"
        return Verdict(rule.severity, rule.name, reason)
    return Verdict(default, "default", f"{default.value}: no rule matched impact {impact or 'none'} (default)")


def is_higher(a: Severity, b: Severity) -> bool:
    """Return True if ``a`` is strictly more severe than ``b``."""
    return SEVERITY_RANK[a] > SEVERITY_RANK[b]
