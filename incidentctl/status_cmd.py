"""``incidentctl status``: each process of the stack with pid, restarts, readiness, lag and last event."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

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
    return rows


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


def format_table(rows: list[dict[str, Any]], *, now: float | None = None) -> str:
    """Render the rows for a terminal (fits 100 columns; consumers indented below their service)."""
    now = time.time() if now is None else now
    lines = [f"{'PROCESS':<10} {'PID':>7} {'STATE':<10} {'RESTARTS':>8}  {'LAST EVENT':>10}  DETAIL"]
    for row in rows:
        status = row.get("status")
        state = _state(row, status)
        last = _age(status.get("last_event_at"), now) if status else "-"
        detail = "" if row.get("last_exit") is None else f"last exit {row['last_exit']}"
        lines.append(
            f"{row['name']:<10} {row.get('pid') or '-':>7} {state:<10} {row['restarts']:>8}  {last:>10}  {detail}"
        )
        for consumer in (status or {}).get("consumers", []):
            lag = ", ".join(f"p{p}={n}" for p, n in consumer.get("lag_by_partition", {}).items()) or "no partitions"
            joined = "joined" if consumer["joined"] else "JOINING"
            lines.append(f"  {consumer['topic']:<32} {joined:<8} lag {lag}  (group {consumer['group']})")
    return "\n".join(lines)


def _state(row: dict[str, Any], status: dict[str, Any] | None) -> str:
    if not row.get("running"):
        return "done" if row.get("last_exit") == 0 else "DOWN"
    if service_of(row["name"]) not in SERVICES:
        return "running"
    if status is None:
        return "NO ANSWER"
    if not status.get("alive"):
        return "STALLED"
    return "ready" if status.get("ready") else "STARTING"


def _age(stamp: str | None, now: float) -> str:
    if not stamp:
        return "never"
    seconds = now - datetime.fromisoformat(stamp).astimezone(UTC).timestamp()
    return f"{seconds:.0f}s ago" if seconds < 3600 else f"{seconds / 3600:.1f}h ago"
