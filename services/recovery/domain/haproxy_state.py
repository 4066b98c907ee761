"""Read HAProxy's ``show servers state`` output and judge whether declared server states took effect (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from services.recovery.domain.catalog import RecoveryError, ServerChange, ServerState

NAME: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
"""An HAProxy proxy or server name as the runtime API accepts it (no spaces, no ``;``, no newline)."""

_MAINT_FLAGS: Final = 0x01 | 0x02 | 0x20 | 0x40  # FMAINT IMAINT RMAINT HMAINT
# CMAINT (0x04, ``disabled`` in the config) stays set after ``set server ... state ready``: it only records
# where the server started, so it does not count.
_DRAIN_FLAGS: Final = 0x08 | 0x10  # FDRAIN IDRAIN


class ServersStateError(RecoveryError, ValueError):
    """The runtime API answered something that is not a ``show servers state`` table."""


@dataclass(frozen=True)
class ServerStatus:
    """One server line of ``show servers state``."""

    backend: str
    server: str
    address: str
    op_state: int
    admin_flags: int

    @property
    def state(self) -> ServerState:
        """The administrative state (maint wins over drain; neither is ready)."""
        if self.admin_flags & _MAINT_FLAGS:
            return "maint"
        if self.admin_flags & _DRAIN_FLAGS:
            return "drain"
        return "ready"


def parse_servers_state(text: str) -> dict[tuple[str, str], ServerStatus]:
    """Parse ``show servers state`` (format version 1) into statuses keyed by ``(backend, server)``."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != "1":
        raise ServersStateError(f"not a version 1 servers state table: {text[:120]!r}")
    header: list[str] = []
    found: dict[tuple[str, str], ServerStatus] = {}
    for line in lines[1:]:
        if line.startswith("#"):
            header = line.lstrip("# ").split()
            continue
        if not header:
            raise ServersStateError("servers state table without a header line")
        row = dict(zip(header, line.split(), strict=False))
        try:
            status = ServerStatus(
                backend=row["be_name"], server=row["srv_name"], address=row["srv_addr"],
                op_state=int(row["srv_op_state"]), admin_flags=int(row["srv_admin_state"]),
            )  # fmt: skip
        except (KeyError, ValueError) as exc:
            raise ServersStateError(f"bad servers state line {line!r}: {exc}") from exc
        found[(status.backend, status.server)] = status
    return found


def check_names(changes: Iterable[ServerChange]) -> None:
    """Refuse a backend or server name that could smuggle a second runtime API command."""
    for change in changes:
        for name in (change.backend, change.server):
            if not NAME.fullmatch(name):
                raise ValueError(f"not an HAProxy name: {name!r}")


def missing_servers(changes: Iterable[ServerChange], states: Mapping[tuple[str, str], ServerStatus]) -> list[str]:
    """Return ``backend/server`` of every change whose server HAProxy does not know."""
    return [f"{c.backend}/{c.server}" for c in changes if (c.backend, c.server) not in states]


def describe_changes(
    changes: Iterable[ServerChange],
    before: Mapping[tuple[str, str], ServerStatus],
    after: Mapping[tuple[str, str], ServerStatus],
) -> tuple[bool, str]:
    """Verdict and detail of applied ``changes``: ok when every server now has its declared state."""
    parts: list[str] = []
    ok = True
    for change in changes:
        key = (change.backend, change.server)
        was = before[key].state if key in before else "unknown"
        now = after[key].state if key in after else "unknown"
        ok = ok and now == change.state
        mark = "" if now == change.state else f" (wanted {change.state})"
        parts.append(f"{change.backend}/{change.server} {was}->{now}{mark}")
    return ok, ", ".join(parts)
