"""Per-second rates from monotonically increasing counters (network bytes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CounterReading:
    """A counter's value at a time (seconds on any monotonic clock)."""

    value: float
    at: float


def counter_rate(previous: CounterReading | None, current: CounterReading) -> float | None:
    """Return the per-second increase between two readings, or None without a usable previous one.

    A counter that went down was reset (interface re-created, host rebooted): like Prometheus'
    ``rate``, the current value is then taken as the increase since the reset.
    """
    if previous is None:
        return None
    elapsed = current.at - previous.at
    if elapsed <= 0:
        return None
    increase = current.value - previous.value
    if increase < 0:
        increase = current.value
    return increase / elapsed
