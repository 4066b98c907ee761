"""A circuit breaker per target: repeated failed recoveries stop automatic actions on it.

Closed: actions run. After ``failures`` failed recoveries (a step failed or verification did)
within ``window_s`` it opens: no automatic action, the incident escalates. After ``cooldown_s``
since the last failure it is half-open: one trial plan may run; its failure opens the breaker
again, its verified recovery closes it. Pure: the outcome history and the clock are arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class BreakerPolicy:
    """How many failed recoveries within ``window_s`` open the breaker; how long it stays open."""

    failures: int = 3
    window_s: float = 1800.0
    cooldown_s: float = 600.0


class BreakerState(StrEnum):
    """The breaker's position."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerVerdict:
    """The breaker's state for a target, and why (shown in the plan's or the refusal's reason)."""

    state: BreakerState
    reason: str


def breaker_state(
    failures: Sequence[float],
    verified: Sequence[float],
    action_times: Sequence[float],
    *,
    now: float,
    policy: BreakerPolicy,
) -> BreakerVerdict:
    """Return the breaker of a target from when its recoveries failed, were verified, and its actions ran.

    Only failures after the last verified recovery count. Half-open allows one trial: an action
    started after the cool-down means the trial is under way, so the breaker stays open meanwhile.
    """
    last_ok = max(verified, default=float("-inf"))
    recent = sorted(t for t in failures if t > last_ok)
    if not recent:
        return BreakerVerdict(BreakerState.CLOSED, "closed")
    last = recent[-1]
    in_window = [t for t in recent if last - policy.window_s <= t]
    if len(in_window) < policy.failures:
        return BreakerVerdict(BreakerState.CLOSED, f"closed ({len(in_window)} of {policy.failures} failures)")
    opened = f"{len(in_window)} failed recoveries within {policy.window_s:g}s"
    reopens = last + policy.cooldown_s
    if now < reopens:
        return BreakerVerdict(BreakerState.OPEN, f"circuit open: {opened}; half-open in {reopens - now:.0f}s")
    if any(t >= reopens for t in action_times):
        return BreakerVerdict(BreakerState.OPEN, f"circuit open: {opened}; a half-open trial is under way")
    return BreakerVerdict(BreakerState.HALF_OPEN, f"circuit half-open after {opened}: one trial action")
