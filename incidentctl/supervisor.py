"""Keep the stack's processes running: restart what dies, with backoff, and say so.

``python -m incidentctl.supervisor --dir ROOT`` reads ``ROOT/run/processes.json`` (written 0600 by
``incidentctl up``: it holds the services' environments), starts every process in it, restarts
each one that exits (1 s, doubling to 30 s; back to 1 s after a minute up) and writes what it
sees to ``ROOT/run/supervisor.json`` for ``incidentctl status``. SIGTERM stops the processes in
the declared order (watchers first, the broker last) and then the supervisor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from incidentctl.procs import spawn, terminate, terminate_all, wait_for_port
from shared.errors import CliError
from shared.files import write_private

log = logging.getLogger("incidentctl.supervisor")

BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 30.0
HEALTHY_AFTER_S: Final = 60.0
TICK_S: Final = 0.2
LIVENESS_PERIOD_S: Final = 3.0
LIVENESS_TIMEOUT_S: Final = 2.0
LIVENESS_FAILURES: Final = 3
LIVENESS_GRACE_S: Final = 30.0
STOP_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one supervised process."""

    name: str
    argv: list[str]
    log_file: str
    env: dict[str, str] = field(default_factory=dict)
    wait_port: int | None = None  # the next process starts once this port listens (a broker)
    oneshot: bool = False  # run to completion before the next one starts; never restarted
    health_url: str | None = None  # liveness: killed and restarted after LIVENESS_FAILURES failed probes


@dataclass
class Supervised:
    """One process under supervision and its history."""

    spec: ProcessSpec
    pid: int | None = None
    restarts: int = 0
    started_at: float | None = None
    last_exit: int | None = None
    last_exit_at: float | None = None
    backoff_s: float = BACKOFF_FIRST_S
    restart_at: float | None = None
    proc: subprocess.Popen[bytes] | None = None
    failed_probes: int = 0
    next_probe_at: float = 0.0
    liveness_kills: int = 0

    def view(self) -> dict[str, Any]:
        """What ``supervisor.json`` records of this process."""
        return {
            "pid": self.pid,
            "running": self.proc is not None and self.proc.poll() is None,
            "restarts": self.restarts,
            "started_at": self.started_at,
            "last_exit": self.last_exit,
            "last_exit_at": self.last_exit_at,
            "restart_at": self.restart_at,
            "liveness_kills": self.liveness_kills,
        }


def next_backoff(current_s: float, uptime_s: float) -> float:
    """Delay before the next restart: doubling while a process keeps dying, reset once it stayed up."""
    if uptime_s >= HEALTHY_AFTER_S:
        return BACKOFF_FIRST_S
    return min(current_s * 2, BACKOFF_MAX_S)


