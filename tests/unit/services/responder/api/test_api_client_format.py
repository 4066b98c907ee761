"""Terminal rendering of incidents and timelines by incidentctl's API client."""

from __future__ import annotations

from incidentctl.api_client import format_incident_table, format_timeline
from services.responder.api.projection import Projection
from shared import events as ev
from tests.unit.services.responder.api.builders import anomaly, incident, rca, transition


def detail_json() -> dict:
    p = Projection()
    for e in [anomaly(t=1), transition(ev.IncidentOpened, incident(), t=2, reason="cpu"), rca("inc-1", t=3)]:
        p.apply(e)
    detail = p.incident("inc-1")
    assert detail is not None
    return detail.model_dump(mode="json")


def test_table_aligns_columns_and_keeps_titles_whole() -> None:
    summary = detail_json()["summary"]
    other = summary | {"incident_id": "inc-10000", "severity": "critical", "response": "missed"}
    lines = format_incident_table([summary, other]).splitlines()
    assert lines[0].split() == ["ID", "SEVERITY", "STATUS", "OPENED", "(UTC)", "TARGET", "OWNER", "TITLE"]
    assert len({line.index("triggered") for line in lines[1:]}) == 1
    assert lines[2].endswith("demo is unhealthy") and "critical!" in lines[2]
    assert format_incident_table([]) == ""


def test_timeline_lists_events_in_order_with_the_root_cause() -> None:
    text = format_timeline(detail_json())
    assert text.splitlines()[0].startswith("inc-1  MAJOR  triggered  demo is unhealthy")
    assert text.index("anomaly.detected") < text.index("incident.opened") < text.index("rca.completed")
    assert "0.92  demo  (cpu_percent)" in text
