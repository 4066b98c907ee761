"""supervisord's XML-RPC interface over its unix socket, and the executor of a declared program restart."""

from __future__ import annotations

import http.client
import re
import socket
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

PROGRAM: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
"""A supervisord program name (``name`` or ``group:name``)."""


@dataclass(frozen=True)
class ProgramInfo:
    """What supervisord says of one program."""

    state: str
    pid: int


class ProgramControl(Protocol):
    """Reads, stops and starts supervised programs (supervisord, or anything that speaks for it)."""

    def info(self, program: str) -> ProgramInfo:
        """Return ``program``'s state name (``RUNNING``...) and pid (0 when not running)."""
        ...

    def stop(self, program: str) -> None:
        """Stop ``program`` and wait until it stopped."""
        ...

    def start(self, program: str) -> None:
        """Start ``program`` and wait until it runs."""
        ...


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self.path, self.timeout = path, timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixConnection(self.path, self.timeout)


class SupervisorRpc:
    """supervisord's ``supervisor`` XML-RPC namespace over its ``unix_http_server`` socket (blocking)."""

    def __init__(self, socket_path: str, *, timeout_s: float = 30.0) -> None:
        transport = _UnixTransport(socket_path, timeout_s)
        self._proxy = xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=transport, allow_none=True)

    def info(self, program: str) -> ProgramInfo:
        """``supervisor.getProcessInfo``."""
        found = cast(dict[str, Any], self._proxy.supervisor.getProcessInfo(_checked(program)))
        return ProgramInfo(state=str(found["statename"]), pid=int(found["pid"]))

    def stop(self, program: str) -> None:
        """``supervisor.stopProcess`` (waits)."""
        self._proxy.supervisor.stopProcess(_checked(program), True)

    def start(self, program: str) -> None:
        """``supervisor.startProcess`` (waits until it is RUNNING past its ``startsecs``)."""
        self._proxy.supervisor.startProcess(_checked(program), True)


def _checked(program: str) -> str:
    if not PROGRAM.fullmatch(program):
        raise ValueError(f"not a supervisord program name: {program!r}")
    return program


def restart_program(control: ProgramControl, program: str) -> tuple[bool, str]:
    """Stop ``program`` if it runs, start it; ok when supervisord reports it RUNNING under a new pid."""
    before = control.info(program)
    if before.state in {"RUNNING", "STARTING", "BACKOFF"}:
        control.stop(program)
    control.start(program)
    after = control.info(program)
    ok = after.state == "RUNNING" and after.pid != before.pid
    return ok, f"restarted {program}: pid {before.pid or '-'} ({before.state}) -> {after.pid or '-'} ({after.state})"
