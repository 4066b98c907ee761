"""Local processes and ports: free ports, waiting for listeners, starting and stopping children."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import psutil

LOWEST_PORT: Final = 10000
_handed_out: set[int] = set()


def ephemeral_range(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    """Return the kernel's range of ephemeral (outgoing connection) ports; Linux's default if unreadable."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_port() -> int:
    """Return a TCP port that is free on loopback right now, below the kernel's ephemeral range.

    A port is picked now and bound later by the child that gets it. Were it an ephemeral port, an
    outgoing connection in between (a Kafka client, a PostgreSQL replica) could take it as its
    source port, and the child would fail to bind for ever (seen: "rca not ready after 60 s",
    ``[Errno 98] address already in use`` at every restart). Ports below the range are never
    handed out by the kernel, and this process never hands one out twice.
    """
    low = ephemeral_range()[0]
    if low <= LOWEST_PORT + 1000:  # an unusual kernel range: leave the choice to the kernel
        return _kernel_port()
    for _ in range(200):
        port = random.randrange(LOWEST_PORT, low)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    return _kernel_port()


def _kernel_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on ``port`` (fail early if ``proc`` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def spawn(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    inherit_env: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with output appended to ``log_file``.

    ``env`` is added to this process's environment, or with ``inherit_env=False`` is the whole
    environment (build it with ``incidentctl.child_env.child_env``).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**(os.environ if inherit_env else {}), **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )


def alive(pid: int) -> bool:
    """Tell whether a process with ``pid`` runs: a zombie is dead, whoever has to reap it.

    A process another one started (the demo service after ``up --detach`` exited, a supervisor
    whose parent is busy) stays a zombie until its parent reaps it; ``kill(pid, 0)`` still
    succeeds then, and a stop waited out its whole grace period and the SIGKILL's for nothing.
    """
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def terminate(pid: int, *, timeout: float = 10.0, group: bool = True) -> None:
    """Stop ``pid`` (and its process group) with SIGTERM, then SIGKILL after ``timeout``.

    With ``group``, it returns only once no process of the group is left: a launcher (noida-db's
    wrapper, say) may exit before the server it started has finished writing its files.
    """
    kill = os.killpg if group else os.kill
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid) and not (group and _group_alive(pid)):
                return
            time.sleep(0.05)


def terminate_all(pids: Sequence[int], *, timeout: float = 5.0) -> list[int]:
    """Stop every process group in ``pids`` at once: SIGTERM to all, a bounded wait, then SIGKILL to the rest.

    The wait is shared, so stopping n processes takes as long as the slowest (at most ``timeout``
    plus the kill), not their sum. Return the pids that had to be killed.
    """
    pending = set()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
            pending.add(pid)
    killed: list[int] = []
    for sig, wait in ((None, timeout), (signal.SIGKILL, 5.0)):
        if sig is not None:
            for pid in pending:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, sig)
                    killed.append(pid)
        deadline = time.monotonic() + wait
        while pending and time.monotonic() < deadline:
            groups = _live_groups()
            pending = {pid for pid in pending if alive(pid) or pid in groups}
            if pending:
                time.sleep(0.05)
        if not pending:
            break
    return killed


def _live_groups() -> set[int]:
    """Process groups that have a running (not zombie) process."""
    groups: set[int] = set()
    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if proc.info["status"] != psutil.STATUS_ZOMBIE:
                groups.add(os.getpgid(proc.pid))
    return groups


def _group_alive(pgid: int) -> bool:
    """Tell whether a process of group ``pgid`` still runs (zombies waiting to be reaped do not count)."""
    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
    return False
