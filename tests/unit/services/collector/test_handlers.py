from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.collector.cadence_book import CadenceBook
from services.collector.domain.cadence import Intervals
from services.collector.handlers import apply_event
from shared import events as ev
from shared import models as m

T0 = datetime(2026, 11, 25, 7, tzinfo=UTC)
IV = Intervals(normal_s=2, incident_s=1, post_recovery_s=3, post_recovery_duration_s=30)


def incident(cls: type[ev.Envelope[Any]], status: m.IncidentStatus, *, target: str = "demo", t: float = 0) -> Any:
    inc = m.Incident(
        incident_id="inc-1",
        group_key="g",
        target=target,
        title="t",
        severity=m.Severity.MAJOR,
        severity_reason="r",
        status=status,
        opened_at=T0,
    )
    data = m.IncidentTransition(incident=inc, reason="r")
    return cls.create(data, source="/t", id_parts=(cls.event_type, t), time=T0 + timedelta(seconds=t))


def test_incident_lifecycle_drives_only_its_target() -> None:
    book = CadenceBook(IV)
    apply_event(book, incident(ev.IncidentOpened, m.IncidentStatus.TRIGGERED))
    assert book.wakeup("demo").is_set()
    assert book.interval("demo", now=T0) == 1
    assert book.interval("other", now=T0) == 2
    apply_event(book, incident(ev.IncidentAcknowledged, m.IncidentStatus.ACKNOWLEDGED, t=1))
    assert book.interval("demo", now=T0) == 1
    apply_event(book, incident(ev.IncidentResolved, m.IncidentStatus.RESOLVED, t=10))
    assert book.interval("demo", now=T0 + timedelta(seconds=11)) == 3
    assert book.interval("demo", now=T0 + timedelta(seconds=40)) == 2


def test_recovery_verified_ends_the_fast_cadence() -> None:
    book = CadenceBook(IV)
    apply_event(book, incident(ev.IncidentOpened, m.IncidentStatus.TRIGGERED))
    progress = m.RecoveryProgress(plan_id="p", incident_id="inc-1", target="demo")
    verified = ev.RecoveryVerified.create(progress, source="/t", id_parts=("v",), time=T0 + timedelta(seconds=5))
    apply_event(book, verified)
    assert book.interval("demo", now=T0 + timedelta(seconds=6)) == 3


def test_other_recovery_events_change_nothing() -> None:
    book = CadenceBook(IV)
    progress = m.RecoveryProgress(plan_id="p", incident_id="inc-1", target="demo")
    apply_event(book, ev.RecoveryStepStarted.create(progress, source="/t", id_parts=("s",), time=T0))
    assert not book.wakeup("demo").is_set()
    assert book.interval("demo", now=T0) == 2
