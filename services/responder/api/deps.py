"""What the API's routes need, injected once by the factory (tests pass fakes to the same factory)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from services.responder.api.projection import Projection
from services.responder.api.settings import ApiSettings
from services.responder.domain.oncall import Roster
from services.responder.domain.windows import MaintenanceWindow
from shared.events import Event

Publish = Callable[[Event, str], Awaitable[bool]]
"""Publish an event with a key; return False if that event id was already published."""


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


async def always_ready() -> bool:
    """Readiness of an API without a feed (unit tests)."""
    return True


@dataclass
class ApiDeps:
    """Settings, read model, publisher, clock, readiness and metrics of one API instance."""

    settings: ApiSettings
    projection: Projection
    publish: Publish
    registry: CollectorRegistry
    clock: Callable[[], datetime] = utc_now
    is_ready: Callable[[], Awaitable[bool]] = always_ready
    is_alive: Callable[[], bool] = lambda: True
    status: Callable[[], dict[str, Any]] = dict
    roster: Callable[[], Roster] = Roster
    windows: Callable[[], Sequence[MaintenanceWindow]] = tuple
    commands: Counter = field(init=False)
    alerts: Counter = field(init=False)
    auth_failures: Counter = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.commands = Counter("ir_api_commands", "Commands accepted by the API", ["kind", "outcome"], registry=r)
        self.alerts = Counter(
            "ir_api_alertmanager_alerts", "Alertmanager alerts received", ["status", "outcome"], registry=r
        )
        self.auth_failures = Counter("ir_api_auth_failures", "Requests refused for a missing/wrong token", registry=r)
