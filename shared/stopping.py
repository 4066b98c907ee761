"""Stopping that always ends: aiokafka clients closed apart from their callers, loops cancelled with a bound.

aiokafka's ``close`` and ``stop`` get cancellation wrong in two ways, both measured here:

- A client's close cancels its metadata task and awaits it inside ``suppress(CancelledError)``, so a
  cancellation of the *caller* that arrives then is swallowed: the caller goes on as if nothing
  happened (15 of 20 closes cancelled a few steps in returned normally). A group member's loop asked
  to stop while it closed an admin client joined again and consumed for ever.
- A consumer's stop can hang for good right after a rejoin: its fetcher swallows the cancellation the
  stop sends, then waits for an assignment that never comes.

So a stop runs as a task of its own. The caller waits for it at most ``limit_s`` and stays
cancellable meanwhile; a stop that outlives the wait (or its cancelled caller) is kept from the
garbage collector until it ends, and logged. Loops are cancelled the same way: waited for at most
``limit_s``, and one that swallowed its cancellation is logged with where it waits and left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any, Final

from shared.task_dump import await_chain

log = logging.getLogger(__name__)

STOP_WAIT_S: Final = 10.0

_LEFT_BEHIND: set[asyncio.Task[Any]] = set()


async def stop_apart(stopping: Coroutine[Any, Any, object], *, name: str, limit_s: float = STOP_WAIT_S) -> None:
    """Run ``stopping`` (``client.close()``, ``consumer.stop()``) as its own task; wait at most ``limit_s``.

    A cancellation of the caller propagates at once (the stop goes on without it); an error of
    the stop is logged, not raised: the client is gone either way.
    """
    task = asyncio.create_task(stopping, name=name)
    _LEFT_BEHIND.add(task)
    task.add_done_callback(_forget)
    done, _ = await asyncio.wait({task}, timeout=limit_s)
    if not done:
        log.warning("%s did not end within %gs; left behind", name, limit_s)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *, limit_s: float = STOP_WAIT_S) -> None:
    """Cancel ``tasks`` and wait at most ``limit_s`` for them; log any still running, with where it waits."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    ended, running = await asyncio.wait(tasks, timeout=limit_s)
    for task in ended:
        if not task.cancelled() and task.exception() is not None:  # a loop that had died before the stop
            log.warning("%s had ended with %r", task.get_name(), task.exception())
    for task in running:
        log.warning("%s did not stop within %gs; left behind, waiting in %s", task.get_name(), limit_s,
                    " -> ".join(await_chain(task.get_coro())))  # fmt: skip


def left_behind() -> set[asyncio.Task[Any]]:
    """The stops still running after their callers stopped waiting."""
    return set(_LEFT_BEHIND)


def _forget(task: asyncio.Task[Any]) -> None:
    _LEFT_BEHIND.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("%s ended with %s", task.get_name(), task.exception())
