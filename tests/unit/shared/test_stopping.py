"""Stops that always end: a loop that swallowed its cancellation is left behind after the bound, logged
with where it waits; a failing close is logged, not raised; a caller's cancellation is never lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from shared.stopping import cancel_and_wait, left_behind, stop_apart


async def _deaf_loop(hang: asyncio.Event) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(30)
    await hang.wait()  # went on as if not cancelled


async def test_a_loop_that_swallowed_its_cancellation_is_left_behind_with_where_it_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hang = asyncio.Event()
    deaf = asyncio.create_task(_deaf_loop(hang), name="deaf-loop")
    polite = asyncio.create_task(asyncio.sleep(30), name="polite-loop")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="shared.stopping"):
        async with asyncio.timeout(5):
            await cancel_and_wait([deaf, polite], limit_s=0.2)
    assert polite.cancelled() and not deaf.done()
    [line] = [r.getMessage() for r in caplog.records if r.name == "shared.stopping"]
    assert "deaf-loop did not stop" in line and "_deaf_loop" in line
    hang.set()
    await deaf


async def _crashed_loop() -> None:
    raise RuntimeError("died earlier")


async def test_a_loop_that_had_died_is_reported_once_at_the_stop(caplog: pytest.LogCaptureFixture) -> None:
    crashed = asyncio.create_task(_crashed_loop(), name="crashed-loop")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="shared.stopping"):
        await cancel_and_wait([crashed], limit_s=1)
    [line] = [r.getMessage() for r in caplog.records if r.name == "shared.stopping"]
    assert "crashed-loop had ended with RuntimeError('died earlier')" in line


async def _failing_close() -> None:
    await asyncio.sleep(0)
    raise ConnectionResetError("peer gone")


async def test_a_close_that_fails_is_logged_not_raised() -> None:
    await stop_apart(_failing_close(), name="close")
    await asyncio.sleep(0)
    assert not left_behind()


async def _close_that_swallows() -> None:
    """What aiokafka's client close does: it awaits its own task's end inside ``suppress(CancelledError)``."""
    inner = asyncio.create_task(asyncio.sleep(0.05))
    with contextlib.suppress(asyncio.CancelledError):
        await inner


@pytest.mark.parametrize("apart", [True, False], ids=["stop_apart", "plain-await"])
async def test_a_caller_cancelled_during_a_close_is_cancelled_only_with_stop_apart(apart: bool) -> None:
    async def caller() -> None:
        if apart:
            await stop_apart(_close_that_swallows(), name="close")
        else:
            await _close_that_swallows()

    task = asyncio.create_task(caller())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.wait({task})
    assert task.cancelled() is apart  # the plain await is the bug this module exists for
