"""False-positive budget: a noisy series cannot page more than `per_day` times a day.

The statistical detector judges every series by its own history, so on some series it will be
wrong again and again; each wrong episode is a page. The budget counts the episodes a signal's
statistical evidence opened in the last `window_s`. While that count is at `per_day`, the signal's
last episode is kept open (not resolved), so further bursts are merged into it as updates instead
of paging again; each merged burst raises the signal's open threshold by `threshold_step` (the
raise halves every `relax_s`), so the detector also asks more of that series before it speaks.
Once the oldest counted episode leaves the window the episode may resolve as usual. Pure: `now`
comes in as an argument, in epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class EpisodeBudget:
    """How many statistical episodes one signal may open per window, and how its threshold adapts."""

    per_day: int = 0  # 0 = no budget
    window_s: float = 86_400.0
    threshold_step: float = 0.1
    relax_s: float = 86_400.0
    max_threshold: float = 0.99

    def __post_init__(self) -> None:
        if self.per_day < 0 or self.window_s <= 0 or self.relax_s <= 0 or self.threshold_step < 0:
            raise ValueError("need per_day >= 0, window_s > 0, relax_s > 0 and threshold_step >= 0")


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One signal's recent episode starts, its merged bursts and its threshold raise."""

    starts: tuple[float, ...] = ()
    merged: int = 0
    raise_by: float = 0.0
    raised_at: float = 0.0


def _recent(state: BudgetState, now: float, budget: EpisodeBudget) -> tuple[float, ...]:
    return tuple(t for t in state.starts if now - t < budget.window_s)


def raise_now(state: BudgetState, now: float, budget: EpisodeBudget) -> float:
    """The threshold raise in force at `now` (decayed since it was last set)."""
    if state.raise_by <= 0.0:
        return 0.0
    return state.raise_by * float(0.5 ** (max(now - state.raised_at, 0.0) / budget.relax_s))


def open_threshold(state: BudgetState, base: float, now: float, budget: EpisodeBudget) -> float:
    """The score a sample of this signal needs to open (or extend) an episode at `now`."""
    return min(budget.max_threshold, max(base, base + raise_now(state, now, budget)))


def exhausted(state: BudgetState, now: float, budget: EpisodeBudget) -> bool:
    """Whether the signal has used its budget: its open episode must then stay open (merge)."""
    return budget.per_day > 0 and len(_recent(state, now, budget)) >= budget.per_day


def opened(state: BudgetState, now: float, budget: EpisodeBudget) -> BudgetState:
    """Count a new episode started at `now`."""
    return replace(state, starts=(*_recent(state, now, budget), now), merged=0)


def merged(state: BudgetState, now: float, budget: EpisodeBudget) -> BudgetState:
    """Count a burst merged into the open episode; raise the signal's threshold one step."""
    raised = raise_now(state, now, budget) + budget.threshold_step
    return replace(state, starts=_recent(state, now, budget), merged=state.merged + 1, raise_by=raised, raised_at=now)


def note(state: BudgetState, base: float, now: float, budget: EpisodeBudget) -> str:
    """The sentence added to a merged episode's explanation."""
    count = len(_recent(state, now, budget))
    hours = budget.window_s / 3600.0
    return (
        f"noisy series: {count} episodes in the last {hours:g} h reached its budget of {budget.per_day}; "
        f"{state.merged} later burst{'s' if state.merged != 1 else ''} merged into this episode, "
        f"its threshold raised from {base:.2f} to {open_threshold(state, base, now, budget):.2f}"
    )
