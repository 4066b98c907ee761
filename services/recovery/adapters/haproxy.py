"""HAProxy runtime API client (its ``stats socket``) and the executor of declared server state changes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from services.recovery.domain.catalog import RecoveryError, ServerChange, ServerState
from services.recovery.domain.haproxy_state import (
    NAME,
    ServerStatus,
    check_names,
    describe_changes,
    missing_servers,
    parse_servers_state,
)


class HaproxyApiError(RecoveryError):
    """The runtime API refused a command (unknown server, too low a socket level...)."""


class ServerControl(Protocol):
    """Reads and sets HAProxy server states (the runtime API, or anything that speaks for it)."""

    async def servers_state(self) -> dict[tuple[str, str], ServerStatus]:
        """Return every server's state, keyed by ``(backend, server)``."""
        ...

    async def set_state(self, backend: str, server: str, state: ServerState) -> None:
        """Set ``backend/server`` to ``state``; raise `HaproxyApiError` when refused."""
        ...


class HaproxyRuntimeApi:
    """The runtime API over a unix socket: one connection per command (non-interactive mode)."""

    def __init__(self, socket_path: str, *, timeout_s: float = 5.0) -> None:
        self.socket_path, self.timeout_s = socket_path, timeout_s

    async def command(self, line: str) -> str:
        """Send one command line and return the whole answer."""
        if "\n" in line or ";" in line:
            raise ValueError("one runtime API command at a time")
        async with asyncio.timeout(self.timeout_s):
            reader, writer = await asyncio.open_unix_connection(self.socket_path)
            try:
                writer.write(line.encode() + b"\n")
                await writer.drain()
                data = await reader.read()
            finally:
                writer.close()
                await writer.wait_closed()
        return data.decode(errors="replace")

    async def servers_state(self) -> dict[tuple[str, str], ServerStatus]:
        """Return every server's state (``show servers state``)."""
        return parse_servers_state(await self.command("show servers state"))

    async def set_state(self, backend: str, server: str, state: ServerState) -> None:
        """``set server <backend>/<server> state <state>``; any answer is HAProxy refusing."""
        for name in (backend, server):
            if not NAME.fullmatch(name):
                raise ValueError(f"not an HAProxy name: {name!r}")
        answer = (await self.command(f"set server {backend}/{server} state {state}")).strip()
        if answer:
            raise HaproxyApiError(f"set server {backend}/{server} state {state}: {answer}")


async def apply_changes(control: ServerControl, changes: Sequence[ServerChange]) -> tuple[bool, str]:
    """Apply ``changes`` in order after checking every server exists; return the verdict and what changed.

    Nothing is set when a server is unknown; the states are read back afterwards, so the verdict is
    what HAProxy reports, not what was asked.
    """
    check_names(changes)
    before = await control.servers_state()
    missing = missing_servers(changes, before)
    if missing:
        return False, f"unknown to HAProxy: {', '.join(missing)}; nothing changed"
    refused = ""
    for change in changes:
        try:
            await control.set_state(change.backend, change.server, change.state)
        except HaproxyApiError as exc:
            refused = f"; {exc}"
            break
    ok, detail = describe_changes(changes, before, await control.servers_state())
    return ok and not refused, detail + refused
