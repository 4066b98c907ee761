"""Find the watched process (pidfile, or name/command-line match) and read its usage with psutil."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from services.collector.domain.process_track import ProcessIdentity, ProcessTrack, observe_process
from services.collector.domain.samples import ProcessReading


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)  # a crashed child not yet reaped keeps its pid
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def find_by_pidfile(pidfile: Path) -> psutil.Process | None:
    """Return the live process whose pid the file holds, if any."""
    try:
        pid = int(pidfile.read_text(encoding="ascii").strip())
        proc = psutil.Process(pid)
    except (OSError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc if _alive(proc) else None


def find_by_name(pattern: str) -> psutil.Process | None:
    """Return the oldest live process named ``pattern`` or whose command line contains it."""
    me = psutil.Process().pid
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "create_time"]):
        if proc.info["pid"] == me:
            continue
        cmdline = " ".join(proc.info["cmdline"] or ())
        if (proc.info["name"] == pattern or pattern in cmdline) and _alive(proc):
            found.append(proc)
    return min(found, key=lambda p: p.info["create_time"] or 0.0, default=None)


class PsutilProcessSampler:
    """Tracks one target's process across scrapes: presence, restarts, CPU, memory, threads."""

    def __init__(self, *, pidfile: Path | None = None, process_name: str | None = None) -> None:
        if pidfile is None and process_name is None:
            raise ValueError("a pidfile or a process_name is needed")
        self.pidfile = pidfile
        self.process_name = process_name
        self.track = ProcessTrack()
        self._proc: psutil.Process | None = None

    def _find(self) -> psutil.Process | None:
        if self.pidfile is not None:
            return find_by_pidfile(self.pidfile)
        assert self.process_name is not None
        return find_by_name(self.process_name)

    def read(self) -> ProcessReading:
        """Take one reading (non-blocking)."""
        proc = self._find()
        identity = None
        if proc is not None:
            try:
                identity = ProcessIdentity(proc.pid, proc.create_time())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                proc = None
        previous = self.track.current
        self.track = observe_process(self.track, identity)
        if proc is None or identity is None:
            self._proc = None
            return ProcessReading(up=False, restarts=self.track.restarts)
        if identity != previous or self._proc is None:
            self._proc = proc
            first = True
        else:
            first = False
        return self._usage(self._proc, first=first)

    def _usage(self, proc: psutil.Process, *, first: bool) -> ProcessReading:
        try:
            with proc.oneshot():
                if first:
                    # psutil's first cpu_percent() is 0.0 by definition; use the average since the
                    # process started instead, and prime the counter for the next scrape.
                    times = proc.cpu_times()
                    age = max(time.time() - proc.create_time(), 1e-3)
                    cpu = 100.0 * (times.user + times.system) / age
                    proc.cpu_percent(interval=None)
                else:
                    cpu = proc.cpu_percent(interval=None)
                rss = float(proc.memory_info().rss)
                threads = float(proc.num_threads())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            self._proc = None
            self.track = observe_process(self.track, None)
            return ProcessReading(up=False, restarts=self.track.restarts)
        return ProcessReading(up=True, restarts=self.track.restarts, cpu_percent=cpu, rss_bytes=rss, threads=threads)
