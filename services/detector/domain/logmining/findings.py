"""Typed inputs and outputs of log pattern analysis: templated records in, findings out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log message as read from a log store; fields that were missing are empty strings."""

    timestamp: datetime
    message: str
    level: str = ""
    service: str = ""
    host: str = ""
    doc_id: str = ""


@dataclass(frozen=True, slots=True)
class TemplatedRecord:
    """A log record after template mining: what pattern analysis consumes."""

    timestamp: datetime
    level: str
    service: str
    template_id: str
    template: str
    message: str


class FindingKind(StrEnum):
    """What a log finding reports."""

    NEW_TEMPLATE = "new_template"
    RATE_SPIKE = "rate_spike"
    TEMPLATE_VANISHED = "template_vanished"


@dataclass(frozen=True, slots=True)
class LogFinding:
    """One anomaly about one template of one service over one time window.

    The same `finding_id` is emitted again, with grown counts and window, while the anomaly lasts;
    `is_open` becomes False in its last version.  Consumers keep the latest version per id.
    """

    finding_id: str
    kind: FindingKind
    service: str
    level: str
    template_id: str
    template: str
    window_start: datetime
    window_end: datetime
    count: int
    samples: tuple[str, ...]
    is_open: bool


@dataclass(frozen=True, slots=True)
class NewTemplate(LogFinding):
    """A template never seen before (after the learning period) appeared."""


@dataclass(frozen=True, slots=True)
class RateSpike(LogFinding):
    """An ERROR/WARN template occurs far more often than its learned baseline.

    `count` is the number of messages during the burst; `baseline_per_bucket` the expected count per
    bucket before it, `peak_per_bucket` the largest count seen in one bucket of the burst.
    """

    baseline_per_bucket: float
    peak_per_bucket: int
    bucket_seconds: float


@dataclass(frozen=True, slots=True)
class TemplateVanished(LogFinding):
    """A template that used to occur regularly has not been seen for a while.

    `window_start` is its last occurrence; `count` the occurrences seen before it stopped.
    """

    presence: float
