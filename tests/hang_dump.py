"""Where a hung async test waits, in its failure line: the asyncio tasks' awaits, taken before pytest-timeout fires.

pytest-timeout (signal method) fails a test that runs too long, but a hung asyncio test waits in the
event loop's ``select``: its thread stack says nothing. A watchdog thread, shortly before the
timeout, finds the loop the main thread is running and has it record where each of its tasks
waits in the project's own code; the call report's failure message then ends with that line
(CI prints only the summary lines of a failed run).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any, Final

import pytest

from shared.task_dump import CANCEL_MARK, await_chain

LEAD_S: Final = 20.0
"""How long before pytest-timeout's limit the tasks are recorded."""
OWN: Final = ("/services/", "/shared/", "/incidentctl/", "/tests/")
IDLE: Final = ("_measure_lag", "publish_heartbeats", "proc_fetch_request", "run_clock", "resend_after_outage",
               "_consume")  # fmt: skip
"""Innermost awaits of the loops that wait by design (an idle consumer, a heartbeat, the clock)."""

_dumps: dict[str, str] = {}


def _main_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop the main thread is running now (found from its frames), if any."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, asyncio.AbstractEventLoop) and candidate.is_running():
            return candidate
        frame = frame.f_back
    return None


def where_tasks_wait() -> str:
    """One line: each task not idle by design and the project frames it waits in (call in the loop)."""
    return one_line(
        (f"{task.get_name()}{CANCEL_MARK if task.cancelling() else ''}", await_chain(task.get_coro()))
        for task in asyncio.all_tasks()
    )


def one_line(tasks: Iterable[tuple[str, list[str]]]) -> str:
    """Join (task name, await chain) pairs into one line: the project's innermost frames, idle loops left out."""
    found: dict[str, None] = {}
    for name, chain in tasks:
        own = [f for f in chain if any(p in f for p in OWN)]
        if own and (not own[-1].endswith(IDLE) or name.endswith(CANCEL_MARK)):  # a loop that ignored its stop
            found[f"{name[:40]}{CANCEL_MARK if name.endswith(CANCEL_MARK) else ''}: "
                  f"{' -> '.join(Path(f).name for f in own[-3:])}"] = None  # fmt: skip
    return " | ".join(sorted(found, key=lambda w: not w.startswith("Task-1:"))) or "no task waits in the project's code"


def _record(nodeid: str) -> None:
    loop = _main_loop()
    if loop is not None:
        loop.call_soon_threadsafe(lambda: _dumps.__setitem__(nodeid, where_tasks_wait()))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    timeout = item.config.getoption("timeout", None) or 0
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        timeout = marker.args[0]
    watchdog = threading.Timer(float(timeout) - LEAD_S, _record, (item.nodeid,)) if timeout > LEAD_S else None
    if watchdog is not None:
        watchdog.daemon = True
        watchdog.start()
    try:
        return (yield)
    finally:
        if watchdog is not None:
            watchdog.cancel()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    dump = _dumps.pop(item.nodeid, None)
    crash = getattr(report.longrepr, "reprcrash", None)
    if dump is not None and report.failed and crash is not None:
        crash.message = f"{crash.message.splitlines()[0] if crash.message else ''}; tasks waited in: {dump}"
    return report
