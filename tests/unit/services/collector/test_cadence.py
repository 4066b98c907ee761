from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.collector.domain.cadence import (
    Intervals,
    Phase,
    TargetCadence,
    incident_active,
    incident_closed,
    interval_at,
    next_scrape_at,
    phase_at,
)

T0 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
IV = Intervals(normal_s=300, incident_s=60, post_recovery_s=600, post_recovery_duration_s=1800)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_manual_defaults() -> None:
    assert Intervals() == IV


def test_normal_without_incidents() -> None:
    assert phase_at(TargetCadence(), now=T0, intervals=IV) is Phase.NORMAL
    assert interval_at(TargetCadence(), now=T0, intervals=IV) == 300


def test_open_incident_speeds_up_then_recovery_slows_down_then_normal() -> None:
    state = incident_active(TargetCadence(), "inc-1")
    assert phase_at(state, now=at(10), intervals=IV) is Phase.INCIDENT
    assert interval_at(state, now=at(10), intervals=IV) == 60
    state = incident_closed(state, "inc-1", at=at(100))
    assert phase_at(state, now=at(101), intervals=IV) is Phase.POST_RECOVERY
    assert interval_at(state, now=at(101), intervals=IV) == 600
    assert phase_at(state, now=at(100 + 1799), intervals=IV) is Phase.POST_RECOVERY
    assert phase_at(state, now=at(100 + 1800), intervals=IV) is Phase.NORMAL


def test_stays_in_incident_while_any_incident_is_open() -> None:
    state = incident_active(incident_active(TargetCadence(), "a"), "b")
    state = incident_closed(state, "a", at=at(5))
    assert phase_at(state, now=at(6), intervals=IV) is Phase.INCIDENT
    state = incident_closed(state, "b", at=at(7))
    assert phase_at(state, now=at(8), intervals=IV) is Phase.POST_RECOVERY


def test_closed_incident_stays_closed_when_a_late_update_arrives() -> None:
    state = incident_closed(incident_active(TargetCadence(), "a"), "a", at=at(5))
    state = incident_active(state, "a")
    assert phase_at(state, now=at(6), intervals=IV) is Phase.POST_RECOVERY


@pytest.mark.parametrize("order", [("open", "close"), ("close", "open")])
def test_order_of_open_and_close_does_not_matter(order: tuple[str, str]) -> None:
    state = TargetCadence()
    for step in order:
        state = incident_active(state, "a") if step == "open" else incident_closed(state, "a", at=at(5))
    assert phase_at(state, now=at(6), intervals=IV) is Phase.POST_RECOVERY


def test_replayed_close_keeps_earliest_time() -> None:
    state = incident_closed(TargetCadence(), "a", at=at(50))
    again = incident_closed(state, "a", at=at(80))
    assert again is state
    earlier = incident_closed(state, "a", at=at(20))
    assert earlier.last_closed_at == at(20)


def test_recovery_verified_then_resolved_counts_from_the_first_close() -> None:
    state = incident_active(TargetCadence(), "a")
    state = incident_closed(state, "a", at=at(10))  # RecoveryVerified
    state = incident_closed(state, "a", at=at(30))  # IncidentResolved later
    assert phase_at(state, now=at(10 + 1800), intervals=IV) is Phase.NORMAL


def test_next_scrape_uses_interval_in_effect_now() -> None:
    idle = TargetCadence()
    assert next_scrape_at(idle, last_scrape=None, now=at(3), intervals=IV) == at(3)
    assert next_scrape_at(idle, last_scrape=at(0), now=at(3), intervals=IV) == at(300)
    busy = incident_active(idle, "a")
    assert next_scrape_at(busy, last_scrape=at(0), now=at(3), intervals=IV) == at(60)


def test_is_immutable() -> None:
    state = TargetCadence()
    incident_active(state, "a")
    assert state.opened == frozenset()
