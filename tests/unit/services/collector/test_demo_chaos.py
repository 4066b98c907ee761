from __future__ import annotations

import pytest

from incidentctl.chaos import inject
from incidentctl.demo_service import Chaos


class Clock:
    t = 100.0

    def __call__(self) -> float:
        return self.t


def test_slow_fault_expires_after_its_duration() -> None:
    clock = Clock()
    chaos = Chaos(clock)
    chaos.inject("slow", 5.0)
    assert chaos.active("slow") and chaos.active_faults() == ["slow"]
    clock.t += 5.0
    assert not chaos.active("slow")


def test_fault_without_duration_lasts_until_reset() -> None:
    clock = Clock()
    chaos = Chaos(clock)
    chaos.inject("slow", None)
    clock.t += 1e6
    assert chaos.active("slow")
    chaos.reset()
    assert chaos.active_faults() == []


def test_unknown_fault_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        inject("meteor", "http://127.0.0.1:9")
