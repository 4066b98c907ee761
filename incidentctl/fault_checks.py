"""What a scenario checks itself after recovery, from fresh signals of the estate (not from the events).

Each check answers ``(passed, detail)``: ``data-loss`` counts the ``orders`` rows the demo reads through
HAProxy; ``primary-down`` asks the server HAProxy now routes to which port it listens on and whether it
is writable, and writes one row through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import psycopg

from incidentctl.estate.containment import attack_contained_check, egress_cut_check
from incidentctl.estate.runner import EstateState

Check = Callable[[EstateState], tuple[bool, dict[str, Any]]]


def rows_restored(estate: EstateState) -> tuple[bool, dict[str, Any]]:
    """The ``orders`` table is back with rows, read through HAProxy as the demo reads it."""
    try:
        with psycopg.connect(estate.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM orders").fetchone()
    except psycopg.Error as exc:
        return False, {"error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}
    rows, last_id = (int(row[0]), int(row[1])) if row else (0, 0)
    return rows > 0, {"orders_rows": rows, "max_order_id": last_id}


def traffic_via_standby(estate: EstateState) -> tuple[bool, dict[str, Any]]:
    """HAProxy routes to the former standby, which is writable: a row written through HAProxy lands there."""
    try:
        with psycopg.connect(estate.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT inet_server_port(), pg_is_in_recovery()").fetchone()
            written = conn.execute("INSERT INTO orders (token) VALUES ('scenario-check') RETURNING id").fetchone()
    except psycopg.Error as exc:
        return False, {"error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}
    port, in_recovery = (int(row[0]), bool(row[1])) if row else (0, True)
    detail = {"server_port": port, "standby_port": estate.standby_port, "in_recovery": in_recovery,
              "written_order": written[0] if written else None}  # fmt: skip
    return port == estate.standby_port and not in_recovery and written is not None, detail


FAULT_CHECKS: Final[dict[str, Check]] = {
    "data-loss": rows_restored,
    "primary-down": traffic_via_standby,
    "auth-attack": attack_contained_check,  # the demo out of public rotation, failed logins stopped
    "exfiltrate": egress_cut_check,  # the egress cut, the sink receives nothing more
}
"""The fresh check each estate fault's scenario runs after the recovery was verified."""
