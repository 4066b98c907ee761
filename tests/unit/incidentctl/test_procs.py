"""Stopping local processes: a zombie is dead, and a stop of several waits for the slowest only."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

from incidentctl import procs
from incidentctl.procs import alive, spawn, terminate_all


def _zombie_of(parent: subprocess.Popen[bytes]) -> int:
    """The pid of ``parent``'s child once it is a zombie (``parent`` never reaps it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for child in psutil.Process(parent.pid).children():
            if child.status() == psutil.STATUS_ZOMBIE:
                return child.pid
        time.sleep(0.02)
    raise AssertionError("no zombie appeared")


def test_a_zombie_someone_else_must_reap_is_not_alive(tmp_path: Path) -> None:
    # sh starts `true` in the background, then becomes `sleep` (exec), which never reaps it.
    parent = spawn(["sh", "-c", "true & exec sleep 30"], log_file=tmp_path / "log")
    try:
        zombie = _zombie_of(parent)
        assert not alive(zombie)
        assert alive(parent.pid)
    finally:
        parent.kill()
        parent.wait()


def test_terminate_all_stops_every_group_with_sigterm_without_killing(tmp_path: Path) -> None:
    procs = [spawn([sys.executable, "-c", "import time; time.sleep(60)"], log_file=tmp_path / f"{i}.log")
             for i in range(4)]  # fmt: skip
    killed = terminate_all([p.pid for p in procs], timeout=20.0)
    assert killed == []  # all went on SIGTERM
    assert not any(alive(p.pid) for p in procs)  # (terminate_all reaped them: no exit status left to read)


def test_terminate_all_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = spawn(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "open('ready', 'w').close(); time.sleep(60)"],
        log_file=tmp_path / "log", cwd=tmp_path,
    )  # fmt: skip
    while not (tmp_path / "ready").exists():
        time.sleep(0.02)
    assert terminate_all([stubborn.pid], timeout=0.2) == [stubborn.pid]
    assert not alive(stubborn.pid)


def test_free_ports_lie_below_the_ephemeral_range_and_are_never_handed_out_twice() -> None:
    low, _ = procs.ephemeral_range()
    ports = [procs.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(procs.LOWEST_PORT <= p < low for p in ports)


def test_an_unreadable_port_range_is_linuxs_default(tmp_path: Path) -> None:
    assert procs.ephemeral_range(tmp_path / "missing") == (32768, 60999)
    (tmp_path / "range").write_text("40000\t50000\n")
    assert procs.ephemeral_range(tmp_path / "range") == (40000, 50000)
