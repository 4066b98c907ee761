"""Corroboration across the series of one host: weak evidence that coincides with alerts elsewhere.

A fault on a server rarely shows in one metric alone. In the metrics that show it less, the sample
often leaves its own record envelopes only slightly (a low score), while other metrics of the same
host alert at the same moment. Judged alone, each series must either miss those weak departures or
page for every such wiggle. Judged together, a series whose own sample is outside its envelopes
(severity > 0) takes the host's concurrent evidence: the two strongest alerts that other series of
its host raise at the same step, combined as independent evidence (1 - (1 - a)(1 - b): two metrics
alerting together say more than one). It takes that evidence only up to ``cap_ratio`` times its own
strength (score 1 - (1 - severity) ** cap_ratio): a series that barely leaves its envelopes is lifted
a little, not to the host's strongest alert, so a host-wide alert does not page for every metric
that happened to wiggle. A series inside all its envelopes is never raised, and a host with one
series is never changed. Pure and causal: it reads one step's results, nothing earlier.

The host's evidence is also weighed by how much of the host departs with it: it counts as
1 - (1 - evidence) ** (share ** share_power), where share is the fraction of the series' other
usable series that are outside their own envelopes at that step (the same scale-free share as the
joint jump view below). A lone alert on one metric (often a false one) barely lifts the metrics that
happen to wiggle with it; a fault that moves much of the host lifts them nearly fully. share_power 0
takes the evidence whole (the share ignored), 1 weighs it by the share itself; the
cross-validation bench lets the training folds choose it.

The long-horizon envelopes miss one kind of host fault: a synchronous dip of a few per cent in
several metrics, months after a huge jump set their records. Each series therefore also keeps a
recent jump view (kernel: its jump against the two largest jumps of the last few days), which is
too common to score alone. Here it is weighed by the host: a series that sets a recent jump record
scores 1 - (1 - recent) ** share, where share is the fraction of its host's other usable series
that set one in the same step (its strength times the share, in the kernel's units). A jump
alone on its host counts for nothing, a jump that the whole host makes counts fully; the share
is scale-free and has no constant. The score is the higher of this and the capped raise above.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .kernel import StepResult


def strongest_others(score: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series, the two highest scores of other series of its group (0: none) and the first one's index (-1)."""
    n = score.size
    order = np.lexsort((-score, groups))  # by group, then score from highest
    g_sorted = groups[order]
    starts = np.flatnonzero(np.concatenate(([True], g_sorted[1:] != g_sorted[:-1])))
    sizes = np.diff(np.append(starts, n))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, sizes)  # 0 = its group's top series
    size = np.empty(n, dtype=np.int64)
    size[order] = np.repeat(sizes, sizes)
    start = np.empty(n, dtype=np.int64)
    start[order] = np.repeat(starts, sizes)

    def at(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The score and index of each series' group member at rank ``k`` (0, -1 where there is none)."""
        ok = k < size
        idx = np.where(ok, order[np.minimum(start + k, n - 1)], -1)
        return np.where(ok, score[np.maximum(idx, 0)], 0.0), idx

    first_rank = np.where(rank == 0, 1, 0)  # the best other: the top, or the runner-up for the top itself
    second_rank = np.where(rank <= 1, 2, 1)
    best, best_idx = at(first_rank)
    runner, _ = at(second_rank)
    return best, runner, best_idx


def strongest_other(score: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per series, the highest score of another series of its group and that series' index (-1: none)."""
    best, _, idx = strongest_others(score, groups)
    return best, idx


def host_share(flag: np.ndarray, usable: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per series, the share of the other usable series of its group that are flagged (0: no other)."""
    group = groups if groups.size and groups.min() >= 0 else np.unique(groups, return_inverse=True)[1]
    counted, flagged = usable.astype(float), (flag & usable).astype(float)
    others = np.bincount(group, weights=counted)[group] - counted
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(others > 0, (np.bincount(group, weights=flagged)[group] - flagged) / others, 0.0)


def raise_scores(
    score: np.ndarray,
    severity: np.ndarray,
    usable: np.ndarray,
    groups: np.ndarray,
    cap_ratio: float,
    recent: np.ndarray | None = None,
    share_power: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the corroborated scores and, per series, the series whose alert raised it most (-1: not raised).

    ``usable`` marks the series whose sample counts (valid, past warm-up); ``groups[i]`` names
    series ``i``'s host (equal ids: same host); ``cap_ratio`` bounds the raise (module docstring).
    ``recent``, the recent jump view's severities (`StepResult.recent`), adds the host's joint jump
    (module docstring); None leaves it out. ``share_power`` weighs the evidence by the share of the
    host that departs with the series (module docstring; 0: taken whole).
    """
    groups = np.asarray(groups)
    raisable = (severity > 0) & usable
    out, by = score.copy(), np.full(score.size, -1, dtype=np.intp)
    if raisable.any():  # only the hosts with a raisable series are read (often none: then none changes)
        rows = np.flatnonzero(np.isin(groups, groups[raisable]))
        raised, raised_by = _raised(score[rows], severity[rows], usable[rows], groups[rows], cap_ratio, share_power)
        out[rows] = raised
        by[rows] = np.where(raised_by >= 0, rows[np.maximum(raised_by, 0)], -1)  # back to this step's numbering
    if recent is None:
        return out, by
    jumped = usable & (recent > 0)
    if not jumped.any():  # the common step: no recent record anywhere
        return out, by
    joint = np.where(jumped, 1.0 - (1.0 - recent) ** host_share(jumped, usable, groups), 0.0)
    wins = joint > out
    if not wins.any():
        return out, by
    _, leader = strongest_other(np.where(jumped, recent, 0.0), groups)
    return np.where(wins, joint, out), np.where(wins, leader, by)


def _raised(
    score: np.ndarray,
    severity: np.ndarray,
    usable: np.ndarray,
    groups: np.ndarray,
    cap_ratio: float,
    share_power: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``raise_scores`` without the joint jump, over whole hosts: scores, and the raising series (-1: not raised)."""
    best, runner, other = strongest_others(score, groups)
    evidence = 1.0 - (1.0 - best) * (1.0 - runner)
    if share_power > 0.0:
        departing = host_share(severity > 0, usable, groups)
        evidence = 1.0 - (1.0 - evidence) ** (departing**share_power)
    lifted = np.minimum(evidence, 1.0 - (1.0 - severity) ** cap_ratio)
    raised = (severity > 0) & usable & (lifted > score)
    return np.where(raised, lifted, score), np.where(raised, other, -1)


def corroborate(
    result: StepResult, groups: np.ndarray, cap_ratio: float, recent: bool = True, share_power: float = 0.0
) -> StepResult:
    """Return the step result with each series raised by its host's concurrent alerts (and joint jumps)."""
    usable = result.valid & ~result.warming
    joint = result.recent if recent else None
    score, _ = raise_scores(result.score, result.severity, usable, groups, cap_ratio, joint, share_power)
    return replace(result, score=score)
