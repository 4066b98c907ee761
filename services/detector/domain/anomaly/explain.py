"""Human sentences for detector scores ("p95 latency 840 ms, 4.2× its usual 200 ms for this hour")."""

from __future__ import annotations

import math
from typing import Final

from .detector import Score

RATIO_WORTH_SAYING: Final = 1.5
_FEATURE_NOTES: Final = {
    "volatility": "; it has become unusually erratic",
    "level": "; its level has shifted",
    "seasonal_level": "; it has left its usual daily pattern",
    "drift": "; it is drifting away from its usual level",
    "shift": "; it has stepped away from its recent baseline",
}


def format_value(value: float, unit: str = "") -> str:
    """Format a number with about three significant digits and its unit."""
    if not math.isfinite(value):
        text = str(value)
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("%", "×") else f"{text} {unit}"


def explain(score: Score, *, metric: str, unit: str = "") -> str:
    """Return a sentence saying what was observed and how it compares with the usual."""
    observed = format_value(score.observed, unit)
    usual = format_value(score.expected, unit)
    context = " for this hour" if score.seasonal else ""
    band = f"{format_value(score.lower, unit)}–{format_value(score.upper, unit)}"
    if score.warming_up:
        return f"{metric} {observed} (still learning its usual level)"
    if score.direction == "none":
        return f"{metric} {observed}, within its usual range {band}{context}"
    note = _FEATURE_NOTES.get(score.feature, "")
    exp, obs = score.expected, score.observed
    if exp > 0 and obs > 0 and obs / exp >= RATIO_WORTH_SAYING:
        return f"{metric} {observed}, {obs / exp:.1f}× its usual {usual}{context}{note}"
    if exp > 0 and obs >= 0 and obs / exp <= 1 / RATIO_WORTH_SAYING:
        return f"{metric} {observed}, {100 * (1 - obs / exp):.0f}% below its usual {usual}{context}{note}"
    side = "above" if score.direction == "up" else "below"
    diff = format_value(abs(obs - exp), unit)
    return f"{metric} {observed}, {diff} {side} its usual {usual}{context} (usual range {band}){note}"
