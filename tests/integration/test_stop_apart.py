"""A task cancelled while it closes a real aiokafka client is cancelled, on noida-db and on Tansu.

aiokafka's close swallows such a cancellation (it awaits its metadata task inside
``suppress(CancelledError)``); ``stop_apart`` keeps it.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.stopping import stop_apart

pytestmark = pytest.mark.integration


@pytest.fixture(params=["noida-db", "tansu"])
def bootstrap(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("kafka_bootstrap" if request.param == "noida-db" else "tansu"))


async def _close(admin: AIOKafkaAdminClient) -> str:
    await stop_apart(admin.close(), name="admin-close")
    return "went on after its close"


@pytest.mark.parametrize("steps", range(6))
async def test_a_task_cancelled_while_it_closes_a_client_ends_cancelled(bootstrap: str, steps: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    closing = asyncio.create_task(_close(admin))
    for _ in range(steps):  # cancel it at each of the first steps of the close
        await asyncio.sleep(0)
    closing.cancel()
    async with asyncio.timeout(10):
        with pytest.raises(asyncio.CancelledError):
            await closing
