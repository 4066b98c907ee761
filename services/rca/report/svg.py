"""Inline SVG line charts (no JavaScript, no external resources) with the impact window shaded."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from typing import Final

from services.rca.report.model import Chart
from services.rca.report.units import axis, label, time_ticks, unit_of

WIDTH: Final = 720
HEIGHT: Final = 200
LEFT: Final = 64
RIGHT: Final = 12
TOP: Final = 16
BOTTOM: Final = 28


def _clock(ts: float, step: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M" if step >= 60 else "%H:%M:%S")


def chart_unit(metric: str) -> str:
    """The unit a chart of ``metric`` is drawn in (``%``, ``ms``, ``req/s``, ``0/1``), ``-`` if none."""
    unit = unit_of(metric)
    return unit.suffix or ("0/1" if unit.binary else "-")


def render_svg(chart: Chart) -> str:
    """Return an ``<svg>`` element plotting ``chart``: the series, shaded impact window, anomaly marks."""
    start, end = chart.start, max(chart.end, chart.start + 1.0)
    unit = unit_of(chart.metric)
    points = [(t, v * unit.scale) for t, v in chart.points if start <= t <= end]
    values = [v for _, v in points if math.isfinite(v)]
    low, high, y_ticks = axis(values, unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - start) / (end - start) * plot_w

    def y(v: float) -> float:
        return TOP + (high - v) / (high - low) * plot_h

    title = escape(chart.series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">',
        f"<title>{title}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfbfd" stroke="#c8c8d0"/>',
    ]
    a0, a1 = max(chart.anomaly_start, start), min(chart.anomaly_end, end)
    if a1 > a0:
        parts.append(
            f'<rect class="impact" x="{x(a0):.1f}" y="{TOP}" width="{x(a1) - x(a0):.1f}" height="{plot_h}" '
            f'fill="#e5484d" fill-opacity="0.12"/>'
        )
    if start <= chart.anomaly_start <= end:
        xs = x(chart.anomaly_start)
        parts.append(
            f'<line class="anomaly-start" x1="{xs:.1f}" y1="{TOP}" x2="{xs:.1f}" y2="{TOP + plot_h}" '
            f'stroke="#e5484d" stroke-dasharray="4 3"/>'
        )
    for v in y_ticks:
        yy = y(v)
        parts.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + plot_w}" y2="{yy:.1f}" stroke="#ececf0"/>')
        parts.append(
            f'<text class="y-tick" x="{LEFT - 6}" y="{yy + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#555">{escape(label(v, unit))}</text>'
        )
    x_ticks = time_ticks(start, end)
    step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0
    for t in x_ticks:
        anchor = "end" if x(t) > WIDTH - RIGHT - 30 else "start" if x(t) < LEFT + 30 else "middle"
        parts.append(
            f'<text class="x-tick" x="{x(t):.1f}" y="{HEIGHT - 8}" font-size="11" text-anchor="{anchor}" '
            f'fill="#555">{_clock(t, step)}</text>'
        )
    parts.append(
        f'<text class="axis-unit" x="{LEFT + 4}" y="{TOP - 4}" font-size="10" text-anchor="start" fill="#777">'
        f"{escape(unit.suffix or ('0/1' if unit.binary else ''))}</text>"
    )
    segment: list[str] = []
    segments: list[list[str]] = []
    for t, v in points:
        if math.isfinite(v):
            segment.append(f"{x(t):.1f},{y(v):.1f}")
        elif segment:
            segments.append(segment)
            segment = []
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="#2f6fde"/>')
        else:
            parts.append(
                f'<polyline class="series" fill="none" stroke="#2f6fde" stroke-width="1.6" points="{" ".join(seg)}"/>'
            )
    for mark in chart.marks:
        if start <= mark <= end:
            parts.append(
                f'<path class="anomaly-mark" d="M{x(mark):.1f},{TOP + 1} l-5,-0 l5,9 l5,-9 z" fill="#e5484d"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
