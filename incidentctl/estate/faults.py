"""Faults of the estate, for ``incidentctl chaos``: a table dropped by mistake, the primary database killed.

They act on the real servers as an accident would (no hook in the demo): ``data-loss`` drops the demo's
``orders`` table on the primary as the superuser; ``primary-down`` kills the primary's postmaster with
SIGKILL, so nothing is flushed or handed over.
"""

from __future__ import annotations

import os
import signal
from typing import Final

import psycopg
from psycopg import sql

from incidentctl.chaos import ESTATE_FAULTS
from incidentctl.estate import postgres
from incidentctl.estate.runner import EstateState
from incidentctl.procs import alive
from shared.errors import CliError

__all__ = ["ESTATE_FAULTS", "inject"]
DROPPED_TABLE: Final = "orders"


class EstateFaultError(CliError, RuntimeError):
    """The fault could not be injected (no estate, or the server refused)."""


def inject(fault: str, estate: EstateState | None) -> str:
    """Inject ``fault`` into ``estate``; return what was done, in a few words."""
    if estate is None:
        raise EstateFaultError(f"{fault} needs the demo estate: start the stack with it (incidentctl up)")
    if fault == "data-loss":
        return drop_table(estate, DROPPED_TABLE)
    if fault == "primary-down":
        return kill_primary(estate)
    raise ValueError(f"unknown estate fault {fault!r}; one of {', '.join(ESTATE_FAULTS)}")


def drop_table(estate: EstateState, table: str) -> str:
    """``DROP TABLE`` on the primary as the superuser; return how many rows it held."""
    try:
        with psycopg.connect(estate.superuser_dsn(estate.primary_port), autocommit=True) as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    except psycopg.Error as exc:
        raise EstateFaultError(f"could not drop {table}: {type(exc).__name__}: {str(exc).strip()[:200]}") from exc
    return f"dropped table {table} ({row[0] if row else 0} rows) on the primary (port {estate.primary_port})"


def kill_primary(estate: EstateState) -> str:
    """SIGKILL the primary's postmaster; return its pid."""
    pid = postgres.server_pid(estate.primary_data)
    if pid is None or not alive(pid):
        raise EstateFaultError(f"the primary (port {estate.primary_port}) is not running")
    os.kill(pid, signal.SIGKILL)
    return f"killed the primary's postmaster (pid {pid}, port {estate.primary_port}) with SIGKILL"
