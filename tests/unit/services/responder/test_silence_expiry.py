"""Issue 15, silences: what still fires when a silence or maintenance window ends is grouped then."""

from __future__ import annotations

from typing import Any

from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at, silence

DOWN: dict[str, Any] = {"impact": m.Impact.SERVICE_DOWN}


def test_an_outage_that_began_silenced_opens_its_incident_when_the_silence_ends() -> None:
    sim = Sim()
    sim.silence(silence({"service": "api"}, start=0, end=60))
    assert sim.anomaly(anomaly("api", "http.up", t=10, **DOWN), t=10).outcome == "silenced by s1"
    assert sim.anomaly(anomaly("api", "process.up", t=11, **DOWN), t=11).outcome == "silenced by s1"
    assert sim.tick(59) == [] and not sim.book.incidents
    sim.tick(60)
    inc = sim.only().incident
    assert inc.anomaly_ids == ("an-api-http.up-1", "an-api-process.up-1")
    assert inc.severity is m.Severity.CRITICAL
    sim.tick(61)
    assert len(sim.of_type(ev.IncidentOpened)) == 1


def test_an_operator_expiring_the_silence_early_releases_what_fires() -> None:
    sim = Sim()
    created = silence({"service": "api"}, start=0, end=600)
    sim.silence(created)
    sim.anomaly(anomaly("api", "http.up", t=10, **DOWN), t=10)
    sim.silence(ev.SilenceExpired.create(created.data, source="/t", id_parts=("x",), time=at(20), subject="s1"))
    sim.tick(21)
    assert len(sim.of_type(ev.IncidentOpened)) == 1


def test_an_anomaly_that_resolved_under_the_silence_opens_nothing() -> None:
    sim = Sim()
    sim.silence(silence({"service": "api"}, start=0, end=60))
    sim.anomaly(anomaly("api", "http.up", t=10, **DOWN), t=10)
    sim.anomaly(anomaly("api", "http.up", cls=ev.AnomalyResolved, revision=2, **DOWN), t=30)
    sim.tick(61)
    assert not sim.book.incidents
