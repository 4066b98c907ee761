"""What detection reads of a scrape: the schema's ``MetricsObserved`` or the bus's fast view of it (``shared.wire``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.wire import NamedValue


class ScrapeView(Protocol):
    """One scrape of one target: all samples taken at ``observed_at`` (an aware time)."""

    @property
    def target(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def observed_at(self) -> datetime: ...

    @property
    def interval_s(self) -> float: ...

    @property
    def samples(self) -> Sequence[NamedValue]:
        """Its samples (a sample as ``wire.values_of`` reads it)."""
        ...
