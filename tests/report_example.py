"""An incident report as the pipeline words it, for report tests and screenshots (``python -m tests.report_shots``).

A crash: the detector's summary with an ISO instant, the responder's reasons, a page burst to two teams
over two channels, an escalation, a recovery, a log-pattern anomaly with a raw log line, a ranking
with the engine's evidence, and metrics around it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from services.rca.report.build import build_report
from services.rca.report.model import IncidentReport
from services.rca.store import WindowStore
from shared import events as ev
from shared import models as m
from shared.models import CauseCandidate
from tests.unit.services.rca.scenario import FAULT_AT, anomaly_event, at, incident, lifecycle, metric_events

HANGUL = re.compile("[\uac00-\ud7a3]")
LETTERS = re.compile(r"[^\W\d_]")


def series() -> dict[str, list[tuple[float, float]]]:
    """The demo target's and its host's metrics around a CPU fault."""
    store = WindowStore()
    for e in metric_events("cpu-hog"):
        store.add(e)
    return store.window(at(0).timestamp(), at(400).timestamp())


# ---------------------------------------------------------------- a realistic incident, as the pipeline words it


def notify(n: int, t: float, team: m.Team, channel: str, kind: type[ev.NotificationEvent]) -> ev.Event:
    data = m.NotificationRecord(notification_id=f"n{n}", incident_id="inc-1", channel=channel, team=team, kind="page")
    return kind.create(data, source="/r", id_parts=(n, kind.event_type), time=at(t), correlationid="inc-1")


def realistic_events() -> list[ev.Event]:
    """A crash as the services word it: detector summary with an ISO instant, responder reasons, a page burst
    to two teams over two channels, an escalation, a recovery, a log-pattern anomaly with a raw log line."""
    since = at(FAULT_AT + 2).isoformat()
    down = anomaly_event("http.up").data.model_copy(
        update={"summary": f"http.up = 0: down since {since}", "kind": m.AnomalyKind.TARGET_DOWN}
    )
    log = anomaly_event("log:7", kind=m.AnomalyKind.LOG_PATTERN).data.model_copy(
        update={"anomaly_id": "an-log", "summary": "new template ERROR 'db timeout <*>': 12 lines in "
                f"{since}..{at(FAULT_AT + 20).isoformat()}", "samples": ("ERROR db timeout 5003ms",)}
    )  # fmt: skip
    title = f"http.up = 0: down since {since}"
    inc = incident(("an-demo-http.up", "an-log"), severity=m.Severity.CRITICAL).model_copy(
        update={"title": title, "severity_reason": "critical: service fully down (service_down, rule target-down)"}
    )
    tr = m.IncidentTransition
    opened = tr(incident=inc, reason=f"opened: {title}; severity critical: service fully down (service_down, "
                "rule target-down)", actor="responder")  # fmt: skip
    escalated = tr(incident=inc, reason="response target of 300s missed; escalated to L2", team=m.Team.L2)
    resolved = tr(
        incident=inc.model_copy(update={"status": m.IncidentStatus.RESOLVED}),
        reason="auto-resolved: every contributing signal clear for 30s",
        actor="responder",
    )
    events: list[ev.Event] = [
        ev.AnomalyDetected.create(down, source="/d", id_parts=("down",), time=at(FAULT_AT + 4)),
        ev.AnomalyDetected.create(log, source="/d", id_parts=("log",), time=at(FAULT_AT + 5)),
        ev.IncidentOpened.create(opened, source="/r", id_parts=("o",), time=at(FAULT_AT + 6), correlationid="inc-1"),
        notify(1, FAULT_AT + 7, m.Team.L1, "webhook", ev.NotificationDispatched),
        notify(1, FAULT_AT + 7.1, m.Team.L1, "webhook", ev.NotificationDelivered),
        notify(2, FAULT_AT + 7.2, m.Team.L1, "log", ev.NotificationDispatched),
        notify(2, FAULT_AT + 7.3, m.Team.L1, "log", ev.NotificationDelivered),
        ev.IncidentEscalated.create(escalated, source="/r", id_parts=("e",), time=at(FAULT_AT + 8),
                                   correlationid="inc-1"),
        notify(3, FAULT_AT + 8.1, m.Team.L2, "webhook", ev.NotificationDispatched),
        notify(3, FAULT_AT + 8.2, m.Team.L2, "webhook", ev.NotificationFailed),
        *[e for e in lifecycle(("an-demo-http.up",), severity=m.Severity.CRITICAL)
          if isinstance(e, ev.RecoveryEvent | ev.IncidentAcknowledged)],
        ev.IncidentResolved.create(resolved, source="/r", id_parts=("r",), time=at(380), correlationid="inc-1"),
    ]  # fmt: skip
    return events


RANKED = (
    CauseCandidate(entity="demo", signal="process.up", score=3.0,
                   evidence="stopped: 4 of 5 series missing or at zero from 12:05:02; its error-log template "
                            "`ERROR db timeout <*>` appeared at 12:05:03 (12 lines, 40% of its logging)"),
    CauseCandidate(entity="host-1", signal="host.cpu_percent", score=0.4,
                   evidence="host.cpu_percent rose from 20 to 31 (robust z 4.2) at 12:05:01; likely an effect of "
                            "demo, which stopped"),
)  # fmt: skip


def realistic(**kw: Any) -> IncidentReport:
    return build_report(realistic_events(), ranking=RANKED, series=series(), now=at(500), **kw)


class TextNodes(HTMLParser):
    """Text nodes with letters, outside <code>, <svg>, <style>, <title> (names and chart ticks are not sentences)."""

    SKIP = frozenset({"code", "svg", "style", "title", "pre"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += tag in self.SKIP

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag in self.SKIP

    def handle_data(self, data: str) -> None:
        if not self.depth and LETTERS.search(data):
            self.nodes.append(data.strip())


def text_nodes(html: str) -> list[str]:
    parser = TextNodes()
    parser.feed(html)
    return parser.nodes
