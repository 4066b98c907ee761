"""Small client of the responder API for the CLI: incidents, commands, silences, terminal formatting."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import httpx

from incidentctl.exits import cells, heads, ljust, say
from shared.errors import CliError
from shared.text import clean_line, url_with_path

TIMEOUT_S: Final = 10.0
Json = dict[str, Any]


class ApiError(CliError):
    """The API refused a request; the message carries its status and explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def _request(method: str, url: str, *, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.request(method, url, headers=headers, timeout=TIMEOUT_S, **kwargs)
    if response.is_error:
        try:
            body = response.json()
            message = body.get("message") or body.get("detail") or response.text
        except ValueError:
            message = response.text
        raise ApiError(response.status_code, str(message))
    return response.json()


def list_incidents(base_url: str, *, token: str | None = None, **filters: str) -> list[Json]:
    """List incidents, newest first; filters: status, severity, target, limit (reads need a token by default)."""
    params = {k: v for k, v in filters.items() if v is not None}
    return _request("GET", f"{base_url}/api/incidents", token=token, params=params)  # type: ignore[no-any-return]


def get_incident(base_url: str, incident_id: str, *, token: str | None = None) -> Json:
    """Return one incident: ``summary``, ``incident``, ``timeline`` and ``rca``."""
    return _request("GET", url_with_path(base_url, "api", "incidents", incident_id), token=token)  # type: ignore[no-any-return]


def _command(base_url: str, incident_id: str, kind: str, token: str, body: Json) -> Json:
    body.setdefault("request_id", uuid.uuid4().hex)
    return _request("POST", url_with_path(base_url, "api", "incidents", incident_id, kind), token=token, json=body)  # type: ignore[no-any-return]


def ack(
    base_url: str, incident_id: str, *, token: str, actor: str = "incidentctl", text: str = "", level: str | None = None
) -> Json:
    """Ask the responder to acknowledge an incident (for ``level``, default the highest paged); return the command."""
    body: Json = {"actor": actor, "text": text}
    if level:
        body["level"] = level
    return _command(base_url, incident_id, "ack", token, body)


def declare(base_url: str, *, token: str, title: str, severity: str, actor: str = "incidentctl", **fields: Any) -> Json:
    """Declare an incident by hand (fields: impact, target, team, text); return the command with its incident id."""
    body: Json = {"title": title, "severity": severity, "actor": actor, "request_id": uuid.uuid4().hex}
    body |= {k: v for k, v in fields.items() if v not in (None, "")}
    return _request("POST", url_with_path(base_url, "api", "incidents"), token=token, json=body)  # type: ignore[no-any-return]


def decide(
    base_url: str, incident_id: str, kind: str, *, token: str, actor: str = "incidentctl", **fields: Any
) -> Json:
    """Send a decision (escalate, reassign, severity, merge, split) on an incident; return the accepted command.

    Fields that are None or empty are left out, except ``severity`` (None clears an override).
    """
    body: Json = {"actor": actor} | {k: v for k, v in fields.items() if v not in (None, "", ()) or k == "severity"}
    return _command(base_url, incident_id, kind, token, body)


def resolve(base_url: str, incident_id: str, *, token: str, actor: str = "incidentctl", text: str = "") -> Json:
    """Ask the responder to resolve an incident; return the accepted command."""
    return _command(base_url, incident_id, "resolve", token, {"actor": actor, "text": text})


def add_note(base_url: str, incident_id: str, text: str, *, token: str, actor: str = "incidentctl") -> Json:
    """Add a note to an incident's timeline; return the accepted command."""
    return _command(base_url, incident_id, "notes", token, {"actor": actor, "text": text})


def list_silences(base_url: str, *, active: bool = False, token: str | None = None) -> list[Json]:
    """List silences with their state (pending, active, expired)."""
    return _request("GET", f"{base_url}/api/silences", token=token, params={"active": str(active).lower()})  # type: ignore[no-any-return]


def create_silence(
    base_url: str,
    *,
    token: str,
    matchers: dict[str, str],
    duration_s: float | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    author: str = "incidentctl",
    reason: str = "",
) -> Json:
    """Create a silence for ``duration_s`` seconds (or until ``ends_at``); its id is ``command_id``."""
    body: Json = {"matchers": matchers, "author": author, "reason": reason, "request_id": uuid.uuid4().hex}
    if duration_s is not None:
        body["duration_s"] = duration_s
    if starts_at is not None:
        body["starts_at"] = starts_at.isoformat()
    if ends_at is not None:
        body["ends_at"] = ends_at.isoformat()
    return _request("POST", f"{base_url}/api/silences", token=token, json=body)  # type: ignore[no-any-return]


def expire_silence(base_url: str, silence_id: str, *, token: str) -> Json:
    """Expire a silence now."""
    return _request("DELETE", url_with_path(base_url, "api", "silences", silence_id), token=token)  # type: ignore[no-any-return]


def oncall(base_url: str, team: str, *, token: str | None = None) -> Json:
    """Return who is on call for ``team`` now and the next hand-off."""
    return _request("GET", f"{base_url}/api/oncall", token=token, params={"team": team})  # type: ignore[no-any-return]


def get_schedule(base_url: str, name: str, *, token: str | None = None) -> Json:
    """Return one on-call schedule."""
    return _request("GET", url_with_path(base_url, "api", "schedules", name), token=token)  # type: ignore[no-any-return]


def schedule_ics(base_url: str, name: str, *, days: int = 28, token: str | None = None) -> bytes:
    """Return a schedule's shifts from now for ``days`` days as iCalendar bytes."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = url_with_path(base_url, "api", "schedules", name, "schedule.ics")
    response = httpx.get(url, headers=headers, params={"days": days}, timeout=TIMEOUT_S)
    if response.is_error:
        try:
            message = str(response.json().get("detail") or response.text)
        except ValueError:
            message = response.text
        raise ApiError(response.status_code, message)
    return response.content


def format_oncall(body: Json, lang: str | None = None) -> str:
    """Render "who is on call" as one line: the team, its person now (and why), the next hand-off."""
    now = body.get("now") or {}
    person = _clean(now.get("person") or say("oncall_nobody_now", lang))
    line = f"{_clean(body.get('team'))} ({_clean(body.get('schedule'))}): {person} [{_clean(now.get('source'))}]"
    upcoming = body.get("next")
    if upcoming:
        person = _clean(upcoming.get("person") or say("oncall_nobody", lang))
        line += say("oncall_next", lang, person=person, since=_when(upcoming.get("since")))
    return line


def _when(iso: str | None) -> str:
    return clean_line(iso[:19].replace("T", " ")) if iso else "-"


def _clean(value: object) -> str:
    """A value from the API as one printable terminal line (no escape sequences, no bidi tricks)."""
    return clean_line(value, limit=500)


def _response_missed(incident: Json) -> bool:
    """The API's verdict on the response target (`shared.compliance`); an older API: its breach flag."""
    verdict = incident.get("response")
    return verdict == "missed" if verdict else bool(incident.get("response_target_breached"))


def format_incident_table(incidents: list[Json], lang: str | None = None) -> str:
    """Render incidents as an aligned text table (English: empty string when there are none)."""
    if not incidents:
        return say("inc_none", lang)
    header = tuple(heads("inc_head", lang))
    rows = [
        (
            _clean(i["incident_id"]),
            _clean(i["severity"]) + ("!" if _response_missed(i) else ""),
            _clean(i["status"]),
            _when(i.get("opened_at")),
            _clean(i["target"]),
            _clean(i.get("acknowledged_by") or (say("inc_team", lang, team=i["team"]) if i.get("team") else "-")),
            _clean(i["title"]),
        )
        for i in incidents
    ]
    widths = [max(cells(str(r[c])) for r in [header, *rows]) for c in range(len(header) - 1)]
    lines = [
        "  ".join(ljust(str(v), w) for v, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def format_timeline(incident: Json, lang: str | None = None) -> str:
    """Render one incident (as returned by ``get_incident``) and its timeline for the terminal."""
    s: dict[str, Any] = {
        k: v if isinstance(v, int | float | bool) or v is None else _clean(v) for k, v in incident["summary"].items()
    }
    lines = [
        f"{s['incident_id']}  {s['severity'].upper()}  {s['status']}  {s['title']}",
        say("tl_target", lang, target=s["target"], opened=_when(s.get("opened_at")))
        + (
            say("tl_acked", lang, at=_when(s["acknowledged_at"]), by=s["acknowledged_by"])
            if s.get("acknowledged_at")
            else ""
        )
        + (say("tl_resolved", lang, at=_when(s["resolved_at"]), by=s["resolved_by"]) if s.get("resolved_at") else ""),
        "",
    ]
    for entry in incident.get("timeline", []):
        lines.append(f"{_clean(entry['time'])[11:23]}  {_clean(entry['type']):<32} {_clean(entry['summary'])}")
    rca = incident.get("rca")
    if rca and rca.get("ranking"):
        lines += ["", say("tl_rca", lang)]
        lines += [
            f"  {c['score']:.2f}  {_clean(c['entity'])}  ({_clean(c['signal'])})  {_clean(c['evidence'])}"
            for c in rca["ranking"][:5]
        ]
    return "\n".join(lines)
