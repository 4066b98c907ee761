"""The detector's maths, written once over numpy columns: one call advances many series by one sample.

Why this method. Operations metrics are heavy-tailed, seasonal and full of harmless wiggles, so a
fixed z-score fires all day. What people call an anomaly is a sample that leaves the range the
series has shown so far, in one of a few views: its raw value, its jump from the previous sample
(not from a lagging average, which a smooth daily ramp would also leave behind),
the recent level itself, its volatility, its distance from what is usual at this hour of day,
that distance smoothed, a slow level (drift), a trend (slow level minus its long-run mean, the
signature of a leak) and a shift (recent level minus slow level: a step that a ramp or a daily
swing does not explain). Each view keeps a *record envelope*: the second highest and second
lowest values seen, shrinking slowly (a 30-day half-life) towards the view's long-run mean.
A sample scores by how far it passes an envelope, measured in half-ranges of that envelope, so
the score is scale-free and means the same on every series; the strongest view wins. Keeping
the second record rather than the first means one past outlier does not hide the next one.

Levels are robust. Spikes are common and harmless in ops data, but an EWMA dragged by each one
turns every spike into a run of level, drift and shift "changes" and blurs the hour-of-day
profile. So every level (fast, slow, hourly profile) takes a sample clipped to a band of a few
mean absolute steps around the fast level (its bucket mean for the profile); a run of samples
beyond the band on one side is a real step, and is then taken whole (a flat series has no band).

Records that follow a smooth ramp would creep along with it, so two views lag on purpose: the
slow level's envelope absorbs only 10 % of an excess per sample, the trend's 3 %; the trend must
pass its envelope by a full half-range and then adds at most one more (it confirms a drift, it
does not re-alert on a level shift). Views built on the slow level stay silent, their envelopes
following freely, until the slow level has seen one time constant of samples: before that they
only measure its start-up. After an alert the score is suppressed until the strength doubles or
the suppression fades (30-sample half-life), so one episode gives one alert, not a stream.
Everything is causal: a sample is scored against the state before it, then folded in.

One more view is not scored here: the jump's size against the two largest jumps of a recent
horizon (held a day, then a 3-day half-life; `_recent_jump`). Alone it would fire all day; `corroborate` weighs it
by the share of the host's series that jump past their recent records in the same step. Records
set during an anomaly should not define normal: a jump larger than any of the long horizon
enters the recent records only in part, and the view obeys the after-alert suppression too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import layout as L
from .config import DetectorConfig

_EPS_ABS = 1e-9
_EPS_REL = 1e-6


@dataclass(frozen=True, slots=True)
class StepResult:
    """Per-series outputs of one step (arrays of the bank's length)."""

    valid: np.ndarray  # bool: the sample was finite and used
    score: np.ndarray  # [0, 1], suppressed after an alert
    severity: np.ndarray  # [0, 1], the same strength without suppression
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    direction: np.ndarray  # int8: +1 up, -1 down, 0 none
    warming: np.ndarray  # bool
    seasonal: np.ndarray  # bool: expected/band come from the hour-of-day profile
    feature: np.ndarray  # int: index into layout.FEATURES of the strongest view
    recent: np.ndarray  # [0, 1]: the recent jump view's severity (used only by corroboration)


def counter_rate(state: np.ndarray, ts: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Turn counter readings into per-second rates (a drop is a reset counted from 0); NaN if none."""
    prev, prev_t = state[L.C_PREV], state[L.C_T]
    dt = ts - prev_t
    delta = np.where(raw >= prev, raw - prev, raw)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(np.isfinite(prev_t) & (dt > 0), delta / np.where(dt > 0, dt, 1.0), np.nan)
    seen = np.isfinite(raw) & np.isfinite(ts)
    state[L.C_PREV] = np.where(seen, raw, prev)
    state[L.C_T] = np.where(seen, ts, prev_t)
    return rate


def level_input(
    x: np.ndarray, fast: np.ndarray, band: np.ndarray, run: np.ndarray, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Return what the fast level takes from `x` (outliers clipped) and the new signed outlier run.

    A sample further than `level_clip` mean absolute steps from the fast level enters it clipped,
    so a spike does not drag the level (nor the slow level and shift views built on it). The
    `new_level_run`-th such sample in a row on the same side is a new level, not an outlier: it
    enters whole, so even a flat series (zero volatility, nothing within the clip) follows a step.
    """
    clipped = np.clip(x, fast - band, fast + band)
    side = np.sign(x - clipped)
    run_new = np.where(side == 0, 0.0, np.where(np.sign(run) == side, run + side, side))
    return np.where(np.abs(run_new) >= cfg.new_level_run, x, clipped), run_new


@dataclass(frozen=True, slots=True)
class _Levels:
    """The levels around one sample: before it where the views need that, after it otherwise."""

    t_first: np.ndarray  # time of the series' first valid sample
    dt: np.ndarray  # seconds since the previous valid sample (0 on the first)
    x_prev: np.ndarray  # the previous valid sample
    fast: np.ndarray  # the fast level before the sample
    fast_new: np.ndarray
    vol_new: np.ndarray  # mean absolute step
    slow_new: np.ndarray
    band: np.ndarray  # half-width of the outlier clip (inf before a second sample)
    run: np.ndarray  # the new signed outlier run


@dataclass(frozen=True, slots=True)
class _Season:
    """The sample's hour-of-day bucket: where it is stored, its mean and count before the sample, and after."""

    mean_row: np.ndarray  # state row of each series' bucket mean
    count_row: np.ndarray  # state row of each series' bucket count
    mean: np.ndarray
    count: np.ndarray
    mean_new: np.ndarray
    residual: np.ndarray  # the sample minus its bucket mean (0 on the bucket's first visit)
    residual_smooth: np.ndarray  # that residual smoothed, after the sample
    quoted: np.ndarray  # bool: the expected value and band come from the bucket


@dataclass(frozen=True, slots=True)
class _Envelopes:
    """Every view's record envelope before the sample, (K, series) each: long-run mean, then records."""

    centre: np.ndarray
    hi1: np.ndarray  # the record high (records shrink towards the centre over time)
    hi2: np.ndarray  # second highest: the upper edge
    lo1: np.ndarray  # the record low
    lo2: np.ndarray  # second lowest: the lower edge


@dataclass(frozen=True, slots=True)
class _Score:
    """How strongly the sample leaves its envelopes, and what is left of it after suppression."""

    strength: np.ndarray  # the strongest view's 1 + gain × excess; 0 inside, or while warming up
    feature: np.ndarray  # index of that view
    warming: np.ndarray  # bool
    alert: np.ndarray  # the strength where it fires past the suppression, else 0
    suppress_new: np.ndarray
    suppress: np.ndarray  # the suppression level before the sample, decayed to it


def step(state: np.ndarray, ts: np.ndarray, x: np.ndarray, config: DetectorConfig) -> StepResult:
    """Score one sample per series against its state, then fold the sample into the state (in place)."""
    cfg = config
    x, ts, valid = _usable_sample(state, ts, x, cfg)
    cols = np.arange(state.shape[1])
    n = state[L.N]
    first = n == 0
    settling = n * cfg.slow_alpha < 1.0  # the slow level has not yet seen one time constant of samples
    levels = _advance_levels(state, x, ts, n, first, cfg)
    season = _hour_of_day(state, cols, x, ts, levels, cfg)
    rows = [L.env_rows(cfg, b) for b in range(L.N_ENV_BLOCKS)]  # centre, hi1, hi2, lo1, lo2
    feats = _views(state, rows[L.ENV_CENTRE], x, first, levels, season)
    # A series' first sample is its envelopes; else they are the state's rows, read (not copied) until
    # the result is taken, before the state is overwritten.
    fresh = bool(first.any())
    env = _Envelopes(*(np.where(first, feats, state[r]) if fresh else state[r] for r in rows))
    score = _score(state[L.SUPPRESS], feats, env, n, settling, cols, cfg)
    recent, records = _recent_jump(state, feats[L.F_SPIKE], ts, score, env, cfg)
    n1 = n + 1.0
    blocks = _fold_envelopes(feats, env, n1, levels.dt, settling, cfg)
    # Every value above, and the result, comes from the old state; only then is the state overwritten.
    writes: list[tuple[slice | int, np.ndarray]] = [*zip(rows, blocks, strict=True)]
    writes += [(L.N, n1), (L.T_FIRST, levels.t_first), (L.T_PREV, ts), (L.FAST, levels.fast_new)]
    writes += [(L.VOL, levels.vol_new), (L.X_PREV, x), (L.SLOW, levels.slow_new), (L.SRES, season.residual_smooth)]
    writes += [(L.SUPPRESS, score.suppress_new), (L.RUN, levels.run)]
    writes += [*zip(L.RECENT_ROWS, records, strict=True)]
    result = _result(valid, x, score, recent, levels.fast, season, env, cfg)
    _write_state(state, valid, writes, season, cols)
    return result


def _usable_sample(
    state: np.ndarray, ts: np.ndarray, x: np.ndarray, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sample (a counter's rate), its time, and where both are finite; 0 stands in elsewhere."""
    if cfg.counter:
        x = counter_rate(state, ts, x)
    valid = np.isfinite(x) & np.isfinite(ts)
    return np.where(valid, x, 0.0), np.where(valid, ts, 0.0), valid


def _advance_levels(
    state: np.ndarray, x: np.ndarray, ts: np.ndarray, n: np.ndarray, first: np.ndarray, cfg: DetectorConfig
) -> _Levels:
    """Move the fast and slow levels and the volatility by the sample, outliers clipped (see level_input)."""
    fast = np.where(first, x, state[L.FAST])
    x_prev = np.where(first, x, state[L.X_PREV])
    slow = np.where(first, x, state[L.SLOW])
    vol = state[L.VOL]
    # The volatility EWMA starts from 0 (its first step is 0, having no previous sample); the clips
    # use it bias-corrected, or no clip at all before a second sample.
    settled = 1.0 - (1.0 - cfg.volatility_alpha) ** np.maximum(n - 1.0, 1.0)
    scale = np.where(n >= 2, vol / settled, np.inf)
    band = cfg.level_clip * scale
    fast_in, run = level_input(x, fast, band, state[L.RUN], cfg)
    slow_in = np.clip(x, fast - cfg.slow_clip * scale, fast + cfg.slow_clip * scale)
    return _Levels(
        t_first=np.where(first, ts, state[L.T_FIRST]),
        dt=np.where(first, 0.0, np.maximum(ts - state[L.T_PREV], 0.0)),
        x_prev=x_prev,
        fast=fast,
        fast_new=fast + cfg.fast_alpha * (fast_in - fast),
        vol_new=vol + cfg.volatility_alpha * (np.abs(x - x_prev) - vol),
        slow_new=slow + cfg.slow_alpha * (slow_in - slow),
        band=band,
        run=run,
    )


def _hour_of_day(
    state: np.ndarray, cols: np.ndarray, x: np.ndarray, ts: np.ndarray, levels: _Levels, cfg: DetectorConfig
) -> _Season:
    """Compare the sample with its hour-of-day bucket and move the bucket's mean by it.

    A view from the first revisit of a bucket; quoted as "usual for this hour" (expected value and
    band) only once the series spans a whole period.
    """
    n_b = cfg.season_buckets
    bucket = np.floor((ts % cfg.season_period_s) / (cfg.season_period_s / n_b)).astype(np.int64)
    bucket = np.clip(bucket, 0, n_b - 1)
    mean_row = L.season_offset(cfg) + bucket
    b_mean, b_count = state[mean_row, cols], state[mean_row + n_b, cols]
    residual = np.where(b_count > 0, x - b_mean, 0.0)
    b_alpha = np.maximum(cfg.season_alpha, 1.0 / (b_count + 1.0))
    # An outlier must not bend the hour's usual value either, but a new level (a run) reshapes it.
    band = levels.band
    b_in = np.where(np.abs(levels.run) >= cfg.new_level_run, x, np.clip(x, b_mean - band, b_mean + band))
    return _Season(
        mean_row=mean_row,
        count_row=mean_row + n_b,
        mean=b_mean,
        count=b_count,
        mean_new=np.where(b_count > 0, b_mean + b_alpha * (b_in - b_mean), x),
        residual=residual,
        residual_smooth=state[L.SRES] + cfg.season_residual_alpha * (residual - state[L.SRES]),
        quoted=(b_count > 0) & (ts - levels.t_first >= cfg.season_period_s),
    )


def _views(
    state: np.ndarray, centres: slice, x: np.ndarray, first: np.ndarray, levels: _Levels, season: _Season
) -> np.ndarray:
    """Return the (K, series) values of the watched views, in the order of layout.FEATURES."""
    # The drift view's envelope centre is the long-run mean of the slow level.
    anchor = np.where(first, x, state[centres.start + L.F_DRIFT])
    fast_new, slow_new = levels.fast_new, levels.slow_new
    return np.stack(
        [
            x,
            x - levels.x_prev,
            fast_new,
            levels.vol_new,
            season.residual,
            season.residual_smooth,
            slow_new,
            slow_new - anchor,
            fast_new - slow_new,
        ]
    )


def _score(
    suppress_old: np.ndarray,
    feats: np.ndarray,
    env: _Envelopes,
    n: np.ndarray,
    settling: np.ndarray,
    cols: np.ndarray,
    cfg: DetectorConfig,
) -> _Score:
    """Score the sample by its strongest view, then suppress it unless it beats the last alert enough."""
    strength_k = _view_strengths(feats, env, settling, cfg)
    feature = np.argmax(strength_k, axis=0)
    warming = n < cfg.warmup_samples
    strength = np.where(warming, 0.0, strength_k[feature, cols])
    suppress = suppress_old * 0.5 ** (1.0 / cfg.suppress_half_life)
    fire = strength > suppress * cfg.refire_ratio
    return _Score(
        strength=strength,
        feature=feature,
        warming=warming,
        alert=np.where(fire, strength, 0.0),
        suppress_new=np.where(fire, strength, suppress),
        suppress=suppress,
    )


def _view_strengths(feats: np.ndarray, env: _Envelopes, settling: np.ndarray, cfg: DetectorConfig) -> np.ndarray:
    """Return each view's strength, 1 + gain × its excess in envelope half-ranges (0 inside the envelope)."""
    centre, hi2, lo2 = env.centre, env.hi2, env.lo2
    eps = np.abs(centre)
    eps *= _EPS_REL
    eps += _EPS_ABS  # in place, as in _fold_envelopes
    with np.errstate(invalid="ignore", divide="ignore"):
        above, below = feats - hi2, lo2 - feats
        upper, lower = hi2 - centre, centre - lo2
        upper += eps
        lower += eps
        above /= upper  # (feats - hi2) / (hi2 - centre + eps)
        below /= lower  # (lo2 - feats) / (centre - lo2 + eps)
        excess = np.maximum(above, below, out=above)
        excess *= 0.5
    np.maximum(excess, 0.0, out=excess)
    excess[L.F_TREND] = np.clip(excess[L.F_TREND] - cfg.trend_margin, 0.0, cfg.trend_cap)
    excess[L.SLOW_VIEWS] = np.where(settling, 0.0, excess[L.SLOW_VIEWS])
    return np.where(excess > 0, 1.0 + cfg.gain * excess, 0.0)


def _recent_jump(
    state: np.ndarray, jump: np.ndarray, ts: np.ndarray, score: _Score, env: _Envelopes, cfg: DetectorConfig
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the recent jump view's strength and its new records (largest, its time, second, its time).

    The view watches the size of the jump from the previous sample against the two largest jumps
    of a recent horizon, so an early huge jump does not hide later modest ones for a month. A
    record holds for one seasonal period, then fades towards 0 with a `recent_half_life_s`
    half-life: a jump that recurs every day at the same size stays inside yesterday's records.
    Its strength, 1 + gain × the excess over the second record in units of that record (0 inside
    it, while warming, or while the after-alert suppression holds the series, as it holds the
    scored views), is scored only through corroboration: a jump that is large for the last few
    days is common on its own, and means something when the host's other series jump with it.

    Records set during an anomaly should not define normal (`recent_discount_flagged`): a jump
    larger than the largest of the long horizon (the spike view's top record, either way) enters
    the recent records with only 1 / (1 + gain × its excess over that top) of its excess over
    the edge, so an outage's jumps do not mask the modest jumps of the next days. A jump within
    the long horizon's top enters whole (no step at the top: the weight is 1 there); so does
    any jump while warming up.
    """
    size = np.abs(jump)
    v1, t1, v2, t2 = (state[r] for r in L.RECENT_ROWS)
    rate = -1.0 / cfg.recent_half_life_s
    e1 = v1 * np.exp2(rate * np.maximum(ts - t1 - cfg.season_period_s, 0.0))
    e2 = v2 * np.exp2(rate * np.maximum(ts - t2 - cfg.season_period_s, 0.0))
    swap = e2 > e1  # the older record faded below the newer one
    hi, t_hi, e_hi = np.where(swap, v2, v1), np.where(swap, t2, t1), np.maximum(e1, e2)
    lo, t_lo, e_lo = np.where(swap, v1, v2), np.where(swap, t1, t2), np.minimum(e1, e2)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.maximum((size - e_lo) / (e_lo + _EPS_ABS), 0.0)
    strength = np.where(score.warming | (excess <= 0), 0.0, 1.0 + cfg.gain * excess)
    strength = np.where(strength > score.suppress * cfg.refire_ratio, strength, 0.0)
    if cfg.recent_discount_flagged:
        size = _discounted(size, e_lo, env, score.warming, cfg)
    top, mid = size >= e_hi, (size < e_hi) & (size > e_lo)
    return strength, [
        np.where(top, size, hi),
        np.where(top, ts, t_hi),
        np.where(top, hi, np.where(mid, size, lo)),
        np.where(top, t_hi, np.where(mid, ts, t_lo)),
    ]


def _discounted(
    size: np.ndarray, edge: np.ndarray, env: _Envelopes, warming: np.ndarray, cfg: DetectorConfig
) -> np.ndarray:
    """Return the jump sizes as the recent records take them: past the long horizon's top, only in part.

    The top is the largest jump either way of the spike view's long-horizon records; the excess
    over it is in units of it (as the recent view measures its own), and the part of the size
    beyond the recent edge that enters is 1 / (1 + gain × that excess in half-ranges).
    """
    top = np.maximum(np.abs(env.hi1[L.F_SPIKE]), np.abs(env.lo1[L.F_SPIKE]))
    with np.errstate(invalid="ignore", divide="ignore"):
        over = np.maximum(0.5 * (size - top) / (top + _EPS_ABS), 0.0)
    weight = np.where(warming, 1.0, 1.0 / (1.0 + cfg.gain * over))
    return np.where(size > edge, edge + weight * (size - edge), size)


def _fold_envelopes(
    feats: np.ndarray, env: _Envelopes, n1: np.ndarray, dt: np.ndarray, settling: np.ndarray, cfg: DetectorConfig
) -> list[np.ndarray]:
    """Return the new envelope blocks (centre, hi1, hi2, lo1, lo2) with the sample folded in.

    The centres move towards the sample, the records shrink towards the new centres over the time
    passed and then take the sample; the drift and trend envelopes take only part of it.
    """
    # In place where a temporary would be (the same operations in the same order, so the same bits):
    # these are (K, series) arrays, and a fresh one per operation was most of the step's time.
    a = np.maximum(cfg.baseline_alpha, 1.0 / n1)
    centre_new = feats - env.centre
    centre_new *= a
    centre_new += env.centre  # centre + a × (feats - centre)
    shrink = 0.5 ** (dt / cfg.envelope_half_life_s)
    shrunk = []
    for record in (env.hi1, env.hi2, env.lo1, env.lo2):
        moved = record - centre_new
        moved *= shrink
        moved += centre_new  # centre_new + (record - centre_new) × shrink
        shrunk.append(moved)
    h1, h2, l1, l2 = shrunk
    follow = np.ones((L.K, feats.shape[1]))
    follow[L.F_DRIFT] = np.where(settling, 1.0, cfg.drift_follow)
    follow[L.F_TREND] = np.where(settling, 1.0, cfg.trend_follow)  # a creeping trend must not drag its envelope
    second_hi = np.minimum(h1, feats)
    second_lo = np.maximum(l1, feats)
    taken = (
        np.maximum(h1, feats),
        np.maximum(h2, second_hi, out=second_hi),
        np.minimum(l1, feats),
        np.minimum(l2, second_lo, out=second_lo),
    )
    for old, new in zip(shrunk, taken, strict=True):
        new -= old
        new *= follow
        new += old  # old + follow × (taken - old)
    return [centre_new, *taken]


def _write_state(
    state: np.ndarray,
    valid: np.ndarray,
    writes: list[tuple[slice | int, np.ndarray]],
    season: _Season,
    cols: np.ndarray,
) -> None:
    """Overwrite the state's rows with the new values, and the sample's bucket, where the sample was valid."""
    all_valid = bool(valid.all())
    for r, value in writes:
        state[r] = value if all_valid else np.where(valid, value, state[r])
    state[season.mean_row, cols] = np.where(valid, season.mean_new, season.mean)
    state[season.count_row, cols] = np.where(valid, season.count + 1.0, season.count)


def _result(
    valid: np.ndarray,
    x: np.ndarray,
    score: _Score,
    recent: np.ndarray,
    fast: np.ndarray,
    season: _Season,
    env: _Envelopes,
    cfg: DetectorConfig,
) -> StepResult:
    """Return the step's outputs: scores, the expected value and range shown to people, the direction."""
    seasonal, b_mean = season.quoted, season.mean
    expected = np.where(seasonal, b_mean, fast)
    v_lo, v_hi = env.lo2[L.F_VALUE], env.hi2[L.F_VALUE]
    s_lo, s_hi = b_mean + env.lo2[L.F_SEASONAL], b_mean + env.hi2[L.F_SEASONAL]
    direction = np.where(score.strength > 0, np.sign(x - expected), 0).astype(np.int8)
    half = cfg.score_half_point
    return StepResult(
        valid=valid,
        score=np.where(valid, 1.0 - 0.5 ** (score.alert / half), 0.0),
        severity=np.where(valid, 1.0 - 0.5 ** (score.strength / half), 0.0),
        expected=expected,
        lower=np.minimum(np.where(seasonal, s_lo, v_lo), expected),
        upper=np.maximum(np.where(seasonal, s_hi, v_hi), expected),
        direction=np.where(valid, direction, 0).astype(np.int8),
        warming=score.warming,
        seasonal=seasonal & valid,
        feature=score.feature,
        recent=np.where(valid, 1.0 - 0.5 ** (recent / half), 0.0),
    )
