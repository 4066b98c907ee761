"""No ``asyncio.wait_for`` in the project's code: on Python 3.11 it can swallow a cancellation.

When the awaited task finishes in the same loop turn as the caller is cancelled, 3.11's ``wait_for``
returns the result instead of raising ``CancelledError`` (fixed in 3.12, gh-86296). A consumer loop
that lost its cancellation that way kept running, and the stop that waited for it hung (a replay that
never ended, shown by its task dump: the RCA service's stop waiting for a member's tasks).
``asyncio.timeout`` does not lose it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_uses_asyncio_timeout_not_wait_for() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("services", "shared", "incidentctl")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "asyncio.wait_for(" in line
    ]
    assert not found, f"use `async with asyncio.timeout(...)` instead of asyncio.wait_for: {found}"


async def _wait_for(inner: Awaitable[int]) -> int:
    return await asyncio.wait_for(inner, 10)


async def _timeout(inner: Awaitable[int]) -> int:
    async with asyncio.timeout(10):
        return await inner


LOSES_IT = pytest.mark.xfail(sys.version_info < (3, 12), strict=True, reason="3.11's wait_for loses it (gh-86296)")


@pytest.mark.parametrize("bounded", [_timeout, pytest.param(_wait_for, marks=LOSES_IT)], ids=["timeout", "wait_for"])
async def test_a_cancellation_that_meets_the_result_is_not_lost(
    bounded: Callable[[Awaitable[int]], Awaitable[int]],
) -> None:
    """What the rule protects: cancelled as the awaited work finishes, the caller still stops."""
    done = asyncio.Event()

    async def work() -> int:
        await done.wait()
        return 1

    caller = asyncio.create_task(bounded(asyncio.ensure_future(work())))
    await asyncio.sleep(0)  # the caller waits
    done.set()  # the work finishes in the next loop turn ...
    caller.cancel()  # ... the same turn the caller is cancelled in
    with pytest.raises(asyncio.CancelledError):
        await caller
