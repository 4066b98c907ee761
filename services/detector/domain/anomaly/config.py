"""Global settings of the streaming anomaly detector (the same for every series)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DAY_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Tunables of the record-envelope detector; defaults are global, never per series.

    Attributes:
        warmup_samples: valid samples before any score is emitted.
        fast_alpha: EWMA weight of the fast level (spike residual and level features).
        volatility_alpha: EWMA weight of the mean absolute step (volatility feature).
        slow_alpha: EWMA weight of the slow level (drift feature).
        level_clip: mean absolute steps from the fast level (from its bucket mean for the hourly
            profile) beyond which a sample enters that level clipped: spikes do not drag levels.
        new_level_run: samples in a row beyond that clip, on one side, that make a new level (taken whole).
        slow_clip: the same clip for the slow level, measured from the fast level.
        season_alpha: EWMA weight of one hour-of-day bucket per visit.
        season_residual_alpha: EWMA weight of the smoothed seasonal residual.
        season_buckets: buckets per seasonal period (24 = hour of day).
        season_period_s: seasonal period; used only once the series spans one period.
        baseline_alpha: EWMA weight of each feature's long-run mean (envelope centre).
        envelope_half_life_s: time for a record envelope to shrink halfway to the centre.
        gain: score slope per unit of excess beyond the envelope (in half-ranges).
        suppress_half_life: samples for the after-alert suppression level to halve.
        refire_ratio: a new alert inside a suppression needs this × the previous strength.
        score_half_point: raw strength that maps to a score of 0.5.
        drift_follow: fraction of an excess the drift view's envelope absorbs per sample.
        trend_follow: the same for the trend view (slow level minus its long-run mean).
        trend_margin: half-ranges the trend view must pass its envelope by before it counts.
        trend_cap: most half-ranges the trend view can add (it confirms, it does not re-alert).
        counter: the input is a monotonically increasing counter: score its per-second rate.
        corroborate: a series whose sample leaves its own envelopes takes the concurrent alerts of
            other series of the same host (see `corroborate`); applied by the callers that know
            the hosts (the service per target, the cross-validation bench per server).
        corroborate_cap: a corroborated series is raised to at most this many times its own
            strength. The cross-validation bench lets the training folds choose it.
        corroborate_share_power: the host's evidence counts as 1 - (1 - evidence) ** (share ** this),
            share being the fraction of the series' other series outside their envelopes at that
            step (see `corroborate`); 0 takes it whole. The cross-validation bench lets the
            training folds choose it (0, 0.5 or 1; the default is the middle one).
        corroborate_recent: corroboration also weighs each series' recent jump view by the share of
            its host's other series that set a recent jump record in the same step (see
            `corroborate`); a series alone, or with corroboration off, never uses that view.
        recent_half_life_s: time for the recent jump records to shrink halfway to 0 once they have
            held for a seasonal period: the horizon over which a jump counts as unusually large.
            The cross-validation bench lets the training folds choose it.
        recent_discount_flagged: a jump larger than the largest of the long horizon enters the recent
            jump records only in part, the less the further it passes that top (records set during
            an anomaly do not define normal; `kernel._discounted`); off: every jump enters whole.
            The cross-validation bench lets the training folds choose it.

    """

    warmup_samples: int = 150
    fast_alpha: float = 0.1
    volatility_alpha: float = 0.1
    slow_alpha: float = 0.02
    level_clip: float = 4.0
    new_level_run: int = 3
    slow_clip: float = 2.0
    season_alpha: float = 0.02
    season_residual_alpha: float = 0.1
    season_buckets: int = 24
    season_period_s: float = DAY_S
    baseline_alpha: float = 0.002
    envelope_half_life_s: float = 30 * DAY_S
    gain: float = 10.0
    suppress_half_life: float = 30.0
    refire_ratio: float = 2.0
    score_half_point: float = 2.5
    drift_follow: float = 0.1
    trend_follow: float = 0.03
    trend_margin: float = 1.0
    trend_cap: float = 1.0
    counter: bool = False
    corroborate: bool = True
    corroborate_cap: float = 2.0
    corroborate_share_power: float = 0.5
    corroborate_recent: bool = True
    recent_half_life_s: float = 3 * DAY_S
    recent_discount_flagged: bool = True
