"""The improvement plan's items as follow-up action events (``action.recorded`` on ``rca.actions.v1``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.rca.report import wording as w
from services.rca.report.model import IncidentReport
from services.rca.report.publish import LANGUAGES
from shared import events as ev
from shared.models import ActionState, FollowUpAction, Team


def action_events(
    report: IncidentReport, *, source: str, at: datetime, causation: ev.Event | None = None
) -> list[ev.ActionRecorded]:
    """One ``action.recorded`` per plan item, its id derived from the item's content.

    A re-analysis that finds the same plan publishes nothing new (the bus drops ids it published);
    a changed item supersedes the earlier event of its action id.
    """
    inc = report.incident
    out: list[ev.ActionRecorded] = []
    for item in report.improvements:
        if not item.action_id or item.due is None:
            continue
        data = FollowUpAction(
            action_id=item.action_id, incident_id=inc.incident_id, target=inc.target, section=item.section,
            topic=item.category, key=item.key, text={lang: w.improvement(item, lang)[1] for lang in LANGUAGES},
            owner=Team(item.owner), due=item.due, state=ActionState(item.state), prompt=item.prompt,
        )  # fmt: skip
        event = ev.ActionRecorded.create(
            data, source=source, id_parts=(data.action_id, data.state, data.text.get("en", ""), data.due),
            time=at, subject=inc.target, correlationid=inc.incident_id, causation=causation,
        )  # fmt: skip
        out.append(event)
    return out


def latest_actions(events: Iterable[ev.Event]) -> list[ev.ActionRecorded]:
    """Fold ``action.recorded`` events into the current state of each action (idempotent by event id).

    The latest event of an action wins, except that a re-analysis (actor ``rca``) never reopens an
    action a person marked done.
    """
    seen: set[str] = set()
    current: dict[str, ev.ActionRecorded] = {}
    for event in sorted((e for e in events if isinstance(e, ev.ActionRecorded)), key=lambda e: e.time):
        if event.id in seen:
            continue
        seen.add(event.id)
        known = current.get(event.data.action_id)
        closed_by_person = known is not None and known.data.state is ActionState.DONE and known.data.actor != "rca"
        if closed_by_person and event.data.actor == "rca":
            continue
        current[event.data.action_id] = event
    return sorted(current.values(), key=lambda e: (e.data.due, e.data.incident_id, e.data.section, e.data.action_id))
