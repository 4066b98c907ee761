"""The component tier: a whole service's handlers through its real EventBus over FastStream's in-memory broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.component.harness import BusHarness


@pytest_asyncio.fixture(loop_scope="function")
async def harness() -> AsyncIterator[BusHarness]:
    """An empty in-memory Kafka; the buses a test attaches are given back at its end."""
    async with BusHarness() as harness:
        yield harness
