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


class Classifier:
    """``classify`` by one list of rules, each verdict remembered by the labels the rules read.

    A verdict depends on the ``impact`` label, the ``problem_reason`` label and the labels the
    rules' matchers name, nothing else: anomalies of one kind on many targets share one verdict.
    """

    def __init__(self, rules: Sequence[SeverityRule], default: Severity) -> None:
        self.rules = rules
        self.default = default
        self.read = tuple(sorted({name for rule in rules for name in rule.match}))
        self.verdicts: dict[tuple[str | None, ...], Verdict] = {}

    def __call__(self, labels: Mapping[str, str]) -> Verdict:
        """The verdict ``classify`` gives ``labels``."""
        key = (labels.get("impact"), labels.get(PROBLEM_REASON), *[labels.get(name) for name in self.read])
        verdict = self.verdicts.get(key)
        if verdict is None:
            if len(self.verdicts) >= CLASSIFIER_MEMORY:
                self.verdicts.clear()
            verdict = self.verdicts[key] = classify(labels, self.rules, default=self.default)
        return verdict


CLASSIFIER_MEMORY: Final = 4096
"""Verdicts one ``Classifier`` remembers (label combinations the rules tell apart; past it, it starts over)."""
_CLASSIFIERS: dict[int, Classifier] = {}


def classifier(rules: Sequence[SeverityRule], default: Severity) -> Classifier:
    """The ``Classifier`` of ``rules`` and ``default`` (one per list of rules: a policy's, built once)."""
    found = _CLASSIFIERS.get(id(rules))
    if found is None or found.rules is not rules or found.default is not default:
        if len(_CLASSIFIERS) >= 64:
            _CLASSIFIERS.clear()
        found = _CLASSIFIERS[id(rules)] = Classifier(rules, default)
    return found


def is_higher(a: Severity, b: Severity) -> bool:
    """Return True if ``a`` is strictly more severe than ``b``."""
    return SEVERITY_RANK[a] > SEVERITY_RANK[b]
