"""Build the engine's `Case` for an incident window from the window store (pure: times are arguments).

Scrapes of different targets happen at different instants and the collector speeds up during an
incident, so samples are put on one grid whose step is the slowest series' usual interval; a bin
keeps its most extreme sample and stays NaN when a series has none (the engine skips gaps).
Detector anomalies become hints; the sample lines of log-pattern anomalies become log lines, so the
engine can name the new error template as evidence.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.rca.domain import AnomalyHint, Case, LogLine, MetricFrame, Topology
from services.rca.store import StoredAnomaly, WindowStore

MIN_STEP_S = 0.5
MAX_BINS = 5000
MAX_LOG_LINES = 50


@dataclass(frozen=True)
class Window:
    """The analysed span: history from ``start``, the anomaly from ``anomaly_start``, up to ``end``."""

    start: float
    anomaly_start: float
    end: float


def incident_window(*, opened_at: float, anomaly_since: Iterable[float], end: float, lookback_s: float) -> Window:
    """Return the window of an incident: earliest anomaly (or opening) minus the lookback, to ``end``."""
    starts = [t for t in anomaly_since if t <= opened_at] + [opened_at]
    anomaly_start = min(starts)
    return Window(start=anomaly_start - lookback_s, anomaly_start=anomaly_start, end=max(end, opened_at))


def grid_step(series: Mapping[str, Sequence[tuple[float, float]]]) -> float:
    """Return the grid step: the largest median sampling interval among the series."""
    medians = []
    for points in series.values():
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(points) if b[0] > a[0]]
        if gaps:
            medians.append(statistics.median(gaps))
    return max(max(medians, default=1.0), MIN_STEP_S)


def to_frame(series: Mapping[str, Sequence[tuple[float, float]]], start: float, end: float) -> MetricFrame:
    """Bin ``series`` onto one time grid from ``start`` to ``end`` (at most ``MAX_BINS`` bins).

    A bin keeps its sample farthest from the series' median, so a short dip or spike (one failed
    scrape while the collector polls faster during an incident) survives the regridding.
    """
    step = max(grid_step(series), (end - start) / MAX_BINS)
    bins = max(math.floor((end - start) / step) + 1, 1)
    timestamps = [start + i * step for i in range(bins)]
    columns: dict[str, list[float]] = {}
    for name, points in series.items():
        finite = [v for _, v in points if math.isfinite(v)]
        centre = statistics.median(finite) if finite else 0.0
        column = [math.nan] * bins
        for t, v in points:
            i = int((t - start) // step)
            inside = 0 <= i < bins and math.isfinite(v)
            if inside and (math.isnan(column[i]) or abs(v - centre) > abs(column[i] - centre)):
                column[i] = v
        columns[name] = column
    return MetricFrame.build(timestamps, columns)


def hints_of(anomalies: Iterable[StoredAnomaly]) -> tuple[AnomalyHint, ...]:
    """Turn detector anomalies into engine hints (entity, signal, the episode's peak score)."""
    return tuple(
        AnomalyHint(ts=s.anomaly.since.timestamp(), entity=s.entity, signal=s.anomaly.signal, score=s.peak_score)
        for s in anomalies
    )


def log_lines_of(anomalies: Iterable[StoredAnomaly]) -> tuple[LogLine, ...]:
    """Turn log-pattern anomalies into the engine's log lines.

    The detector's mined template (label ``template``) stands for the lines, repeated as often as
    the finding counted them (capped) and spread over the episode; without it the sample lines are used.
    """
    lines: list[LogLine] = []
    for stored in anomalies:
        if not stored.is_log_pattern:
            continue
        a = stored.anomaly
        start, stop = a.since.timestamp(), max(a.last_seen.timestamp(), a.since.timestamp())
        template = a.labels.get("template")
        if template:
            count = _count(a.labels.get("count"), default=max(len(a.samples), 1))
            step = (stop - start) / count
            lines += [LogLine(ts=start + i * step, entity=stored.entity, message=template) for i in range(count)]
        else:
            samples = a.samples or (a.summary,)
            lines += [LogLine(ts=start, entity=stored.entity, message=text) for text in samples]
    return tuple(lines)


def _count(text: str | None, *, default: int) -> int:
    try:
        value = int(float(text)) if text else default
    except ValueError:
        value = default
    return min(max(value, 1), MAX_LOG_LINES)


def build_case(
    store: WindowStore, window: Window, *, topology: Topology | None = None, exclude: Collection[str] = ()
) -> Case:
    """Gather the incident window's metrics, anomalies and log-pattern evidence into a `Case`.

    Anomalies whose ids are in ``exclude`` (the recovery's own doing, an earlier finished fault)
    give neither hints nor log lines.
    """
    series = store.window(window.start, window.end)
    anomalies = [s for s in store.anomalies_between(window.start, window.end) if s.anomaly.anomaly_id not in exclude]
    # The grid starts at the first sample: leading empty rows would pass for history the engine lacks.
    first = min((points[0][0] for points in series.values() if points), default=window.start)
    start = min(max(window.start, first), window.anomaly_start)
    return Case(
        metrics=to_frame(series, start, window.end),
        anomaly_start=window.anomaly_start,
        window_end=window.end,
        logs=log_lines_of(anomalies),
        hints=hints_of(anomalies),
        logs_vetted_s=window.anomaly_start - window.start,
        topology=topology,
    )
