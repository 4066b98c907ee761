"""Score how strongly one metric column deviates in the incident window, and when it started.

Why this shape: N-Sigma (BARO) divides the largest deviation by the history's IQR. That is noisy in
two ways seen in practice: a near-constant history (IQR ~ 0) turns a tiny wiggle into a huge score,
and one lone spike of a heavy-tailed signal (a p99 at low traffic) outranks a sustained shift. So
the scale here is the largest of several robust spreads and a floor relative to the column's level,
the deviation is taken on a 3-point running median (a lone spike does not survive it), and the
score mixes significance (saturating z) with effect size (log of the level ratio), so a callee whose
latency went 10x outranks its caller whose latency went 2x with the same absolute rise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from services.rca.domain.config import RcaConfig
from services.rca.domain.model import FloatArray
from services.rca.domain.signals import KIND_WEIGHT, MetricKind, bad_direction

_MAD_TO_SIGMA: Final = 1.4826
_IQR_TO_SIGMA: Final = 1.0 / 1.349
_TINY: Final = 1e-9
_FAILING_FLOOR: Final = 0.01


@dataclass(frozen=True)
class ColumnScore:
    """Deviation of one column: score, robust z, level ratio, direction, onset time and peak values.

    `persistence` is the share of the samples from the first crossing of `onset_z` (in the scored
    direction) to the end of the window that are beyond it too: ~1 for a shift, small for a blip.
    """

    score: float
    z: float
    ratio: float
    direction: int
    onset: float | None
    baseline: float
    peak: float
    full_scale: float | None = None
    persistence: float = 0.0


def running_median3(values: FloatArray, center: float | None = None) -> FloatArray:
    """Return the centred 3-point running median, ignoring NaN (ends use what exists).

    Where only two of the three values exist (a gap or an end), their mean would let a lone spike
    next to a gap through at half height; with `center` given, the value nearer to it is used, so
    a deviation has to be confirmed by a neighbour there too.
    """
    padded = np.concatenate(([np.nan], values, [np.nan]))
    # np.sort puts NaN last, so per position the present values come first, in order.
    stacked = np.sort(np.vstack((padded[:-2], padded[1:-1], padded[2:])), axis=0)
    count = np.sum(~np.isnan(stacked), axis=0)
    out = np.full(values.shape, np.nan)
    three, two, one = count == 3, count == 2, count == 1
    out[three] = stacked[1, three]
    low, high = stacked[0, two], stacked[1, two]
    if center is None:
        out[two] = 0.5 * (low + high)
    else:
        out[two] = np.where(np.abs(low - center) <= np.abs(high - center), low, high)
    out[one] = stacked[0, one]
    return out


def _smooth(values: FloatArray, present: np.ndarray, center: float) -> FloatArray:
    """Return the running median of a column at its own sampling rate.

    A column scraped every k-th row has a gap on either side of every sample, where the 3-point
    median of the row grid would keep each sample as it is, lone spikes included; so such a column
    is smoothed over its present samples, one after the other.
    """
    idx = np.flatnonzero(present)
    if idx.size < 3 or float(np.median(np.diff(idx))) <= 1.0:
        return running_median3(np.where(present, values, np.nan), center=center)
    out = np.full(values.shape, np.nan)
    out[idx] = running_median3(values[idx], center=center)
    return out


def robust_scale(history: FloatArray, level: float, config: RcaConfig, center: float | None = None) -> float:
    """Return a spread of `history` that never collapses to zero on a near-constant history.

    `center` is the history's median when the caller already has it.
    """
    med = float(np.median(history)) if center is None else center
    deviation = np.abs(history - med)
    mad = float(np.median(deviation)) * _MAD_TO_SIGMA
    q75, q25 = np.percentile(history, [75.0, 25.0])
    iqr = float(q75 - q25) * _IQR_TO_SIGMA
    floor = config.relative_floor * abs(level)
    # A drifting or heavy-tailed history makes wide excursions that MAD/IQR do not see; a Gaussian
    # history of hundreds of samples stays within ~4 sigma, so this term only bites on such columns.
    excursion = float(np.max(deviation)) / config.excursion_sigmas
    return max(mad, iqr, floor, excursion, _TINY * max(1.0, abs(level)))


def _share_top(history: FloatArray) -> float:
    """Return the full-scale value of a success share: 1 for fractions, 100 for percentages."""
    return 1.0 if float(np.nanmax(history)) <= 1.0 + 1e-9 else 100.0


def _is_count(values: FloatArray) -> bool:
    """Return True for a column of whole non-negative numbers (events or requests per sample)."""
    return bool(values.size) and bool(np.all((values >= 0.0) & (values == np.round(values))))


def _is_state(values: FloatArray, full_scale: float) -> bool:
    """Return True for a two-valued indicator column (every value 0 or full scale, e.g. ``up``)."""
    return bool(np.all((values == 0.0) | (values == full_scale)))


@dataclass(frozen=True)
class _Column:
    """One column ready to judge: its samples (a success share as its failing share) and which are which."""

    timestamps: FloatArray
    values: FloatArray
    present: np.ndarray  # bool: the sample exists
    history: FloatArray  # the present samples before `history_end`: the baseline
    hist_idx: np.ndarray  # their rows
    scan_idx: np.ndarray  # rows of the present samples searched for the deviation
    full_scale: float | None  # a success share's full scale (1 or 100), None for other kinds


@dataclass(frozen=True)
class _Peak:
    """The strongest deviation in the searched window."""

    sign: int  # +1 above the baseline, -1 below
    weight: float  # 1, or `wrong_direction_weight` for a deviation in the harmless direction
    z: float  # its robust z, absolute
    value: float  # the (smoothed) value there


def score_column(
    timestamps: FloatArray,
    values: FloatArray,
    kind: MetricKind,
    *,
    history_end: float,
    scan_start: float,
    window_end: float,
    config: RcaConfig,
    rate_named: bool = False,
) -> ColumnScore | None:
    """Score one column; None when it has too little history or incident data to judge.

    Args:
        timestamps: sample times (ascending).
        values: samples, NaN where missing.
        kind: what the column measures.
        history_end: samples before this time form the baseline.
        scan_start: samples from this time to `window_end` are searched for the deviation.
        window_end: end of the incident window.
        config: engine settings.
        rate_named: the column's name says it is a rate or share (never a count of events).

    """
    column = _split_column(timestamps, values, kind, history_end, scan_start, window_end)
    if column is None:
        return None
    baseline = float(np.median(column.history))
    level, scale = _level_and_scale(column, baseline, kind, config, rate_named=rate_named)
    smooth = _smoothed(column, baseline)
    z_raw = (column.values - baseline) / scale
    peak = _find_peak(column, smooth, (smooth - baseline) / scale, z_raw, kind, config)
    ratio = _level_ratio(peak.value, baseline, level)
    onset, persistence = _onset(column, z_raw, peak.sign, config)
    return ColumnScore(
        score=_blend(peak.z, ratio, peak.weight, kind, config),
        z=peak.z,
        ratio=ratio,
        direction=peak.sign,
        onset=onset,
        baseline=baseline,
        peak=peak.value,
        full_scale=column.full_scale,
        persistence=persistence,
    )


def _split_column(
    timestamps: FloatArray,
    values: FloatArray,
    kind: MetricKind,
    history_end: float,
    scan_start: float,
    window_end: float,
) -> _Column | None:
    """Split a column into baseline history and searched window; None when either is too thin or all is flat."""
    full_scale: float | None = None
    if kind is MetricKind.SUCCESS_SHARE:
        hist_raw = values[(timestamps < history_end) & ~np.isnan(values)]
        if hist_raw.size == 0:
            return None
        # A success share is judged through its complement, the failing share, whose level is ~0.
        full_scale = _share_top(hist_raw)
        values = full_scale - values
    present = ~np.isnan(values)
    hist_mask = (timestamps < history_end) & present
    scan_mask = (timestamps >= scan_start) & (timestamps <= window_end) & present
    history = values[hist_mask]
    if history.size < 2 or not scan_mask.any():
        return None
    if np.ptp(history) == 0.0 and np.ptp(values[scan_mask]) == 0.0 and values[scan_mask][0] == history[0]:
        return None
    hist_idx, scan_idx = np.flatnonzero(hist_mask), np.flatnonzero(scan_mask)
    return _Column(timestamps, values, present, history, hist_idx, scan_idx, full_scale)


def _level_and_scale(
    column: _Column, baseline: float, kind: MetricKind, config: RcaConfig, *, rate_named: bool
) -> tuple[float, float]:
    """Return the column's usual level, floored where it sits at ~0, and the robust scale of its deviations."""
    history, present = column.history, column.present
    level = float(np.median(np.abs(history)))
    if column.full_scale is not None:
        # Failing shares sit at ~0: their natural floor is a small absolute share of full scale.
        level = max(level, _FAILING_FLOOR * column.full_scale)
    counts = kind in (MetricKind.ERRORS, MetricKind.TRAFFIC) and not rate_named and _is_count(column.values[present])
    if kind is MetricKind.ERRORS:
        # Error rates (<= 1) floor at 1 %; counts and percentages floor at one error / one point.
        rate = float(np.max(np.abs(column.values[present]))) <= 1.0 and not counts
        level = max(level, _FAILING_FLOOR if rate else 1.0)
    scale = robust_scale(history, level, config, center=baseline)
    if counts:
        # Events per sample are Poisson at best: their spread is at least the square root of the
        # history's rate (one event added, so a first event after a quiet history is not infinite).
        scale = max(scale, math.sqrt((float(np.sum(history)) + 1.0) / history.size))
    return level, scale


