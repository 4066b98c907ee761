"""Where each asyncio task of a process waits, logged on demand: the first thing to read when it hangs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Final

log = logging.getLogger(__name__)


def dump_tasks_on_signal(signum: int = signal.SIGUSR1) -> None:
    """On ``signum`` (``kill -USR1 <pid>``), log where every asyncio task of this loop is waiting.

    A service that answers /readyz but stopped acting (a loop awaiting something that never
    comes) shows which await holds it; nothing else changes.
    """
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals here (a thread, Windows)
        asyncio.get_running_loop().add_signal_handler(signum, log_task_stacks)


def log_task_stacks() -> None:
    """Log each pending asyncio task's name and the chain of awaits it is suspended in.

    A task asked to stop that has not (a cancellation swallowed somewhere) is marked: a stop that
    hangs is usually waiting for it.
    """
    for task in asyncio.all_tasks():
        name = f"{task.get_name()}{CANCEL_MARK if task.cancelling() else ''}"
        log.warning("task %s waits in: %s", name, " -> ".join(await_chain(task.get_coro())))


CANCEL_MARK: Final = " (cancelled, still running)"


def await_chain(awaited: object, *, depth: int = 30) -> list[str]:
    """Where a suspended coroutine waits: ``file:line function`` of each frame, outermost first."""
    chain: list[str] = []
    while awaited is not None and len(chain) < depth:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            chain.append(type(awaited).__name__)  # a future or another awaitable: the end of the chain
            break
        chain.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return chain
