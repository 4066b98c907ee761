"""Read an incident's history back from the topics: every event linked to it, plus alerting statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.rca.report.model import PastIncident
from services.rca.store import WindowStore
from shared import events as ev
from shared import topics
from shared.models import Anomaly, IncidentTransition
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.timeline import caused_by, episode_start, fault_touches

HISTORY_TOPICS = (
    topics.INCIDENTS,
    topics.NOTIFICATIONS,
    topics.COMMANDS,
    topics.RECOVERY,
    topics.RCA,
    topics.ANOMALIES,
    topics.CHAOS,
)


@dataclass
class IncidentHistory:
    """What the topics hold about one incident, and about alerting in general."""

    incident_id: str
    events: list[ev.Event] = field(default_factory=list)
    anomalies: dict[str, Anomaly] = field(default_factory=dict)
    incident_anomaly_ids: set[str] = field(default_factory=set)
    past: list[PastIncident] = field(default_factory=list)
    """Every other incident's latest RCA result (its top cause), for recurrence."""

    @property
    def latest_rca(self) -> ev.RootCauseIdentified | None:
        """The latest RootCauseIdentified of the incident, if any."""
        found = [e for e in self.events if isinstance(e, ev.RootCauseIdentified)]
        return max(found, key=lambda e: e.time) if found else None


def belongs_to(event: ev.Event, incident_id: str) -> bool:
    """Return True when ``event`` is about ``incident_id`` (correlation id or payload field)."""
    if event.correlationid == incident_id:
        return True
    data = event.data
    if isinstance(data, IncidentTransition):
        return data.incident.incident_id == incident_id
    return getattr(data, "incident_id", None) == incident_id


def about_another(event: ev.Event, incident_id: str) -> bool:
    """Return True when ``event`` is about an incident other than ``incident_id``."""
    data = event.data
    other = data.incident.incident_id if isinstance(data, IncidentTransition) else getattr(data, "incident_id", None)
    return bool(other) and other != incident_id


def select(incident_id: str, events: list[ev.Event]) -> IncidentHistory:
    """Pick the incident's events: its own, its anomalies, those they caused, and faults that touch it.

    Its own: lifecycle, notifications, commands, recovery, RCA (by correlation or incident id); the
    faults: on its target within its window (`shared.timeline`).
    """
    history = IncidentHistory(incident_id)
    own = [e for e in events if belongs_to(e, incident_id)]
    anomaly_ids: set[str] = set()
    target = ""
    opened: datetime | None = None
    resolved: datetime | None = None
    latest_rca: dict[str, ev.RootCauseIdentified] = {}
    for e in events:
        if isinstance(e.data, IncidentTransition):
            history.incident_anomaly_ids.update(e.data.incident.anomaly_ids)
        elif isinstance(e.data, Anomaly):
            history.anomalies[e.data.anomaly_id] = e.data
        elif isinstance(e, ev.RootCauseIdentified) and e.data.incident_id != incident_id and e.data.ranking:
            known = latest_rca.get(e.data.incident_id)
            if known is None or known.time <= e.time:
                latest_rca[e.data.incident_id] = e
    history.past = [past_incident(e) for e in latest_rca.values()]
    for e in own:
        if isinstance(e.data, IncidentTransition):
            anomaly_ids.update(e.data.incident.anomaly_ids)
            target, opened = e.data.incident.target, e.data.incident.opened_at
            if isinstance(e, ev.IncidentResolved):
                resolved = min(resolved or e.time, e.time)
    since = [history.anomalies[a].since for a in anomaly_ids if a in history.anomalies]
    start = episode_start(opened, since) if opened is not None else None
    own_ids = {e.id for e in own}
    for e in events:
        if e.id in own_ids:
            continue
        if (isinstance(e.data, Anomaly) and e.data.anomaly_id in anomaly_ids) or (
            isinstance(e, ev.FaultInjected)
            and start is not None
            and fault_touches(e.data.target, e.time, targets={target}, start=start, end=resolved)
        ):
            own.append(e)
            own_ids.add(e.id)
    by_cause: dict[str, list[tuple[str, ev.Event]]] = {}
    for e in events:
        if (
            e.causationid
            and e.id not in own_ids
            and not isinstance(e, ev.AnomalyEvent | ev.FaultInjected)
            and not about_another(e, incident_id)  # another incident's update that one of ours caused
        ):
            by_cause.setdefault(e.causationid, []).append((e.id, e))
    own += caused_by(own_ids, by_cause)
    history.events = sorted(own, key=lambda e: e.time)
    return history


async def collect_history(
    settings: ServiceSettings, incident_id: str, *, store: WindowStore | None = None
) -> IncidentHistory:
    """Replay the topics once; return the incident's history (and fill ``store`` from metrics if given)."""
    wanted = list(HISTORY_TOPICS) + ([topics.METRICS] if store is not None else [])
    events: list[ev.Event] = []
    async for _, event in replay(settings, [settings.topic_prefix + t.name for t in wanted]):
        if store is not None:
            store.add(event)
        if not isinstance(event, ev.MetricsObserved):
            events.append(event)
    return select(incident_id, events)


def past_incident(event: ev.RootCauseIdentified) -> PastIncident:
    """An earlier incident as recurrence needs it: its id, time (its window's start), target and top cause."""
    top = event.data.ranking[0]
    return PastIncident(event.data.incident_id, event.data.window_start, event.data.target, top.entity, top.signal)