def _smoothed(column: _Column, baseline: float) -> FloatArray:
    """Return the values the peak is read from: the running median, or the values of an up/down indicator."""
    values, present = column.values, column.present
    if column.full_scale is not None and _is_state(values[present], column.full_scale):
        # An up/down indicator is exact, not a noisy measurement: one sample of "down" at the end
        # of the window (the recovery started right after) is the fault itself, so no smoothing.
        return np.where(present, values, np.nan)
    return _smooth(values, present, baseline)


def _find_peak(
    column: _Column, smooth: FloatArray, z_smooth: FloatArray, z_raw: FloatArray, kind: MetricKind, config: RcaConfig
) -> _Peak:
    """Return the largest deviation in the window, on the smoothed z (raw where smoothing left none).

    A deviation in the harmless direction wins only when it is more than 1 / `wrong_direction_weight` times
    larger, and then counts at that weight.
    """
    # A success share is judged as its failing share (see _split_column), so rising is bad for it too.
    direction = 1 if kind is MetricKind.SUCCESS_SHARE else bad_direction(kind)
    scan_idx = column.scan_idx
    z_scan = z_smooth[scan_idx]
    z_scan = np.where(np.isnan(z_scan), z_raw[scan_idx], z_scan)
    if direction == 0:
        pick = int(np.argmax(np.abs(z_scan)))
        sign = 1 if z_scan[pick] >= 0 else -1
        weight = 1.0
    else:
        signed = z_scan * direction
        good = float(np.max(signed))
        bad = float(np.max(-signed))
        if good >= bad * config.wrong_direction_weight:
            pick, sign, weight = int(np.argmax(signed)), direction, 1.0
        else:
            pick, sign, weight = int(np.argmax(-signed)), -direction, config.wrong_direction_weight
    at = scan_idx[pick]
    value = float(smooth[at]) if not math.isnan(smooth[at]) else float(column.values[at])
    return _Peak(sign=sign, weight=weight, z=abs(float(z_scan[pick])), value=value)


