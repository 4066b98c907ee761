"""The embedded stack (noida-db) produces with acks=all but without idempotence: noida-db forgets producer ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentctl import demo_config
from incidentctl.embedded import EMBEDDED_IDEMPOTENCE
from incidentctl.stack import SERVICES, StackState
from shared.broker import producer_options


def state(tmp_path: Path) -> StackState:
    ports = {name: 8000 + i for i, name in enumerate(SERVICES)}
    return StackState(str(tmp_path), "127.0.0.1:9092", "http://127.0.0.1:9200", "http://a", "http://d", "tok",
                      ports=ports)  # fmt: skip


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_of_the_stack_is_told_so(service: str, tmp_path: Path) -> None:
    env = demo_config.service_env(service, state(tmp_path), config_file=tmp_path / "c.yaml", pager_secret="s")
    assert env["KAFKA_ENABLE_IDEMPOTENCE"] == EMBEDDED_IDEMPOTENCE == "false"


async def test_the_stacks_own_clients_too(tmp_path: Path) -> None:
    settings = state(tmp_path).settings()  # chaos load, incidentctl commands
    assert await producer_options(settings) == {"acks": "all", "enable_idempotence": False}
