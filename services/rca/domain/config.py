"""Settings of the RCA engine (one set for every system: nothing here is per source)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RcaConfig:
    """Knobs of `rank_causes`; the defaults are the method, not a per-system tuning.

    Attributes:
        start_tolerance_s: how far before the given anomaly start a fault may already show (the
            start is searched for, not trusted); at least one sampling interval is always used.
        history_share_for_tolerance: the margin takes at most this share of the history's span.
        onset_z: robust z-score a column must reach for its first deviation to count as an onset.
        relative_floor: smallest scale of a column relative to its typical level, so that a column
            that was almost constant does not turn a tiny wiggle into a huge z-score.
        excursion_sigmas: the history's widest excursion divided by this is also a floor of the scale,
            so drifting or heavy-tailed columns do not look anomalous for doing what they always do.
        z_saturation: z-score at which the significance of a deviation stops growing.
        wrong_direction_weight: weight of a deviation in the harmless direction (latency falling).
        transient_weight: share of a column's score that depends on its deviation persisting: the
            score is scaled by 1 - transient_weight x (1 - persistence), persistence being the share
            of samples from its first clear crossing to the window's end that stay beyond it.
        breadth_weight: weight of an entity's other deviating signals next to its best one.
        explained_weight: how much an entity's score shrinks when a neighbour's earlier or stronger
            deviation of the same shape explains it.
        explained_floor: share of a column's score kept when other entities' columns fully predict
            its deviation (cross-entity invariants; only with a long history; 1 turns it off).
        log_weight: weight of log evidence (the changed share of an entity's logging, at most log(11))
            next to the metric score.
        hint_weight: weight of the live detector's anomaly score (log-scaled) for an entity.
        earliness_weight: bonus of the leading candidate that deviated strictly first.
        min_lead_s: smallest lead over every other leading candidate that earns the bonus (at least
            two sampling intervals are also required).
        onset_pool: how many leading candidates compete for the earliness bonus.
        onset_pool_share: and only those scoring at least this share of the best candidate's score:
            timing breaks near-ties between strong candidates, it does not promote weak ones.
        impact_weight: weight of log(excess work / most excess work among the leading candidates
            deviating on the same kind of signal): symptoms add less absolute work than their cause.
        impact_floor: smallest excess-work ratio counted (bounds the penalty at log of it).
        cover_share: a deeper leading candidate that added at least this share of another one's
            excess work of the same kind, in total and per request, covers it: the other is its
            symptom and follows right behind (below 1 for measurement noise).
        time_cover_share: the same for waiting time, lower: callers also wait on the callee's
            network leg, which its own latency shows at most in part (a delay on its link).
        rise_cover_share: a leading symptom whose latency clearly rose is put behind a deeper
            contender whose same latency rose no later by at least this share of its rise
            (depth_cover.py: network delay and loss show on the callers); 0 turns it off.
        max_candidates: length of the returned ranking.

    """

    start_tolerance_s: float = 90.0
    history_share_for_tolerance: float = 0.2
    onset_z: float = 3.0
    relative_floor: float = 0.01
    excursion_sigmas: float = 4.0
    z_saturation: float = 300.0
    ratio_saturation: float = 100.0
    wrong_direction_weight: float = 0.5
    transient_weight: float = 0.5
    breadth_weight: float = 0.15
    explained_weight: float = 0.5
    explained_floor: float = 0.3
    log_weight: float = 1.0
    hint_weight: float = 0.5
    earliness_weight: float = 0.25
    min_lead_s: float = 30.0
    onset_pool: int = 10
    onset_pool_share: float = 0.5
    impact_weight: float = 1.0
    impact_floor: float = 0.05
    cover_share: float = 0.8
    time_cover_share: float = 0.45
    rise_cover_share: float = 0.3
    max_candidates: int = 50
