"""``incidentctl status``: each process of the stack with pid, restarts, readiness, lag and last event."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from incidentctl.exits import heads, ljust, rjust, say
from incidentctl.stack import SERVICES, StackState, service_of, supervised


def gather(state: StackState, *, timeout_s: float = 2.0) -> list[dict[str, Any]]:
    """One row per supervised process: the supervisor's view plus, for services, their ``/status``."""
    processes = supervised(state).get("processes", {})
    rows: list[dict[str, Any]] = []
    for name, proc in processes.items():
        row: dict[str, Any] = {"name": name, **proc}
        if service_of(name) in SERVICES:
            row["status"] = _service_status(state.ports[name], timeout_s)
        rows.append(row)
    return rows + estate_rows(state)


def estate_rows(state: StackState) -> list[dict[str, Any]]:
    """One row per part of the estate (PostgreSQL primary and standby, HAProxy, backups), when one runs."""
    from incidentctl.estate import runner

    estate = runner.EstateState.load(state.path)
    if estate is None:
        return []
    return [{"name": name, "restarts": 0, **part} for name, part in runner.parts(estate).items()]


def _service_status(port: int, timeout_s: float) -> dict[str, Any] | None:
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/status", timeout=timeout_s)
        return dict(reply.json()) if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def healthy(rows: list[dict[str, Any]]) -> bool:
    """Every service answers, is ready and alive; every other process runs (one-shots excepted)."""
    for row in rows:
        if service_of(row["name"]) in SERVICES:
            status = row.get("status")
            if not status or not status.get("ready") or not status.get("alive"):
                return False
        elif not row.get("running") and row.get("last_exit") != 0:
            return False
    return True


def _line(process: str, pid: str, state: str, restarts: str, last: str, detail: str) -> str:
    """One row, padded by terminal cells (Hangul takes two)."""
    return f"{ljust(process, 10)} {rjust(pid, 7)} {ljust(state, 10)} {rjust(restarts, 8)}  {rjust(last, 10)}  {detail}"


def format_table(rows: list[dict[str, Any]], *, now: float | None = None, lang: str | None = None) -> str:
    """Render the rows for a terminal (fits 100 columns; consumers indented below their service)."""
    now = time.time() if now is None else now
    lines = [_line(*heads("st_head", lang))]
    for row in rows:
        status = row.get("status")
        state = say(_state(row, status), lang)
        last = _age(status.get("last_event_at"), now, lang) if status else "-"
        detail = "" if row.get("last_exit") is None else say("st_last_exit", lang, code=row["last_exit"])
        lines.append(_line(row["name"], str(row.get("pid") or "-"), state, str(row["restarts"]), last, detail))
        for consumer in (status or {}).get("consumers", []):
            lag = ", ".join(f"p{p}={n}" for p, n in consumer.get("lag_by_partition", {}).items())
            joined = say("st_joined" if consumer["joined"] else "st_joining", lang)
            lag_text = say("st_lag", lang, lag=lag or say("st_no_partitions", lang), group=consumer["group"])
            lines.append(f"  {ljust(consumer['topic'], 32)} {ljust(joined, 8)} {lag_text}")
    return "\n".join(lines)


def _state(row: dict[str, Any], status: dict[str, Any] | None) -> str:
    """The message key of the process's state."""
    if not row.get("running"):
        return "st_done" if row.get("last_exit") == 0 else "st_down"
    if service_of(row["name"]) not in SERVICES:
        return "st_running"
    if status is None:
        return "st_no_answer"
    if not status.get("alive"):
        return "st_stalled"
    return "st_ready" if status.get("ready") else "st_starting"


def _age(stamp: str | None, now: float, lang: str | None) -> str:
    if not stamp:
        return say("st_never", lang)
    seconds = now - datetime.fromisoformat(stamp).astimezone(UTC).timestamp()
    return say("st_ago_s", lang, n=seconds) if seconds < 3600 else say("st_ago_h", lang, n=seconds / 3600)
