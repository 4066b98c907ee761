"""``kill -USR1`` on a service logs where each of its asyncio tasks waits."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from shared.task_dump import await_chain, dump_tasks_on_signal


async def _inner(gate: asyncio.Event) -> None:
    await gate.wait()


async def _outer(gate: asyncio.Event) -> None:
    await _inner(gate)


async def test_the_chain_names_every_await_from_the_task_down(caplog: pytest.LogCaptureFixture) -> None:
    gate = asyncio.Event()
    task = asyncio.create_task(_outer(gate), name="stuck-loop")
    await asyncio.sleep(0)
    chain = await_chain(task.get_coro())
    assert [link.rsplit(" ", 1)[-1] for link in chain[:3]] == ["_outer", "_inner", "wait"]
    dump_tasks_on_signal()
    with caplog.at_level(logging.WARNING, logger="shared.runtime"):
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
    asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
    gate.set()
    await task
    assert any("stuck-loop" in r.message and "_inner" in r.message for r in caplog.records)
