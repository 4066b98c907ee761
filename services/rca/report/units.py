"""Units of the collector's metrics (from their names) and readable axis ticks for the report's charts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Unit:
    """How a metric's values are shown: scaled by ``scale``, suffixed with ``suffix``; binary 0/1 or not."""

    suffix: str
    scale: float = 1.0
    binary: bool = False


BINARY: Final = Unit("", binary=True)
SUFFIXES: Final[tuple[tuple[str, Unit], ...]] = (
    (".up", BINARY),
    ("_percent", Unit("%")),
    ("error_rate", Unit("%", scale=100.0)),
    ("_ms", Unit("ms")),
    ("requests_per_s", Unit("req/s")),
    ("bytes_per_s", Unit("B/s")),
    ("_bytes", Unit("B")),
)


def unit_of(metric: str) -> Unit:
    """Return the display unit of ``metric`` from its name (``http.error_rate`` is a fraction shown in %)."""
    return next((u for suffix, u in SUFFIXES if metric.endswith(suffix)), Unit(""))


def nice_step(span: float, ticks: int) -> float:
    """Return a step of 1, 2, 2.5 or 5 times a power of ten giving about ``ticks`` ticks over ``span``."""
    raw = span / max(ticks - 1, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next((f * power for f in (1.0, 2.0, 2.5, 5.0) if raw <= f * power * (1 + 1e-9)), 10.0 * power)


def nice_ticks(low: float, high: float, *, ticks: int = 5) -> list[float]:
    """Return round tick values covering ``[low, high]`` (about ``ticks`` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high - low < 1e-12:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_step(high - low, ticks)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]


def axis(values: list[float], unit: Unit) -> tuple[float, float, list[float]]:
    """Return (low, high, ticks) of the y axis for ``values`` already scaled to ``unit``.

    A 0/1 series gets ticks 0 and 1 only; a percentage never goes below 0; a series that never
    leaves one value still gets a readable range around it.
    """
    if unit.binary:
        return -0.1, 1.1, [0.0, 1.0]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if 0 <= low <= 0.5 * high:
        low = 0.0
    ticks = nice_ticks(low, high)
    if unit.suffix == "%" and ticks[0] < 0:
        ticks = [t for t in ticks if t >= 0]
    return ticks[0], ticks[-1], ticks


def label(value: float, unit: Unit) -> str:
    """One tick label: ``50%``, ``120 ms``, ``1.5 req/s``, ``2 MiB``; 0/1 series as ``0`` / ``1``."""
    if unit.binary:
        return f"{value:.0f}"
    if unit.suffix == "B" or unit.suffix == "B/s":
        for prefix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if abs(value) >= size:
                return f"{_num(value / size)} {prefix}{unit.suffix}"
    number = _num(value)
    if not unit.suffix:
        return number
    return f"{number}%" if unit.suffix == "%" else f"{number} {unit.suffix}"


def _num(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e6:
        return f"{value:.3g}"
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if len(text) <= 8 else f"{value:.4g}"


TIME_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(start: float, end: float, *, ticks: int = 6) -> list[float]:
    """Round instants (every 10 s, 1 min, 5 min, ...) inside ``[start, end]``, about ``ticks`` of them."""
    span = max(end - start, 1.0)
    step = next((s for s in TIME_STEPS if span / s <= ticks), TIME_STEPS[-1])
    first = math.ceil(start / step) * step
    return [float(first + i * step) for i in range(int((end - first) // step) + 1)]
