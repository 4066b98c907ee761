"""Corroboration across the series of one host: weak evidence that coincides with an alert elsewhere.

A fault on a server rarely shows in one metric alone. In the metrics that show it less, the sample
often leaves its own record envelopes only slightly (a low score), while another metric of the same
host alerts strongly at the same moment. Judged alone, each series must either miss those weak
departures or page for every such wiggle. Judged together, a series whose own sample is outside its
envelopes (severity > 0) takes the strongest alert that another series of its host raises at the
same step. A series inside all its envelopes is never raised, and a host with one series is never
changed, so nothing here needs a constant: the rule only lets one series' evidence vouch for
another's at the same timestamp. Pure and causal: it reads one step's results, nothing earlier.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .kernel import StepResult


def strongest_other(score: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per series, the highest score of another series of its group and that series' index (-1: none)."""
    n = score.size
    order = np.lexsort((-score, groups))  # by group, then score from highest
    g_sorted = groups[order]
    starts = np.flatnonzero(np.concatenate(([True], g_sorted[1:] != g_sorted[:-1])))
    sizes = np.diff(np.append(starts, n))
    first = np.repeat(order[starts], sizes)  # per sorted position: its group's top series
    second_pos = np.where(sizes > 1, starts + 1, starts)
    second = np.repeat(order[second_pos], sizes)
    has_other = np.repeat(sizes > 1, sizes)
    top = np.empty(n, dtype=np.int64)
    runner = np.empty(n, dtype=np.int64)
    top[order], runner[order] = first, second
    other = np.where(top == np.arange(n), runner, top)
    alone = np.empty(n, dtype=bool)
    alone[order] = ~has_other
    other = np.where(alone, -1, other)
    return np.where(other >= 0, score[np.maximum(other, 0)], 0.0), other


def raise_scores(
    score: np.ndarray, severity: np.ndarray, usable: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the corroborated scores and, per series, the series whose alert raised it (-1: not raised).

    ``usable`` marks the series whose sample counts (valid, past warm-up); ``groups[i]`` names
    series ``i``'s host (equal ids: same host).
    """
    other_score, other = strongest_other(score, np.asarray(groups))
    raised = (severity > 0) & usable & (other_score > score)
    return np.where(raised, other_score, score), np.where(raised, other, -1)


def corroborate(result: StepResult, groups: np.ndarray) -> StepResult:
    """Return the step result with each series outside its envelopes raised to its host's strongest other alert."""
    score, _ = raise_scores(result.score, result.severity, result.valid & ~result.warming, groups)
    return replace(result, score=score)
