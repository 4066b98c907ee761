"""What detection reads of a scrape: the schema's ``MetricsObserved`` or the bus's fast view of it (``shared.wire``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol


class SampleView(Protocol):
    """One sample of a scrape."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> float: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


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
    def samples(self) -> Sequence[SampleView]: ...
