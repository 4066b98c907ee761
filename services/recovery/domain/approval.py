"""Approval of recovery steps: which steps wait for a person, and what a wait has come to.

A target may declare, per catalog action, that the action waits for a person's approval (for
every incident, or only for some severities), how long it waits, and what happens when nobody
decides in time (``default``: approve or deny). Pure: the clock and the decisions are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shared.models import ApprovalDefault, Severity


@dataclass(frozen=True)
class ApprovalRule:
    """An action that waits for approval: for ``severities`` (None: every severity) up to ``timeout_s``."""

    timeout_s: float
    default: ApprovalDefault
    severities: frozenset[Severity] | None = None


@dataclass(frozen=True)
class Decision:
    """A person's decision on a waiting step, and when it was recorded."""

    approved: bool
    actor: str
    reason: str
    at: float


class ApprovalStatus(StrEnum):
    """Where a waiting step stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class ApprovalVerdict:
    """The status of a waiting step; ``run`` tells whether the step may run now."""

    status: ApprovalStatus
    run: bool
    detail: str


def approval_rule(action: str, severity: Severity, rules: Mapping[str, ApprovalRule]) -> ApprovalRule | None:
    """Return the rule that makes ``action`` wait for approval at ``severity``, or None (it runs at once)."""
    rule = rules.get(action)
    if rule is None or (rule.severities is not None and severity not in rule.severities):
        return None
    return rule


def approval_status(
    requested_at: float, *, now: float, rule: ApprovalRule, decision: Decision | None
) -> ApprovalVerdict:
    """Return whether a step requested at ``requested_at`` is pending, approved, denied or timed out.

    A decision counts only if recorded before the deadline; after it, the declared default applies.
    """
    deadline = requested_at + rule.timeout_s
    if decision is not None and decision.at <= deadline:
        verb = "approved" if decision.approved else "denied"
        why = f": {decision.reason}" if decision.reason else ""
        status = ApprovalStatus.APPROVED if decision.approved else ApprovalStatus.DENIED
        return ApprovalVerdict(status, decision.approved, f"{verb} by {decision.actor}{why}")
    if now < deadline:
        return ApprovalVerdict(ApprovalStatus.PENDING, False, f"awaiting approval until {rule.timeout_s:g}s")
    run = rule.default is ApprovalDefault.APPROVE
    detail = f"no decision within {rule.timeout_s:g}s: declared default {rule.default.value}"
    return ApprovalVerdict(ApprovalStatus.TIMED_OUT, run, detail)
