"""What the responder reads of an anomaly event: the schema's ``events.AnomalyEvent``, or the bus's fast view of it.

The view (``shared.wire.AnomalyEvent``) holds the same values as the schema's event would.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final, Protocol, TypeAlias

from shared import events as ev
from shared.models import AnomalyKind, Impact

RESOLVED: Final = ev.AnomalyResolved.event_type


class AnomalyView(Protocol):
    """One revision of an anomaly episode (the fields of ``models.Anomaly`` the responder reads)."""

    @property
    def anomaly_id(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def kind(self) -> AnomalyKind: ...

    @property
    def target(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def signal(self) -> str: ...

    @property
    def impact(self) -> Impact: ...

    @property
    def observed(self) -> float | None: ...

    @property
    def expected(self) -> float | None: ...

    @property
    def threshold(self) -> float | None: ...

    @property
    def unit(self) -> str: ...

    @property
    def since(self) -> datetime: ...

    @property
    def last_seen(self) -> datetime: ...

    @property
    def summary(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


AnomalyEventView: TypeAlias = ev.EventView[AnomalyView]
"""An anomaly event: detected, updated or resolved (``type``)."""


def is_resolved(event: AnomalyEventView) -> bool:
    """Whether ``event`` says its anomaly episode ended (``anomaly.resolved``)."""
    return event.type == RESOLVED