class Supervisor:
    """Start, watch and restart the processes of ``specs``; stop them in ``stop_order``."""

    def __init__(self, root: Path, specs: list[ProcessSpec], *, stop_order: list[str], before_last: str | None) -> None:
        self.root = root
        self.procs = {spec.name: Supervised(spec) for spec in specs}
        self.stop_order = stop_order
        self.before_last = before_last  # a pidfile of an unsupervised process to stop before the last one
        self.stopping = False

    def start_all(self) -> None:
        """Start every process once, in order: a broker before its clients, a one-shot to its end."""
        for item in self.procs.values():
            self._start(item)
            assert item.proc is not None
            if item.spec.wait_port is not None:
                wait_for_port(item.spec.wait_port, proc=item.proc, timeout=60.0)
            if item.spec.oneshot:
                code = item.proc.wait(timeout=120)
                item.proc, item.last_exit = None, code
                if code != 0:
                    log.error("%s exited with %s; see %s", item.spec.name, code, item.spec.log_file)
            self.write_status()

    def _start(self, item: Supervised) -> None:
        spec = item.spec
        item.proc = spawn(spec.argv, log_file=Path(spec.log_file), env=spec.env, inherit_env=False)
        item.pid = item.proc.pid
        item.started_at = time.time()
        item.restart_at = None
        item.failed_probes = 0
        item.next_probe_at = item.started_at + LIVENESS_GRACE_S

    def tick(self, now: float) -> bool:
        """Reap exits and start what is due; return True if anything changed."""
        changed = False
        for item in self.procs.values():
            if item.spec.oneshot:
                continue
            if item.proc is not None and (code := item.proc.poll()) is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(item.proc.pid, signal.SIGKILL)  # what it started dies with it (noida-db's server)
                uptime = now - (item.started_at or now)
                item.proc, item.last_exit, item.last_exit_at = None, code, now
                item.backoff_s = next_backoff(item.backoff_s, uptime) if item.restarts else BACKOFF_FIRST_S
                item.restart_at = now + item.backoff_s
                log.warning(
                    "%s (pid %s) exited with %s after %.0fs; restart #%d in %.0fs",
                    item.spec.name, item.pid, code, uptime, item.restarts + 1, item.backoff_s,
                )  # fmt: skip
                changed = True
            if item.proc is None and item.restart_at is not None and now >= item.restart_at and not self.stopping:
                item.restarts += 1
                self._start(item)
                log.info("%s restarted (pid %s, restart #%d)", item.spec.name, item.pid, item.restarts)
                changed = True
        return changed

    def probe(self, now: float) -> None:
        """Liveness, as a platform would: a process that fails its health check repeatedly is killed."""
        for item in self.procs.values():
            url = item.spec.health_url
            if url is None or item.proc is None or now < item.next_probe_at or self.stopping:
                continue
            item.next_probe_at = now + LIVENESS_PERIOD_S
            if _answers(url):
                item.failed_probes = 0
                continue
            item.failed_probes += 1
            if item.failed_probes >= LIVENESS_FAILURES:
                log.warning(
                    "%s (pid %s) failed %d liveness probes; killing it", item.spec.name, item.pid, LIVENESS_FAILURES
                )
                item.liveness_kills += 1
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(item.proc.pid, signal.SIGKILL)

    def write_status(self) -> None:
        """Write ``run/supervisor.json`` atomically."""
        body = {
            "pid": os.getpid(),
            "updated_at": time.time(),
            "processes": {n: p.view() for n, p in self.procs.items()},
        }
        path = self.root / "run" / "supervisor.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2))
        tmp.replace(path)

    def stop_all(self) -> None:
        """Stop the services together, then the last two of ``stop_order`` (pager, broker) one by one.

        Everything before the last two of ``stop_order`` goes at once (the services); then the
        second-to-last (the pager: notifications in flight still land), ``before_last`` (the demo)
        and the last (the broker: the services left their groups while it ran).

        Each phase signals its processes together and waits at most ``STOP_TIMEOUT_S`` for all of
        them (then SIGKILL): a stop takes as long as the slowest process, not their sum.
        """
        self.stopping = True
        order = sorted(self.procs, key=self._stop_rank)
        running = [n for n in order if (item := self.procs[n]).proc is not None and item.proc.poll() is None]
        tail = [n for n in self.stop_order[-2:] if n in self.procs]
        self._stop_together([n for n in running if n not in tail])
        for i, name in enumerate(tail):
            if i == len(tail) - 1 and self.before_last:
                _stop_pidfile(Path(self.before_last))
            self._stop_together([name] if name in running else [])
        self.write_status()

    def _stop_together(self, names: list[str]) -> None:
        procs = {name: proc for name in names if (proc := self.procs[name].proc) is not None}
        started = time.monotonic()
        killed = terminate_all([proc.pid for proc in procs.values()], timeout=STOP_TIMEOUT_S)
        for name, proc in procs.items():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)  # reap it
            how = "killed after the grace period" if proc.pid in killed else "stopped"
            log.info("%s %s (pid %s)", how, name, proc.pid)
        if procs:
            log.info("stopped %s in %.1fs", ", ".join(procs), time.monotonic() - started)

    def _stop_rank(self, name: str) -> float:
        """Position in ``stop_order`` of the name or of its service (``detector-2``); others before the last."""
        for candidate in (name, name.rsplit("-", 1)[0]):
            if candidate in self.stop_order:
                return float(self.stop_order.index(candidate))
        return len(self.stop_order) - 1.5

    def run(self) -> None:
        """Supervise until SIGTERM or SIGINT."""
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGINT, _raise_stop)
        try:
            self.start_all()
            last_write = 0.0
            while True:
                now = time.time()
                self.probe(now)
                if self.tick(now) or now - last_write > 2.0:
                    self.write_status()
                    last_write = now
                time.sleep(TICK_S)
        except _Stop:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self.stop_all()


class _Stop(CliError):
    """SIGTERM or SIGINT: unwind the supervisor loop (a stop, not a failure)."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=LIVENESS_TIMEOUT_S) as reply:
            return 200 <= int(reply.status) < 300
    except (OSError, ValueError):
        return False


def _stop_pidfile(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    terminate(pid, timeout=STOP_TIMEOUT_S)


def write_plan(root: Path, specs: list[ProcessSpec], *, stop_order: list[str], before_last: str | None) -> Path:
    """Write ``run/processes.json`` (private: it carries the services' secrets) and return its path."""
    path = root / "run" / "processes.json"
    plan = {"specs": [asdict(s) for s in specs], "stop_order": stop_order, "before_last": before_last}
    write_private(path, json.dumps(plan, indent=2))
    return path


def load(root: Path) -> Supervisor:
    """Build the supervisor of the stack under ``root`` from its plan."""
    plan = json.loads((root / "run" / "processes.json").read_text())
    specs = [ProcessSpec(**s) for s in plan["specs"]]
    return Supervisor(root, specs, stop_order=plan["stop_order"], before_last=plan["before_last"])


def main() -> None:
    """Entry point of the supervisor process."""
    parser = argparse.ArgumentParser(prog="incidentctl.supervisor")
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load(args.dir.resolve()).run()


if __name__ == "__main__":
    main()
