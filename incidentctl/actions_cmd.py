"""``incidentctl actions``: the follow-up actions of improvement plans, read from ``rca.actions.v1``.

Lists the current state of every action (the latest ``action.recorded`` per action id; see
`services.rca.report.actions.latest_actions`) as a table or JSON; ``--done ID`` records that a
person closed one (a new event on the same topic, so every reader sees it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from incidentctl.exits import cells, heads, ljust, say
from services.rca.report.actions import latest_actions
from shared import events as ev
from shared.models import ActionState
from shared.replay import replay
from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.text import clean_line
from shared.topics import ACTIONS

STATES = ("open", "done", "all")


async def read_actions(settings: ServiceSettings) -> list[ev.ActionRecorded]:
    """The current state of every follow-up action on the actions topic."""
    found: list[ev.Event] = []
    async for _, event in replay(settings, [settings.topic_prefix + ACTIONS.name]):
        found.append(event)
    return latest_actions(found)


def pick(actions: Sequence[ev.ActionRecorded], *, incident: str | None, state: str) -> list[ev.ActionRecorded]:
    """The actions of ``incident`` (all when None) in ``state`` (``open``, ``done`` or ``all``)."""
    return [
        a for a in actions
        if (incident is None or a.data.incident_id == incident) and (state == "all" or a.data.state == state)
    ]  # fmt: skip


def format_table(actions: Sequence[ev.ActionRecorded], *, lang: str) -> str:
    """One line per action: id, incident, owner, due day, state, section/topic and its sentence (one clean line)."""
    if not actions:
        return say("act_none", lang)
    head = tuple(heads("act_head", lang))
    rows = [
        (a.data.action_id, a.data.incident_id, str(a.data.owner), a.data.due.strftime("%Y-%m-%d"), str(a.data.state),
         f"{a.data.section}/{a.data.topic}", a.data.text.get(lang) or a.data.text.get("en", ""))
        for a in actions
    ]  # fmt: skip
    widths = [max(cells(clean_line(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = []
    for row in [head, *rows]:
        padded = [ljust(clean_line(c), w) for c, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*padded, clean_line(row[-1])]))
    return "\n".join(lines)


def as_json(actions: Sequence[ev.ActionRecorded]) -> str:
    """The actions as a JSON array of their payloads."""
    return json.dumps([a.data.model_dump(mode="json") for a in actions], ensure_ascii=False, indent=1)


async def mark_done(settings: ServiceSettings, action_id: str, *, actor: str) -> ev.ActionRecorded:
    """Record that ``actor`` closed ``action_id``; raise ValueError (one line) when no such action exists."""
    current = {a.data.action_id: a for a in await read_actions(settings)}
    known = current.get(action_id)
    if known is None:
        raise ValueError(say("err_no_action", action=action_id[:80]))
    now = datetime.now(UTC)
    data = known.data.model_copy(update={"state": ActionState.DONE, "actor": actor})
    event = ev.ActionRecorded.create(
        data, source="/incidentctl/actions", id_parts=(action_id, "done", actor, now.isoformat()), time=now,
        subject=data.target, correlationid=data.incident_id, causation=known,
    )  # fmt: skip
    service = Service.create("incidentctl", settings)
    await service.broker.start()
    try:
        await service.bus.publish(event, key=data.incident_id)
    finally:
        await service.broker.stop()
    return event