def _level_ratio(peak: float, baseline: float, level: float) -> float:
    """Return the ratio of the peak's level to the baseline's (>= 1 either way), both lifted by `level`."""
    ratio = (abs(peak) + level + _TINY) / (abs(baseline) + level + _TINY) if level > 0 else 1.0
    return max(ratio, 1.0 / ratio)


def _onset(column: _Column, z_raw: FloatArray, sign: int, config: RcaConfig) -> tuple[float | None, float]:
    """Return when the deviation began to hold in the window, and its persistence from then (ColumnScore).

    The onset is the first crossing of `onset_z` that the next sample confirms (or the window's last
    sample): a lone noise spike before the fault would otherwise date it, and a symptom would seem to
    lead its cause. Without a confirmed crossing the first crossing counts.
    """
    scan_idx = column.scan_idx
    above = np.flatnonzero(np.abs(z_raw[scan_idx]) * (np.sign(z_raw[scan_idx]) == sign) >= config.onset_z)
    hist_idx = column.hist_idx
    # A deviation already under way before the search window cannot be timed: no onset then.
    ongoing = hist_idx.size > 0 and z_raw[hist_idx[-1]] * sign >= config.onset_z
    if not above.size:
        return None, 0.0
    held = np.flatnonzero(np.diff(above) == 1)
    first = int(above[held[0]]) if held.size else int(above[-1]) if above[-1] == scan_idx.size - 1 else int(above[0])
    onset = float(column.timestamps[scan_idx[first]]) if not ongoing else None
    persistence = int(np.sum(above >= first)) / (scan_idx.size - first)
    return onset, persistence


def _blend(z: float, ratio: float, weight: float, kind: MetricKind, config: RcaConfig) -> float:
    """Return the score: significance (saturating z) plus effect size (log of the level ratio)."""
    z_clipped = min(z, config.z_saturation)
    # The effect size only counts in full once the change is clearly significant: a noisy column
    # that happens to swing far (low z, high ratio) is not evidence.
    certainty = min(1.0, z / (2.0 * config.onset_z)) ** 2
    effect = math.log(min(ratio, config.ratio_saturation))
    return weight * KIND_WEIGHT[kind] * (math.log1p(z_clipped) + certainty * effect)
